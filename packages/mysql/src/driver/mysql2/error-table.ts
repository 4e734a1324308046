/**
 * The one classification table for mysql2's errors (and the server errnos behind them): what
 * `mysql2Driver.classify(error)` answers. Nothing else in the package reads an errno or a driver
 * code to decide anything; the connector asks the driver.
 */
import { driverErrorInfo } from '../../redaction.js';
import type { ClassifiedError, DriverErrorInfo, ErrorClass, TlsProblem } from '../driver.js';

interface Entry {
  readonly codes: readonly string[];
  readonly errnos: readonly number[];
}

/** TLS failures by problem: Node's codes (which the driver restores from mysql2's HANDSHAKE_SSL_ERROR), mysql2's own, and the server's. */
export const TLS_TABLE = {
  'server-requires-tls': { codes: ['ER_SECURE_TRANSPORT_REQUIRED'], errnos: [3159 /* MySQL: require_secure_transport and no TLS */] },
  'no-server-tls': { codes: ['HANDSHAKE_NO_SSL_SUPPORT' /* mysql2: `ssl` is set and the server offers no TLS */], errnos: [] },
  'host-mismatch': { codes: ['ERR_TLS_CERT_ALTNAME_INVALID'], errnos: [] },
  'certificate-dates': { codes: ['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID'], errnos: [] },
  'untrusted-certificate': {
    codes: [
      'SELF_SIGNED_CERT_IN_CHAIN',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'UNABLE_TO_GET_ISSUER_CERT',
      'CERT_SIGNATURE_FAILURE',
      'CERT_UNTRUSTED',
    ],
    errnos: [],
  },
  // mysql2: the handshake failed (the driver restores Node's code when it can read it back).
  handshake: { codes: ['HANDSHAKE_SSL_ERROR'], errnos: [] },
} as const satisfies Record<TlsProblem, Entry>;

const TLS_ENTRIES: ReadonlyArray<readonly [TlsProblem, Entry]> = Object.entries(TLS_TABLE) as Array<[TlsProblem, Entry]>;

/** The classes, in the order they are tried: codes first, then server errnos. Every code and errno is in one class at most. */
export const ERROR_TABLE = {
  limit: {
    codes: [
      'ER_CON_COUNT_ERROR', // 1040 Too many connections
      'ER_TOO_MANY_USER_CONNECTIONS', // 1203
      'ER_USER_LIMIT_REACHED', // 1226
      'ER_OUT_OF_RESOURCES', // 1041
    ],
    errnos: [1040, 1203, 1226, 1041, 9501 /* RDS Proxy: borrow timeout */],
  },
  'connect-retryable': {
    codes: ['ETIMEDOUT', 'ECONNREFUSED' /* server restarting */],
    errnos: [],
  },
  'never-sent': {
    // mysql2 refused the command locally, before writing anything to the socket.
    codes: ['PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'PROTOCOL_ENQUEUE_AFTER_QUIT', 'CONNECTION_CLOSED'],
    errnos: [],
  },
  'stale-socket': {
    codes: [
      'PROTOCOL_CONNECTION_LOST',
      'ECONNRESET',
      'EPIPE',
      'ER_CLIENT_INTERACTION_TIMEOUT', // 4031, MySQL 8.0.24+ idle timeout
      'ER_SERVER_SHUTDOWN', // 1053
      'ER_CONNECTION_KILLED', // MariaDB 1927
    ],
    errnos: [4031, 1053, 1927, 2006, 2013],
  },
  'statement-retryable': {
    codes: ['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT'],
    errnos: [1213, 1205],
  },
  tls: {
    codes: TLS_ENTRIES.flatMap(([, entry]) => entry.codes),
    errnos: TLS_ENTRIES.flatMap(([, entry]) => entry.errnos),
  },
} as const satisfies Record<Exclude<ErrorClass, 'fatal'>, Entry>;

const CLASSES = Object.entries(ERROR_TABLE) as Array<[Exclude<ErrorClass, 'fatal'>, Entry]>;

/** Facts beyond the class, by errno. */
const FACTS = {
  /** The limits that count connections (1040 too many connections, 1203 / 1226 too many for the account): the server is full. */
  connectionCount: [1040, 1203, 1226],
  /** ER_NO_SUCH_THREAD: a concurrent reaper killed it first; ER_KILL_DENIED_ERROR for a thread that passed the ownership re-check: it is being torn down after a concurrent KILL and no longer shows as ours (seen on MariaDB 10.11). */
  threadGone: [1094, 1095],
  /** ER_BAD_FIELD_ERROR: MySQL's processlist has no TIME_MS. */
  unknownColumn: [1054],
} as const satisfies Record<string, readonly number[]>;

const matches = (entry: Entry, info: DriverErrorInfo): boolean =>
  (info.code !== undefined && entry.codes.includes(info.code)) || (info.errno !== undefined && entry.errnos.includes(info.errno));

const has = (errnos: readonly number[], info: DriverErrorInfo): boolean => info.errno !== undefined && errnos.includes(info.errno);

/** Reads code / errno / sqlState off a mysql2 error. */
function mysql2ErrorInfo(error: unknown): DriverErrorInfo {
  const info = driverErrorInfo(error);
  const message = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
  // mysql2 reports "closed state" commands without a code; name the case so the table can hold it.
  if (info.code === undefined && typeof message === 'string' && /in closed state/.test(message)) return { ...info, code: 'CONNECTION_CLOSED' };
  return info;
}

/** What a mysql2 error means to the connector: its class, its codes, and the facts the connector acts on. */
export function classifyMysql2Error(error: unknown): ClassifiedError {
  const info = mysql2ErrorInfo(error);
  const kind = CLASSES.find(([, entry]) => matches(entry, info))?.[0] ?? 'fatal';
  return {
    kind,
    info,
    connectionCount: kind === 'limit' && has(FACTS.connectionCount, info),
    threadGone: has(FACTS.threadGone, info),
    unknownColumn: has(FACTS.unknownColumn, info),
    tls: kind === 'tls' ? (TLS_ENTRIES.find(([, entry]) => matches(entry, info))?.[0] ?? 'handshake') : undefined,
  };
}

/** The class of a mysql2 error, by the table. */
export function classifyDriverError(error: unknown): ErrorClass {
  return classifyMysql2Error(error).kind;
}
