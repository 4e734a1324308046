/**
 * The only file that imports mysql2. It turns mysql2's callback connection into the small
 * `DriverConnection` the connector uses. Statements go over the text protocol, which RDS Proxy can
 * multiplex (server-side prepared statements would pin the client to one proxy connection), with
 * the values written as literals by `format.ts` — never by mysql2's escaping, which assumes
 * backslash escapes and is injectable under `sql_mode` NO_BACKSLASH_ESCAPES. This file tracks that
 * mode from what the server reports.
 *
 * TLS is verify-full by default: with `ssl` set, the chain is checked (mysql2's default) and so is
 * the host name (`verifyIdentity`, off in mysql2 unless asked for) unless `ssl.verifyIdentity` is
 * explicitly `false`. A server without TLS is refused (mysql2's HANDSHAKE_NO_SSL_SUPPORT), never
 * used in clear. What mysql2's errors mean is in `error-table.ts`, beside it.
 */
import mysql from 'mysql2';
import { formatStatement, needsModeForBackslashes } from '../../format.js';
import type { SqlValue } from '../../sql.js';
import { tlsCodeOf } from '../../tls.js';
import type { ConnectionConfig, Driver, DriverConnection, QueryOutput } from '../driver.js';
import { classifyMysql2Error } from './error-table.js';

/** SERVER_STATUS_NO_BACKSLASH_ESCAPES, in the status flags of the handshake and of every OK packet. */
const NO_BACKSLASH_ESCAPES = 0x200;

/** The part of mysql2's connection this file uses, typed structurally. */
interface Mysql2Connection {
  readonly threadId: number | null;
  readonly _handshakePacket?: { readonly statusFlags?: number } | null;
  readonly state: string;
  query(options: { sql: string; values?: unknown[] }, callback: (error: unknown, result: unknown) => void): unknown;
  ping(callback: (error: unknown) => void): unknown;
  end(callback: (error: unknown) => void): unknown;
  destroy(): void;
  readonly stream?: { destroy(): void; _host?: string | null };
  on(event: 'connect', listener: () => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  removeAllListeners(event?: string): unknown;
}

class Mysql2DriverConnection implements DriverConnection {
  #dead = false;
  /** Whether the session reads a backslash as an ordinary character; first from the handshake. */
  #noBackslashEscapes: boolean;
  /**
   * Whether the mode is known for this session. The handshake shows the server's global mode, but
   * `init_connect` may change it after: the mode is read once before the first value whose literal
   * depends on it, and every OK packet (which is where a SET would show) keeps it current.
   */
  #modeConfirmed = false;

  constructor(
    private readonly connection: Mysql2Connection,
    readonly threadId: number,
    private readonly timezone: string,
  ) {
    this.#noBackslashEscapes = ((connection._handshakePacket?.statusFlags ?? 0) & NO_BACKSLASH_ESCAPES) !== 0;
    // A fatal error or an end with no command pending arrives here. Without a listener mysql2 would
    // throw it from the event loop and crash the process (serverless-mysql issue #7's "enqueue after fatal error").
    connection.on('error', () => {
      this.#dead = true;
    });
    connection.on('end', () => {
      this.#dead = true;
    });
  }

  usable(): boolean {
    return !this.#dead && this.connection.state === 'authenticated';
  }

  async query(text: string, values: readonly SqlValue[]): Promise<QueryOutput> {
    if (!this.#modeConfirmed && needsModeForBackslashes(values)) {
      const [row] = (await this.#send('SELECT @@SESSION.sql_mode AS mode')) as Array<{ mode?: unknown }>;
      this.#noBackslashEscapes = String(row?.mode ?? '').includes('NO_BACKSLASH_ESCAPES');
      this.#modeConfirmed = true;
    }
    return this.#send(formatStatement(text, values, { noBackslashEscapes: this.#noBackslashEscapes, timezone: this.timezone }));
  }

  #send(text: string): Promise<QueryOutput> {
    return new Promise((resolve, reject) => {
      this.connection.query({ sql: text }, (error, result) => {
        if (error) {
          if (isFatal(error)) this.#dead = true;
          reject(error);
          return;
        }
        this.#track(result);
        resolve(result as QueryOutput);
      });
    });
  }

  /** An OK packet carries the session's status flags: the mode as of this statement. */
  #track(result: unknown): void {
    const header = Array.isArray(result) ? result.at(-1) : result;
    const status = typeof header === 'object' && header !== null ? (header as { serverStatus?: unknown }).serverStatus : undefined;
    if (typeof status !== 'number') return;
    this.#noBackslashEscapes = (status & NO_BACKSLASH_ESCAPES) !== 0;
    this.#modeConfirmed = true;
  }

