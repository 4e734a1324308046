import { StatementError } from './errors.js';

const STATEMENT = Symbol('cachefront.sql');

/**
 * A parameterized statement: text with `?` placeholders and the values that fill them.
 * Build it with the `sql` tag; the values are sent to the driver, never spliced into the text.
 */
export interface SqlStatement {
  readonly [STATEMENT]: true;
  readonly text: string;
  readonly values: readonly unknown[];
}

function statement(text: string, values: readonly unknown[]): SqlStatement {
  return Object.freeze({ [STATEMENT]: true as const, text, values: Object.freeze([...values]) });
}

export function isSqlStatement(value: unknown): value is SqlStatement {
  return typeof value === 'object' && value !== null && STATEMENT in value;
}

/**
 * Tagged template: every `${value}` becomes a `?` placeholder. A nested `sql` fragment is spliced in
 * with its own placeholders, so statements compose without string concatenation.
 *
 * ```ts
 * const rows = await db.query<{ id: number }>(sql`SELECT id FROM product WHERE category = ${category}`);
 * ```
 */
export function sql(strings: TemplateStringsArray, ...values: readonly unknown[]): SqlStatement {
  let text = strings[0] ?? '';
  const params: unknown[] = [];
  values.forEach((value, index) => {
    if (isSqlStatement(value)) {
      text += value.text;
      params.push(...value.values);
    } else {
      text += '?';
      params.push(value);
    }
    text += strings[index + 1] ?? '';
  });
  return statement(text, params);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,63}(\.[A-Za-z_][A-Za-z0-9_$]{0,63})?$/;

/** A trusted identifier (table or column name), checked against a strict pattern and backquoted. */
sql.id = function id(name: string): SqlStatement {
  if (!IDENTIFIER.test(name)) {
    throw new StatementError('sql.id() accepts plain identifiers (letters, digits, _ and $, optionally schema.table).');
  }
  return statement(
    name
      .split('.')
      .map((part) => `\`${part}\``)
      .join('.'),
    [],
  );
};

/** Joins fragments with a separator: `sql.join(ids.map((id) => sql`${id}`), ', ')`. */
sql.join = function join(fragments: readonly SqlStatement[], separator = ', '): SqlStatement {
  return statement(
    fragments.map((fragment) => fragment.text).join(separator),
    fragments.flatMap((fragment) => fragment.values),
  );
};

/** `IN (...)` lists: `sql`WHERE id IN (${sql.list(ids)})``. An empty list is a typed error, never `IN ()`. */
sql.list = function list(values: readonly unknown[]): SqlStatement {
  if (values.length === 0) throw new StatementError('sql.list() needs at least one value.');
  return statement(values.map(() => '?').join(', '), values);
};

/** Statement text with placeholders, from a trusted constant. Values still travel separately. */
sql.raw = function raw(text: string, values: readonly unknown[] = []): SqlStatement {
  const placeholders = (text.match(/\?/g) ?? []).length;
  if (placeholders !== values.length) {
    throw new StatementError(`sql.raw() has ${placeholders} placeholders but ${values.length} values.`);
  }
  return statement(text, values);
};

const READ_ONLY = /^\s*(?:\/\*[\s\S]*?\*\/\s*)*\(?\s*(select|show|describe|desc|explain)\b/i;
const LOCKING_OR_INTO = /\b(for\s+update|lock\s+in\s+share\s+mode|into\s+(outfile|dumpfile|@))\b/i;

/**
 * Whether a statement can be run twice without changing anything: plain reads only.
 * A `SELECT ... FOR UPDATE` or `SELECT ... INTO` is not, nor anything else.
 */
export function looksIdempotent(text: string): boolean {
  return READ_ONLY.test(text) && !LOCKING_OR_INTO.test(text);
}

/** The first keyword of a statement, for events and stats (never its text or values). */
export function statementVerb(text: string): string {
  const match = /^\s*(?:\/\*[\s\S]*?\*\/\s*)*\(?\s*([A-Za-z]+)/.exec(text);
  return match?.[1]?.toUpperCase() ?? 'UNKNOWN';
}
