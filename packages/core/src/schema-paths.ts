/**
 * Which parts of an issue's path a schema itself declares. An object's field names come from the
 * schema and are safe to show; a record's keys, a map's keys, anything past a union come from the
 * input, and may be the very values (an e-mail, a token) that must never appear in an error.
 */

/** The shape of zod 4's `schema.def` that is read here; anything else counts as undeclared. */
interface Def {
  readonly type?: string;
  readonly shape?: Readonly<Record<string, unknown>>;
  readonly element?: unknown;
  readonly items?: readonly unknown[];
  readonly innerType?: unknown;
  readonly in?: unknown;
}

const defOf = (schema: unknown): Def | undefined => {
  const def = typeof schema === 'object' && schema !== null ? (schema as { def?: unknown }).def : undefined;
  return typeof def === 'object' && def !== null ? (def as Def) : undefined;
};

/** Wrappers that do not change which keys are declared. */
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

function unwrap(schema: unknown): Def | undefined {
  let def = defOf(schema);
  for (let guard = 0; def && guard < 16; guard += 1) {
    if (def.type && WRAPPERS.has(def.type)) def = defOf(def.innerType);
    else if (def.type === 'pipe') def = defOf(def.in);
    else break;
  }
  return def;
}

/** Whether `path[depth]` is a field the schema declares, every segment before it declared too. */
export function declaredKey(schema: unknown, path: readonly PropertyKey[], depth: number): boolean {
  let current: unknown = schema;
  for (let i = 0; i <= depth; i += 1) {
    const def = unwrap(current);
    const segment = path[i];
    if (def?.type === 'object' && typeof segment === 'string' && def.shape && Object.hasOwn(def.shape, segment)) current = def.shape[segment];
    else if (def?.type === 'array' && typeof segment === 'number') current = def.element;
    else if (def?.type === 'tuple' && typeof segment === 'number' && def.items && segment < def.items.length) current = def.items[segment];
    else return false;
  }
  return true;
}