  ping(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.connection.ping((error) => {
        if (error) {
          if (isFatal(error)) this.#dead = true;
          reject(error);
        } else resolve();
      });
    });
  }

  close(): Promise<void> {
    this.#dead = true;
    return new Promise((resolve) => {
      try {
        this.connection.end(() => resolve());
      } catch {
        this.destroy();
        resolve();
      }
    });
  }

  destroy(): void {
    this.#dead = true;
    this.connection.destroy();
    this.connection.stream?.destroy();
  }
}

/**
 * mysql2 overwrites the code of every TLS handshake error with HANDSHAKE_SSL_ERROR; Node's code
 * (SELF_SIGNED_CERT_IN_CHAIN, ERR_TLS_CERT_ALTNAME_INVALID, ...) is read back from the message, on
 * a fresh error (the original also carries the server's whole certificate).
 */
function tlsError(error: unknown): unknown {
  const record = error as { code?: unknown; message?: unknown } | null;
  if (record?.code !== 'HANDSHAKE_SSL_ERROR' || typeof record.message !== 'string') return error;
  const code = tlsCodeOf(record.message);
  return code === undefined ? error : Object.assign(new Error(record.message), { code, fatal: true });
}

function isFatal(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { fatal?: unknown }).fatal === true;
}

type SslOptions = Readonly<Record<string, unknown>>;

/** mysql2's named TLS profiles ('Amazon RDS'), typed structurally: its typings declare the class as an interface only. */
const profiles = (mysql as unknown as { ConnectionConfig: { getSSLProfile(name: string): SslOptions } }).ConnectionConfig;

/**
 * The options mysql2 gets for `ssl`, per options object. The same object is handed out while the
 * caller's is unchanged, since mysql2 keys its secure contexts and TLS sessions by the object:
 * a new one on every connect would parse the CA bundle and do a full handshake every time.
 */
const verified = new WeakMap<SslOptions, { readonly source: SslOptions; readonly options: SslOptions }>();

function sameOptions(a: SslOptions, b: SslOptions): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.is(a[key], b[key]));
}

/** `ssl` with the host name check on unless the caller turned it off (`verifyIdentity: false`). */
export function verifyFull(ssl: ConnectionConfig['ssl']): SslOptions | undefined {
  if (typeof ssl !== 'string' && (typeof ssl !== 'object' || ssl === null)) return undefined;
  const base = typeof ssl === 'string' ? profiles.getSSLProfile(ssl) : ssl;
  const cached = verified.get(base);
  if (cached && sameOptions(cached.source, base)) return cached.options;
  const options = { ...base, verifyIdentity: base['verifyIdentity'] ?? true };
  verified.set(base, { source: { ...base }, options });
  return options;
}

/** The options mysql2's createConnection gets. Exported for the unit tests. */
export function toMysql2Options(config: ConnectionConfig, timeoutMs: number): Record<string, unknown> {
  return {
    ...config.driverOptions,
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password,
    database: config.database,
    ssl: verifyFull(config.ssl),
    socketPath: config.socketPath,
    timezone: config.timezone ?? 'Z',
    decimalNumbers: config.decimalNumbers ?? false,
    supportBigNumbers: config.supportBigNumbers ?? true,
    bigNumberStrings: config.bigNumberStrings ?? false,
    dateStrings: config.dateStrings ?? false,
    connectTimeout: Math.max(1, Math.floor(timeoutMs)),
    // Never let the driver turn multiple statements on silently: one statement per call.
    multipleStatements: false,
    // Values are written by format.ts; mysql2 must not reinterpret the finished text.
    queryFormat: undefined,
    namedPlaceholders: false,
  };
}

/** The production driver, on mysql2. */
export const mysql2Driver: Driver = {
  classify: classifyMysql2Error,
  connect(config, timeoutMs) {
    const timezone = config.timezone ?? 'Z';
    const options = toMysql2Options(config, timeoutMs);
    return new Promise((resolve, reject) => {
      const connection = mysql.createConnection(options) as unknown as Mysql2Connection;
      // mysql2 gives Node no server name for an IP host, and Node then checks the certificate
      // against "localhost": any certificate for localhost would pass for 127.0.0.2. The socket's
      // host is what Node falls back to before "localhost"; for a host name Node sets it itself.
      if (options['ssl'] !== undefined && config.socketPath === undefined && connection.stream && !connection.stream._host)
        connection.stream._host = config.host;
      let settled = false;
      connection.on('error', (error) => {
        if (settled) return;
        settled = true;
        connection.removeAllListeners();
        connection.on('error', () => {});
        connection.destroy();
        reject(tlsError(error));
      });
      connection.on('connect', () => {
        if (settled) return;
        settled = true;
        connection.removeAllListeners('error');
        resolve(new Mysql2DriverConnection(connection, connection.threadId ?? 0, timezone));
      });
    });
  },
};
