import { StatementError } from './errors.js';

/**
 * What a statement's value may be: a scalar the server reads as one literal. Anything else (an
 * object, an array, NaN, a function, `undefined`) is refused with a `StatementError` when the
 * statement is built, because the driver's escaping would turn it into SQL of another shape
 * (`col = value` lists, `LIMIT 1, 3`, raw text from `toSqlString()`).
 */
export type SqlValue = string | number | bigint | boolean | null | Date | Uint8Array;

/** Only this module can build a statement: the constructor checks for it. */
const MINT = Symbol('cachefront.sql.mint');

/**
 * A parameterized statement: text with `?` placeholders and the values that fill them. Build it
 * with the `sql` tag; the values are sent as literals, never spliced in as SQL text.
 *
 * A statement is branded by a private field, not by its shape: an object parsed from JSON, a copy,
 * or a Proxy with the same fields is not a statement, so untrusted data can never pass for SQL.
 */
export class SqlStatement {
  readonly #brand = true;
  readonly text: string;
  readonly values: readonly SqlValue[];

  /** @internal Use the `sql` tag, `sql.raw()`, `sql.id()`, `sql.list()` or `sql.join()`. */
  constructor(mint: typeof MINT, text: string, values: readonly SqlValue[]) {
    if (mint !== MINT) throw new StatementError('Statements are built with the `sql` tag, never constructed directly.');
    this.text = text;
    this.values = Object.freeze(values);
    Object.freeze(this);
  }

  /** Whether `value` is a statement built by this module (never true for a look-alike or a Proxy). */
  static is(value: unknown): value is SqlStatement {
    return typeof value === 'object' && value !== null && #brand in value;
  }
}

export function isSqlStatement(value: unknown): value is SqlStatement {
  return SqlStatement.is(value);
}

const LONE_SURROGATE = /\p{Cs}/u;

/** What kind of thing a refused value is, for the error message; never its content. */
function kindOf(value: unknown): string {
  try {
    if (value === undefined) return 'undefined (pass null for SQL NULL)';
    if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : 'an infinite number';
    if (typeof value === 'function') return 'a function';
    if (typeof value === 'symbol') return 'a symbol';
    if (isArray(value)) return 'an array (use sql.list() for IN lists)';
    if (value instanceof Date) return 'an invalid Date, or one outside the years 0-9999';
    if (value instanceof Number || value instanceof String || value instanceof Boolean) return 'a boxed primitive';
    return 'an object (values are scalars: string, number, bigint, boolean, null, Date, bytes)';
  } catch {
    return 'an object that cannot be read';
  }
}

/**
 * Checks one value and returns what the statement keeps: the value itself, or a private copy of a
 * mutable one (a Date, bytes), so a statement cannot change after it is built.
 */
function scalar(value: unknown, where: string): SqlValue {
  switch (typeof value) {
    case 'string':
      if (LONE_SURROGATE.test(value)) {
        throw new StatementError(`${where} is a string with a lone surrogate (not valid UTF-16); it cannot be sent without changing it.`);
      }
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      break;
    case 'bigint':
    case 'boolean':
      return value;
    case 'object': {
      if (value === null) return null;
      try {
        // Internal-slot checks: a Proxy or an object dressed up as a Date or a Buffer fails them.
        if (ArrayBuffer.isView(value) && value instanceof Uint8Array) return Uint8Array.prototype.slice.call(value);
        if (value instanceof Date) {
          const time = Date.prototype.getTime.call(value);
          const year = new Date(time).getUTCFullYear();
          if (Number.isFinite(time) && year >= 0 && year <= 9999) return new Date(time);
        }
      } catch {
        // A revoked Proxy, a throwing getPrototypeOf trap: refused below.
      }
      break;
    }
  }
  throw new StatementError(`${where} is ${kindOf(value)}; it cannot be sent as a parameter.`);
}

/** `Array.isArray` that answers false for a revoked Proxy instead of throwing. */
function isArray(value: unknown): value is readonly unknown[] {
  try {
    return Array.isArray(value);
  } catch {
    return false;
  }
}

