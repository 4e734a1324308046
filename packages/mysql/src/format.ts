/**
 * Writes a statement's values into its text as literals, in the one place the connector does it.
 *
 * The server parses string literals differently under `sql_mode` NO_BACKSLASH_ESCAPES: a backslash
 * is then an ordinary character, and the `\'` that client libraries (mysql2 among them) write for a
 * quote ends the literal instead — `\' OR 1=1 -- ` becomes SQL. So:
 * - a quote is always doubled (`''`), which both modes read as one quote. A string without a
 *   backslash is then written the same way in both modes, and one written for backslash escapes
 *   stays one literal even on a session that has NO_BACKSLASH_ESCAPES after all;
 * - only a string with a backslash depends on the mode (written for the other mode, it would read
 *   back wrong, or end early), so the driver never guesses it: it knows the mode from the server
 *   itself — the status flags of the handshake and of every OK packet (where a SET shows), and
 *   `@@SESSION.sql_mode`, read once per session before its first backslash (`init_connect` may
 *   have changed the mode after the handshake).
 * Bytes are written as hex literals and numbers in their shortest exact form, the same in both modes.
 */
import { StatementError } from './errors.js';
import type { SqlValue } from './sql.js';

export interface LiteralOptions {
  /** The session runs with NO_BACKSLASH_ESCAPES: a backslash is an ordinary character. */
  readonly noBackslashEscapes: boolean;
  /**
   * The time zone DATETIME values are written in: `'Z'` (UTC), `'local'`, or `'+HH:MM'` / `'-HH:MM'`
   * (mysql2's `timezone` option, which reads them back the same way).
   */
  readonly timezone: string;
}

/**
 * With backslash escapes on, only the backslash itself needs one; a quote is doubled in both modes.
 * NUL, CR, LF and Ctrl-Z stay raw: the server's lexer reads them as themselves inside a literal in
 * either mode (`mysql_real_escape_string` escapes them too, but `\n` would read back as a
 * backslash and an `n` under NO_BACKSLASH_ESCAPES — a string must not depend on the mode unless it
 * holds a backslash).
 */
export function quoteString(text: string, options: Pick<LiteralOptions, 'noBackslashEscapes'>): string {
  const quoted = text.replaceAll("'", "''");
  return `'${options.noBackslashEscapes ? quoted : quoted.replaceAll('\\', '\\\\')}'`;
}

const OFFSET = /^([+-])(\d\d):?(\d\d)$/;

/** The offset in minutes of a `timezone` option, or undefined for `'local'`. Throws on anything else. */
export function timezoneOffsetMinutes(timezone: string): number | undefined {
  if (timezone === 'Z') return 0;
  if (timezone === 'local') return undefined;
  const match = OFFSET.exec(timezone);
  if (!match) throw new StatementError("`timezone` must be 'Z', 'local' or an offset like '+02:00'.");
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export function dateLiteral(date: Date, timezone: string): string {
  const offset = timezoneOffsetMinutes(timezone);
  const local = offset === undefined;
  const shifted = local ? date : new Date(date.getTime() + offset * 60_000);
  const year = local ? shifted.getFullYear() : shifted.getUTCFullYear();
  const month = local ? shifted.getMonth() : shifted.getUTCMonth();
  const day = local ? shifted.getDate() : shifted.getUTCDate();
  const hours = local ? shifted.getHours() : shifted.getUTCHours();
  const minutes = local ? shifted.getMinutes() : shifted.getUTCMinutes();
  const seconds = local ? shifted.getSeconds() : shifted.getUTCSeconds();
  const ms = local ? shifted.getMilliseconds() : shifted.getUTCMilliseconds();
  if (year < 0 || year > 9999) throw new StatementError('A Date parameter is outside the years 0-9999 in the session time zone.');
  return `'${pad(year, 4)}-${pad(month + 1, 2)}-${pad(day, 2)} ${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(ms, 3)}'`;
}

/** One value as a literal. The value has passed the `sql` tag's checks (a finite number, a valid Date, ...). */
export function literal(value: SqlValue, options: LiteralOptions): string {
  if (value === null) return 'NULL';
  switch (typeof value) {
    case 'string':
      return quoteString(value, options);
    case 'number':
      return Object.is(value, -0) ? '0' : String(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'TRUE' : 'FALSE';
    default:
      if (value instanceof Date) return dateLiteral(value, options.timezone);
      return `X'${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}'`;
  }
}

/** The statement's text with every `?` replaced by its value's literal, in order. */
export function formatStatement(text: string, values: readonly SqlValue[], options: LiteralOptions): string {
  if (values.length === 0) return text;
  let out = '';
  let from = 0;
  let index = 0;
  for (let at = text.indexOf('?'); at >= 0; at = text.indexOf('?', from)) {
    if (index >= values.length) break;
    out += text.slice(from, at) + literal(values[index] as SqlValue, options);
    index += 1;
    from = at + 1;
  }
  if (index !== values.length || text.indexOf('?', from) >= 0) {
    throw new StatementError(`The statement has a different number of placeholders than its ${values.length} values.`);
  }
  return out + text.slice(from);
}

/** Whether any string value holds a backslash: the only values whose literal depends on the mode. */
export function needsModeForBackslashes(values: readonly SqlValue[]): boolean {
  return values.some((value) => typeof value === 'string' && value.includes('\\'));
}
