/**
 * Every error the connector throws is a `CachefrontMysqlError` with a stable `code`.
 *
 * Driver errors are classified in exactly one place (`classifyDriverError`), and their server
 * message is redacted before it reaches a message or a `cause`: MySQL echoes values back
 * ("Duplicate entry 'alice@example.com' for key 'email'"), and query parameters must never
 * appear in errors, logs or events.
 */

/** What the server or the driver reported, without the statement or its parameters. */
export interface DriverErrorInfo {
  /** mysql2's string code: `ER_CON_COUNT_ERROR`, `PROTOCOL_CONNECTION_LOST`, `ECONNRESET`, ... */
  readonly code: string | undefined;
  /** The server's numeric error code (1040, 1203, 4031, ...), when the server sent one. */
  readonly errno: number | undefined;
  /** The five-character SQLSTATE, when the server sent one. */
  readonly sqlState: string | undefined;
}

export type ErrorClass =
  /** The server refused a new connection for now; connecting again later may succeed. */
  | 'connect-retryable'
  /** The socket is gone (idle timeout, KILL, restart, network); the connection must be replaced. */
  | 'stale-socket'
  /** The statement failed for a transient reason (deadlock, lock wait); the whole unit may be retried. */
  | 'statement-retryable'
  /** Anything else: bad SQL, access denied, constraint violations. Retrying cannot help. */
  | 'fatal';

/** The one classification table for mysql2 errors. Codes first, then server errnos. */
export const ERROR_TABLE = {
  'connect-retryable': {
    codes: [
      'ER_CON_COUNT_ERROR', // 1040 Too many connections
      'ER_TOO_MANY_USER_CONNECTIONS', // 1203
      'ER_USER_LIMIT_REACHED', // 1226
      'ER_OUT_OF_RESOURCES', // 1041
      'ETIMEDOUT',
      'ECONNREFUSED', // server restarting
      'PROTOCOL_SEQUENCE_TIMEOUT',
    ],
    errnos: [1040, 1203, 1226, 1041, 9501 /* RDS Proxy: borrow timeout */],
  },
  'stale-socket': {
    codes: [
      'PROTOCOL_CONNECTION_LOST',
      'ECONNRESET',
      'EPIPE',
      'ER_CLIENT_INTERACTION_TIMEOUT', // 4031, MySQL 8.0.24+ idle timeout
      'ER_SERVER_SHUTDOWN', // 1053
      'ER_CONNECTION_KILLED', // MariaDB 1927
      'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
      'PROTOCOL_ENQUEUE_AFTER_QUIT',
      'CONNECTION_CLOSED',
    ],
    errnos: [4031, 1053, 1927, 2006, 2013],
  },
  'statement-retryable': {
    codes: ['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'],
    errnos: [1213, 1205],
  },
} as const satisfies Record<Exclude<ErrorClass, 'fatal'>, { codes: readonly string[]; errnos: readonly number[] }>;

const CLASS_ORDER = ['connect-retryable', 'stale-socket', 'statement-retryable'] as const;

/** Reads code / errno / sqlState off anything thrown by the driver. */
export function driverErrorInfo(error: unknown): DriverErrorInfo {
  if (typeof error !== 'object' || error === null) {
    return { code: undefined, errno: undefined, sqlState: undefined };
  }
  const record = error as { code?: unknown; errno?: unknown; sqlState?: unknown; message?: unknown };
  let code = typeof record.code === 'string' ? record.code : undefined;
  // mysql2 reports "closed state" commands without a code; name the case so the table can hold it.
  if (code === undefined && typeof record.message === 'string' && /in closed state/.test(record.message)) {
    code = 'CONNECTION_CLOSED';
  }
  return {
    code,
    // Server errnos are positive; Node's system errors carry negative ones (-111 for ECONNREFUSED).
    errno: typeof record.errno === 'number' && record.errno > 0 ? record.errno : undefined,
    sqlState: typeof record.sqlState === 'string' ? record.sqlState : undefined,
  };
}

export function classifyDriverError(error: unknown): ErrorClass {
  const info = driverErrorInfo(error);
  for (const cls of CLASS_ORDER) {
    const entry = ERROR_TABLE[cls];
    if (info.code !== undefined && (entry.codes as readonly string[]).includes(info.code)) return cls;
    if (info.errno !== undefined && (entry.errnos as readonly number[]).includes(info.errno)) return cls;
  }
  return 'fatal';
}

/**
 * Replaces every quoted literal of a server message with `'…'`, and cuts it to a sane length.
 * "Duplicate entry 'a@b.c' for key 'email'" becomes "Duplicate entry '…' for key '…'".
 */
export function redactServerMessage(message: string): string {
  const redacted = message.replace(SINGLE_QUOTED, "'…'").replace(DOUBLE_QUOTED, '"…"');
  return redacted.length > 300 ? `${redacted.slice(0, 300)}…` : redacted;
}

/**
 * A quoted span of a server message. The server does not escape the quotes of the text it echoes
 * ("near 'WHERE k = 'secret'' at line 1", "Duplicate entry 'O'Brien'"), so quotes cannot simply be
 * paired: a quote closes the span only when what follows cannot continue it (the end, a space or
 * punctuation); any other quote is part of the span.
 */
const quotedSpan = (q: string) => new RegExp(String.raw`${q}(?:[^${q}\\]|\\[\s\S]|${q}(?![\s,.;:)\]@]|$))*${q}(?=[\s,.;:)\]@]|$)`, 'g');
const SINGLE_QUOTED = quotedSpan("'");
const DOUBLE_QUOTED = quotedSpan('"');

