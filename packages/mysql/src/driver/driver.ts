import type { SqlValue } from '../sql.js';

/**
 * The seam between the connector and a MySQL client library. The connector makes only these calls
 * and asks the driver what an error means (`classify`) instead of reading codes itself;
 * `mysql2/mysql2-driver.ts` implements the seam on mysql2, and the unit tests on a fake server that
 * can refuse connections, hang or drop sockets. Timeouts are the connector's business: it bounds
 * every call and destroys a connection that overstays, so a driver needs none of its own.
 */

/** What a physical connection needs to open. Secrets live here and nowhere else. */
export interface ConnectionConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** @default undefined (no password) */
  readonly password?: string | undefined;
  /** @default undefined (no default database) */
  readonly database?: string | undefined;
  /**
   * TLS (`{ ca }`, or mysql2's profile name `'Amazon RDS'`). Verified in full: the chain against
   * `ca` and the host name against the certificate, unless `verifyIdentity: false` turns the host
   * check off. A server without TLS is refused, never used in clear.
   * @default undefined (no TLS)
   */
  readonly ssl?: string | Record<string, unknown> | undefined;
  /** Socket path, instead of host and port. @default undefined (host and port) */
  readonly socketPath?: string | undefined;
  /** Session time zone for DATETIME conversion: `'Z'`, `'local'` or `'+HH:MM'`. @default 'Z' */
  readonly timezone?: string | undefined;
  /** Return DECIMAL columns as numbers instead of exact strings. @default false */
  readonly decimalNumbers?: boolean | undefined;
  /** Return BIGINT as strings or numbers, as mysql2's `supportBigNumbers`. @default true */
  readonly supportBigNumbers?: boolean | undefined;
  /** With `supportBigNumbers`, return every BIGINT as a string, as mysql2's `bigNumberStrings`. @default false */
  readonly bigNumberStrings?: boolean | undefined;
  /** Return DATE / DATETIME as strings instead of Date objects. @default false */
  readonly dateStrings?: boolean | undefined;
  /** Connection attributes / extra driver options, passed through untouched. @default undefined */
  readonly driverOptions?: Readonly<Record<string, unknown>> | undefined;
}

/** The header a driver returns for INSERT / UPDATE / DELETE. */
export interface WriteResult {
  readonly affectedRows: number;
  readonly insertId: number;
  readonly changedRows: number;
  readonly warningStatus: number;
}

export type QueryOutput = readonly Record<string, unknown>[] | WriteResult;

export interface DriverConnection {
  /** The server's thread id (CONNECTION_ID()), used to spare our own connection when reaping. */
  readonly threadId: number;
  /**
   * Sends one statement and rejects with the driver's own error. `values` fill the `?`
   * placeholders of `text` in order; they have passed the `sql` tag's checks (scalars only), and
   * the driver writes them as literals that are correct for the session's `sql_mode`.
   */
  query(text: string, values: readonly SqlValue[]): Promise<QueryOutput>;
  /** A round trip that changes nothing (COM_PING). */
  ping(): Promise<void>;
  /** Whether the connection is still believed usable (no fatal error, not closed). */
  usable(): boolean;
  /** Graceful close (COM_QUIT); resolves when the socket is closed, and never rejects. */
  close(): Promise<void>;
  /** Immediate close, no round trip. */
  destroy(): void;
}

/** What the server or the driver reported, without the statement or its parameters. */
export interface DriverErrorInfo {
  /** The driver's string code: `ER_CON_COUNT_ERROR`, `PROTOCOL_CONNECTION_LOST`, `ECONNRESET`, ... */
  readonly code: string | undefined;
  /** The server's numeric error code (1040, 1203, 4031, ...), when the server sent one. */
  readonly errno: number | undefined;
  /** The five-character SQLSTATE, when the server sent one. */
  readonly sqlState: string | undefined;
}

export type ErrorClass =
  /** The server or the account is at a connection limit (too many connections, out of resources, RDS Proxy's borrow timeout); connecting again later may succeed. */
  | 'limit'
  /** The server refused a new connection for now (a timeout, a restart); connecting again later may succeed. */
  | 'connect-retryable'
  /** The socket was already gone and the driver refused the command before writing any of it: the statement never left. */
  | 'never-sent'
  /** The socket is gone (idle timeout, KILL, restart, network); the connection must be replaced, and a statement in flight may have run. */
  | 'stale-socket'
  /** The statement failed for a transient reason (deadlock, lock wait); the whole unit may be retried. */
  | 'statement-retryable'
  /** TLS could not be set up, or the server's certificate was refused. Fatal for the connect: never retried, never answered by connecting in clear. */
  | 'tls'
  /** Anything else: bad SQL, access denied, constraint violations. Retrying cannot help. */
  | 'fatal';

/** Which TLS problem a `tls` error is, so the connector can name the option that fixes it. */
export type TlsProblem =
  /** The server accepts only TLS connections, and `ssl` is not set. */
  | 'server-requires-tls'
  /** `ssl` is set and the server offers no TLS. */
  | 'no-server-tls'
  /** The certificate does not name the host connected to. */
  | 'host-mismatch'
  /** The certificate is expired or not yet valid. */
  | 'certificate-dates'
  /** The certificate is not signed by a trusted CA. */
  | 'untrusted-certificate'
  /** Any other handshake failure. */
  | 'handshake';

/** What an error means, as the driver that raised it knows: the connector reads nothing else of it. */
export interface ClassifiedError {
  readonly kind: ErrorClass;
  /** The error's codes, safe to show (a code is never free text). */
  readonly info: DriverErrorInfo;
  /** A `limit` that counts connections (too many for the server or for the account): the server is full, whatever this user's own count says. */
  readonly connectionCount: boolean;
  /** A KILL found no such thread, or one already being torn down: someone else got there first. */
  readonly threadGone: boolean;
  /** The statement named a column the server does not have (MySQL's processlist has no TIME_MS). */
  readonly unknownColumn: boolean;
  /** For `tls`: which problem. */
  readonly tls: TlsProblem | undefined;
}

export interface Driver {
  /** Opens one authenticated connection, or rejects with the driver's error. `timeoutMs` is a hint for the socket; the connector enforces it too. */
  connect(config: ConnectionConfig, timeoutMs: number): Promise<DriverConnection>;
  /** What an error thrown by this driver's calls means. Total: anything else is `fatal`, with whatever codes it shows. */
  classify(error: unknown): ClassifiedError;
}