function isTemplate(strings: unknown): strings is TemplateStringsArray {
  return isArray(strings) && Object.isFrozen(strings) && isArray((strings as { raw?: unknown }).raw);
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
  if (!isTemplate(strings)) throw new StatementError('sql is a template tag: write sql`SELECT ... ` with values interpolated, never sql(text).');
  let text = '';
  const params: SqlValue[] = [];
  strings.forEach((chunk, index) => {
    if (LONE_SURROGATE.test(chunk)) throw new StatementError(`The text of an sql\`\` template has a lone surrogate (in part ${index + 1}).`);
    if (chunk.includes('?')) {
      throw new StatementError(`The text of an sql\`\` template has a literal "?" (in part ${index + 1}); pass it as a value, since every ? is a placeholder.`);
    }
    text += chunk;
    if (index >= values.length) return;
    const value = values[index];
    if (isSqlStatement(value)) {
      text += value.text;
      params.push(...value.values);
    } else {
      text += '?';
      params.push(scalar(value, `Value ${index + 1} of the sql\`\` template`));
    }
  });
  return new SqlStatement(MINT, text, params);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,63}(\.[A-Za-z_][A-Za-z0-9_$]{0,63})?$/;

/** A trusted identifier (table or column name), checked against a strict pattern and backquoted. */
sql.id = function id(name: string): SqlStatement {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw new StatementError('sql.id() accepts one string of plain identifier characters (letters, digits, _ and $, optionally schema.table).');
  }
  const quoted = name
    .split('.')
    .map((part) => `\`${part}\``)
    .join('.');
  return new SqlStatement(MINT, quoted, []);
};

/** The separators `sql.join()` takes as plain strings; anything else must be an `sql` fragment. */
const SEPARATORS = new Set([',', ', ', ' ', '\n', ' AND ', ' OR ', ' UNION ', ' UNION ALL ']);

/** Joins fragments with a separator: `sql.join(rows.map((r) => sql`(${r.id}, ${r.name})`), ', ')`. */
sql.join = function join(fragments: readonly SqlStatement[], separator: SqlStatement | string = ', '): SqlStatement {
  if (!isArray(fragments)) throw new StatementError('sql.join() takes an array of sql`` fragments.');
  fragments.forEach((fragment, index) => {
    if (!isSqlStatement(fragment)) throw new StatementError(`Item ${index + 1} given to sql.join() is not an sql\`\` fragment.`);
  });
  let glue: SqlStatement;
  if (isSqlStatement(separator)) glue = separator;
  else if (typeof separator === 'string' && SEPARATORS.has(separator.toUpperCase())) glue = new SqlStatement(MINT, separator, []);
  else throw new StatementError(`The separator of sql.join() is one of ${[...SEPARATORS].map((s) => JSON.stringify(s)).join(', ')}, or an sql\`\` fragment.`);
  const texts: string[] = [];
  const values: SqlValue[] = [];
  fragments.forEach((fragment, index) => {
    if (index > 0) {
      texts.push(glue.text);
      values.push(...glue.values);
    }
    texts.push(fragment.text);
    values.push(...fragment.values);
  });
  return new SqlStatement(MINT, texts.join(''), values);
};

/** `IN (...)` lists: `sql`WHERE id IN (${sql.list(ids)})``. An empty list is a typed error, never `IN ()`. */
sql.list = function list(values: readonly SqlValue[]): SqlStatement {
  if (!isArray(values)) throw new StatementError('sql.list() takes an array of values.');
  if (values.length === 0) throw new StatementError('sql.list() needs at least one value.');
  const checked = values.map((value, index) => scalar(value, `Item ${index + 1} of sql.list()`));
  return new SqlStatement(MINT, checked.map(() => '?').join(', '), checked);
};

/**
 * Statement text with placeholders, from a trusted constant — never from input: every `?` is a
 * placeholder, and the values still travel as literals.
 */
sql.raw = function raw(text: string, values: readonly SqlValue[] = []): SqlStatement {
  if (typeof text !== 'string' || LONE_SURROGATE.test(text)) throw new StatementError('sql.raw() takes the statement text as a well-formed string.');
  if (!isArray(values)) throw new StatementError('sql.raw() takes its values as an array.');
  const placeholders = (text.match(/\?/g) ?? []).length;
  if (placeholders !== values.length) {
    throw new StatementError(`sql.raw() has ${placeholders} placeholders but ${values.length} values.`);
  }
  return new SqlStatement(
    MINT,
    text,
    values.map((value, index) => scalar(value, `Value ${index + 1} of sql.raw()`)),
  );
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
