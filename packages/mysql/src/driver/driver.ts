import type { SqlValue } from '../sql.js';

/**
 * The seam between the connector and a MySQL client library. The connector needs only these calls;
 * `mysql2-driver.ts` implements them on mysql2, and the unit tests implement them on a fake server
 * that can refuse connections, hang or drop sockets.
 */

/** What a physical connection needs to open. Secrets live here and nowhere else. */
export interface ConnectionConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password?: string | undefined;
  readonly database?: string | undefined;
  /**
   * TLS (`{ ca }`, or mysql2's profile name `'Amazon RDS'`). Verified in full: the chain against
   * `ca` and the host name against the certificate, unless `verifyIdentity: false` turns the host
   * check off. A server without TLS is refused, never used in clear.
   * @default undefined (no TLS)
   */
  readonly ssl?: string | Record<string, unknown> | undefined;
  /** Socket path, instead of host and port. */
  readonly socketPath?: string | undefined;
  /** Session time zone for DATETIME conversion: `'Z'`, `'local'` or `'+HH:MM'`. @default 'Z' */
  readonly timezone?: string | undefined;
  /** Return DECIMAL columns as numbers instead of exact strings. @default false */
  readonly decimalNumbers?: boolean | undefined;
  /** Return BIGINT as strings or numbers, as mysql2's `supportBigNumbers` / `bigNumberStrings`. */
  readonly supportBigNumbers?: boolean | undefined;
  readonly bigNumberStrings?: boolean | undefined;
  /** Return DATE / DATETIME as strings instead of Date objects. @default false */
  readonly dateStrings?: boolean | undefined;
  /** Connection attributes / extra driver options, passed through untouched. */
  readonly driverOptions?: Readonly<Record<string, unknown>> | undefined;
}

/** The header mysql2 returns for INSERT / UPDATE / DELETE. */
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
   * the driver writes them as literals that are correct for the session's `sql_mode`. Timeouts are
   * the connector's business (it destroys a connection that overstays), so the driver needs none.
   */
  query(text: string, values: readonly SqlValue[]): Promise<QueryOutput>;
  /** A round trip that changes nothing (COM_PING). */
  ping(timeoutMs: number): Promise<void>;
  /** Whether the connection is still believed usable (no fatal error, not closed). */
  usable(): boolean;
  /** Graceful close (COM_QUIT); resolves when the socket is closed. */
  end(): Promise<void>;
  /** Immediate close, no round trip. */
  destroy(): void;
}

export interface Driver {
  /** Opens one authenticated connection, or rejects with the driver's error. `timeoutMs` is a hint for the socket; the connector enforces it too. */
  connect(config: ConnectionConfig, timeoutMs: number): Promise<DriverConnection>;
}
