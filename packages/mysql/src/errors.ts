import { TLS_CHAIN_CODES, TLS_DATE_CODES } from './tls.js';

/**
 * Every error the connector throws is a `CachefrontMysqlError` with a stable `code`.
 *
 * Driver errors are classified in exactly one place (`classifyDriverError`), and described from
 * their codes alone (`describeDriverError`): MySQL echoes values back ("Duplicate entry
 * 'alice@example.com' for key 'email'"), and query parameters must never appear in errors, logs
 * or events. The server's text is kept only when the connector's `exposeServerMessages` asks for it.
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
  /** TLS could not be set up, or the server's certificate was refused. Fatal for the connect: never retried, never answered by connecting in clear. */
  | 'tls'
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
  tls: {
    codes: [
      'HANDSHAKE_SSL_ERROR', // mysql2: the handshake failed (the driver restores Node's code below when it can)
      'HANDSHAKE_NO_SSL_SUPPORT', // mysql2: `ssl` is set and the server offers no TLS
      ...TLS_CHAIN_CODES,
      ...TLS_DATE_CODES,
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'ER_SECURE_TRANSPORT_REQUIRED',
    ],
    errnos: [3159 /* MySQL: require_secure_transport and no TLS */],
  },
} as const satisfies Record<Exclude<ErrorClass, 'fatal'>, { codes: readonly string[]; errnos: readonly number[] }>;

const CLASS_ORDER = ['connect-retryable', 'stale-socket', 'statement-retryable', 'tls'] as const;

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
    code: code !== undefined && CODE.test(code) ? code : undefined,
    // Server errnos are positive; Node's system errors carry negative ones (-111 for ECONNREFUSED).
    errno: typeof record.errno === 'number' && Number.isInteger(record.errno) && record.errno > 0 ? record.errno : undefined,
    sqlState: typeof record.sqlState === 'string' && SQLSTATE.test(record.sqlState) ? record.sqlState : undefined,
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
 * What a server or driver error means, in words that carry no value. The server's own text echoes
 * values ("Duplicate entry 'alice@example.com'", "Incorrect integer value: '…'", a trigger's
 * SIGNAL text, a syntax error "near" a parameter), and no parser of that text can be trusted to
 * find where a value ends — so a message is built from errno, code and SQLSTATE alone, and the
 * server's text is shown only behind the connector's explicit `exposeServerMessages` option.
 */
const SERVER_ERRORS: Readonly<Record<number, string>> = {
  1040: 'too many connections',
  1041: 'the server is out of memory for connections',
  1044: 'access denied to the database',
  1045: 'access denied (check the user and password)',
  1046: 'no database selected',
  1048: 'NULL for a column that cannot be NULL',
  1049: 'an unknown database',
  1053: 'the server is shutting down',
  1054: 'an unknown column',
  1062: 'a duplicate value for a unique key',
  1064: 'a syntax error in the statement',
  1094: 'an unknown thread id',
  1095: 'not the owner of the thread',
  1142: 'a command the user is not allowed to run on that table',
  1143: 'a column the user is not allowed to use',
  1146: 'a table that does not exist',
  1203: 'the user has too many connections (max_user_connections)',
  1205: 'a lock wait timeout',
  1213: 'a deadlock',
  1226: 'the user exceeded a resource limit',
  1227: 'a privilege the user does not have',
  1264: 'a value out of range for its column',
  1265: 'data truncated for a column',
  1292: 'an incorrect value (a date, a time or a number)',
  1298: 'an unknown or incorrect time zone',
  1364: 'a column without a default value was not given one',
  1365: 'a division by zero',
  1366: 'an incorrect value for a column',
  1406: 'a value too long for its column',
  1451: 'a row still referenced by a foreign key',
  1452: 'a foreign key with no referenced row',
  1644: 'an error raised by SIGNAL (in a trigger or a routine)',
  1927: 'the connection was killed',
  1969: 'the statement exceeded max_statement_time',
  2006: 'the server has gone away',
  2013: 'the connection was lost during the statement',
  3024: 'the statement exceeded max_execution_time',
  3819: 'a CHECK constraint failed',
  4025: 'a CHECK constraint failed',
  4031: 'the server closed the idle connection (wait_timeout)',
  9501: 'RDS Proxy timed out borrowing a connection',
};

const DRIVER_ERRORS: Readonly<Record<string, string>> = {
  PROTOCOL_CONNECTION_LOST: 'the server closed the connection',
  PROTOCOL_SEQUENCE_TIMEOUT: 'the statement timed out',
  PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR: 'the connection had already failed',
  PROTOCOL_ENQUEUE_AFTER_QUIT: 'the connection had already been closed',
  CONNECTION_CLOSED: 'the connection had already been closed',
  ECONNRESET: 'the connection was reset',
  EPIPE: 'the connection was closed while writing',
  ETIMEDOUT: 'the connection attempt timed out',
  ECONNREFUSED: 'the server refused the connection',
  ENOTFOUND: 'the host name did not resolve',
  EHOSTUNREACH: 'the host is unreachable',
};

/** Driver codes are upper-case names (`ER_DUP_ENTRY`, `ECONNRESET`); anything else is not shown. */
const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;
const SQLSTATE = /^[0-9A-Z]{5}$/;

/** A one-line description of a driver error from its codes only: safe to show, log and send anywhere. */
export function describeDriverError(info: DriverErrorInfo): string {
  const what =
    (info.errno === undefined ? undefined : SERVER_ERRORS[info.errno]) ??
    (info.code === undefined ? undefined : DRIVER_ERRORS[info.code]) ??
    (info.errno === undefined ? 'the driver reported an error' : 'the server reported an error');
  const codes = [
    info.code,
    info.errno === undefined ? undefined : `errno ${info.errno}`,
    info.sqlState === undefined ? undefined : `SQLSTATE ${info.sqlState}`,
  ];
  const known = codes.filter((part) => part !== undefined);
  return known.length > 0 ? `${what} (${known.join(', ')})` : what;
}

/**
 * A sanitized stand-in for a driver error: the same code / errno / sqlState, a message built from
 * them alone (`describeDriverError`), no server text and no SQL.
 */
export class RedactedDriverError extends Error {
  override readonly name = 'RedactedDriverError';
  readonly code: string | undefined;
  readonly errno: number | undefined;
  readonly sqlState: string | undefined;

  constructor(original: unknown) {
    const info = driverErrorInfo(original);
    super(describeDriverError(info));
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
  /** The server's own message, unredacted: only with the connector's `exposeServerMessages`. */
  readonly serverMessage?: string | undefined;
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
  /**
   * The server's own message text, which may echo query parameters: set only when the connector's
   * `exposeServerMessages` is on (for local debugging), never otherwise.
   */
  readonly serverMessage?: string;

  constructor(code: MysqlErrorCode, message: string, context: BaseContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: sanitizeCause(context.cause) });
    this.code = code;
    this.errno = context.driver?.errno;
    this.sqlState = context.driver?.sqlState;
    this.driverCode = context.driver?.code;
    if (context.serverMessage !== undefined) this.serverMessage = context.serverMessage;
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