/** A sanitized stand-in for a driver error: same code / errno / sqlState, redacted message, no SQL. */
export class RedactedDriverError extends Error {
  override readonly name = 'RedactedDriverError';
  readonly code: string | undefined;
  readonly errno: number | undefined;
  readonly sqlState: string | undefined;

  constructor(original: unknown) {
    const raw = original instanceof Error ? original.message : String(original);
    super(redactServerMessage(raw));
    const info = driverErrorInfo(original);
    this.code = info.code;
    this.errno = info.errno;
    this.sqlState = info.sqlState;
  }
}

export type MysqlErrorCode =
  | 'E_CONNECTION_LIMIT'
  | 'E_CONNECT_FAILED'
  | 'E_CONNECTION_LOST'
  | 'E_QUERY_FAILED'
  | 'E_TRANSACTION_FAILED'
  | 'E_DEADLINE_EXCEEDED'
  | 'E_CONNECTOR_CLOSED'
  | 'E_INVALID_OPTIONS'
  | 'E_INVALID_STATEMENT';

interface BaseContext {
  readonly cause?: unknown;
  readonly driver?: DriverErrorInfo;
}

/** Base class of every error this package throws. */
export class CachefrontMysqlError extends Error {
  override readonly name: string = 'CachefrontMysqlError';
  readonly code: MysqlErrorCode;
  /** The server's errno (1040, 1213, ...), when a server error is behind this one. */
  readonly errno: number | undefined;
  /** The SQLSTATE, when a server error is behind this one. */
  readonly sqlState: string | undefined;
  /** The driver's string code (`ER_CON_COUNT_ERROR`, `ECONNRESET`, ...). */
  readonly driverCode: string | undefined;

  constructor(code: MysqlErrorCode, message: string, context: BaseContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: sanitizeCause(context.cause) });
    this.code = code;
    this.errno = context.driver?.errno;
    this.sqlState = context.driver?.sqlState;
    this.driverCode = context.driver?.code;
  }
}

function sanitizeCause(cause: unknown): unknown {
  return cause instanceof CachefrontMysqlError || cause instanceof RedactedDriverError ? cause : new RedactedDriverError(cause);
}

/** The server stayed at its connection limit (1040 / 1203 / 1226 / 1041) until retries or the deadline ran out. */
export class ConnectionLimitError extends CachefrontMysqlError {
  override readonly name = 'ConnectionLimitError';
  readonly attempts: number;
  constructor(message: string, context: BaseContext & { attempts: number }) {
    super('E_CONNECTION_LIMIT', message, context);
    this.attempts = context.attempts;
  }
}

/** A connection could not be opened for a reason retrying cannot fix (access denied, unknown database, ...). */
export class ConnectError extends CachefrontMysqlError {
  override readonly name = 'ConnectError';
  readonly attempts: number;
  constructor(message: string, context: BaseContext & { attempts: number }) {
    super('E_CONNECT_FAILED', message, context);
    this.attempts = context.attempts;
  }
}

/**
 * The connection was lost while a statement was in flight, and the statement was not re-run because
 * it is not idempotent. `mayHaveApplied` says whether the server may have executed it.
 */
export class ConnectionLostError extends CachefrontMysqlError {
  override readonly name = 'ConnectionLostError';
  readonly mayHaveApplied: boolean;
  constructor(message: string, context: BaseContext & { mayHaveApplied: boolean }) {
    super('E_CONNECTION_LOST', message, context);
    this.mayHaveApplied = context.mayHaveApplied;
  }
}

/** The server rejected a statement (syntax, constraint, deadlock, ...). `retryable` is true for deadlocks and lock waits. */
export class QueryError extends CachefrontMysqlError {
  override readonly name = 'QueryError';
  readonly retryable: boolean;
  constructor(message: string, context: BaseContext & { retryable: boolean }) {
    super('E_QUERY_FAILED', message, context);
    this.retryable = context.retryable;
  }
}

/** A transaction could not be completed; it was rolled back unless `mayHaveCommitted` is true. */
export class TransactionError extends CachefrontMysqlError {
  override readonly name = 'TransactionError';
  readonly mayHaveCommitted: boolean;
  constructor(message: string, context: BaseContext & { mayHaveCommitted: boolean }) {
    super('E_TRANSACTION_FAILED', message, context);
    this.mayHaveCommitted = context.mayHaveCommitted;
  }
}

/** The invocation's deadline passed before the operation could finish. */
export class DeadlineError extends CachefrontMysqlError {
  override readonly name = 'DeadlineError';
  /** Whether a statement had been sent when time ran out (it may then have been applied). */
  readonly mayHaveApplied: boolean;
  constructor(message: string, context: BaseContext & { mayHaveApplied: boolean }) {
    super('E_DEADLINE_EXCEEDED', message, context);
    this.mayHaveApplied = context.mayHaveApplied;
  }
}

export class ConnectorClosedError extends CachefrontMysqlError {
  override readonly name = 'ConnectorClosedError';
  constructor() {
    super('E_CONNECTOR_CLOSED', 'The connector was closed with quit(); create a new one to run statements.');
  }
}

export class OptionsError extends CachefrontMysqlError {
  override readonly name = 'OptionsError';
  constructor(message: string) {
    super('E_INVALID_OPTIONS', message);
  }
}

export class StatementError extends CachefrontMysqlError {
  override readonly name = 'StatementError';
  constructor(message: string) {
    super('E_INVALID_STATEMENT', message);
  }
}
