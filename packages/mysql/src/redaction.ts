import type { DriverErrorInfo } from './driver/driver.js';

/**
 * What a server or driver error means, in words that carry no value. The server's own text echoes
 * values ("Duplicate entry 'alice@example.com'", "Incorrect integer value: '…'", a trigger's
 * SIGNAL text, a syntax error "near" a parameter), and no parser of that text can be trusted to
 * find where a value ends — so a message is built from errno, code and SQLSTATE alone, and the
 * server's text is shown only behind the connector's explicit `exposeServerMessages` option.
 * These words describe; what an error *means* to the connector is the driver's `classify`.
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

/** Reads code / errno / sqlState off anything thrown, keeping only what is shaped like a code. */
export function driverErrorInfo(error: unknown): DriverErrorInfo {
  if (typeof error !== 'object' || error === null) return { code: undefined, errno: undefined, sqlState: undefined };
  const record = error as { code?: unknown; errno?: unknown; sqlState?: unknown };
  return {
    code: typeof record.code === 'string' && CODE.test(record.code) ? record.code : undefined,
    // Server errnos are positive; Node's system errors carry negative ones (-111 for ECONNREFUSED).
    errno: typeof record.errno === 'number' && Number.isInteger(record.errno) && record.errno > 0 ? record.errno : undefined,
    sqlState: typeof record.sqlState === 'string' && SQLSTATE.test(record.sqlState) ? record.sqlState : undefined,
  };
}

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
 * them alone (`describeDriverError`), no server text and no SQL. `info` is what the driver's
 * `classify` read off the error, when the connector has it.
 */
export class RedactedDriverError extends Error {
  override readonly name = 'RedactedDriverError';
  readonly code: string | undefined;
  readonly errno: number | undefined;
  readonly sqlState: string | undefined;

  constructor(original: unknown, info: DriverErrorInfo = driverErrorInfo(original)) {
    super(describeDriverError(info));
    this.code = info.code;
    this.errno = info.errno;
    this.sqlState = info.sqlState;
  }
}
