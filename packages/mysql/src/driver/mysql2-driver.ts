/**
 * The only file that imports mysql2. It turns mysql2's callback connection into the small
 * `DriverConnection` the connector uses, and never formats values into SQL text itself: values go
 * to mysql2's `query` (text protocol, escaped client-side), which RDS Proxy can multiplex —
 * server-side prepared statements would pin the client to one proxy connection.
 */
import mysql from 'mysql2';
import type { ConnectionConfig, Driver, DriverConnection, QueryOutput } from './driver.js';

/** The part of mysql2's connection this file uses, typed structurally. */
interface Mysql2Connection {
  readonly threadId: number | null;
  readonly state: string;
  query(options: { sql: string; values?: unknown[] }, callback: (error: unknown, result: unknown) => void): unknown;
  ping(callback: (error: unknown) => void): unknown;
  end(callback: (error: unknown) => void): unknown;
  destroy(): void;
  readonly stream?: { destroy(): void };
  on(event: 'connect', listener: () => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  removeAllListeners(event?: string): unknown;
}

class Mysql2DriverConnection implements DriverConnection {
  #dead = false;

  constructor(
    private readonly connection: Mysql2Connection,
    readonly threadId: number,
  ) {
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

  query(text: string, values: readonly unknown[]): Promise<QueryOutput> {
    return new Promise((resolve, reject) => {
      const options: { sql: string; values?: unknown[] } = { sql: text };
      if (values.length > 0) options.values = [...values];
      this.connection.query(options, (error, result) => {
        if (error) {
          if (isFatal(error)) this.#dead = true;
          reject(error);
        } else {
          resolve(result as QueryOutput);
        }
      });
    });
  }

  ping(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.destroy();
        reject(Object.assign(new Error('Ping timed out'), { code: 'PROTOCOL_SEQUENCE_TIMEOUT' }));
      }, timeoutMs);
      this.connection.ping((error) => {
        clearTimeout(timer);
        if (error) {
          if (isFatal(error)) this.#dead = true;
          reject(error);
        } else resolve();
      });
    });
  }

  end(): Promise<void> {
    this.#dead = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.destroy();
        resolve();
      }, 1000);
      timer.unref?.();
      try {
        this.connection.end(() => {
          clearTimeout(timer);
          resolve();
        });
      } catch {
        clearTimeout(timer);
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

function isFatal(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { fatal?: unknown }).fatal === true;
}

function toMysql2Options(config: ConnectionConfig, timeoutMs: number): Record<string, unknown> {
  return {
    ...config.driverOptions,
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password,
    database: config.database,
    ssl: config.ssl,
    socketPath: config.socketPath,
    timezone: config.timezone ?? 'Z',
    decimalNumbers: config.decimalNumbers ?? false,
    supportBigNumbers: config.supportBigNumbers ?? true,
    bigNumberStrings: config.bigNumberStrings ?? false,
    dateStrings: config.dateStrings ?? false,
    connectTimeout: Math.max(1, Math.floor(timeoutMs)),
    // Never let the driver turn multiple statements on silently: one statement per call.
    multipleStatements: false,
  };
}

/** The production driver, on mysql2. */
export const mysql2Driver: Driver = {
  connect(config, timeoutMs) {
    return new Promise((resolve, reject) => {
      const connection = mysql.createConnection(toMysql2Options(config, timeoutMs)) as unknown as Mysql2Connection;
      let settled = false;
      connection.on('error', (error) => {
        if (settled) return;
        settled = true;
        connection.removeAllListeners();
        connection.on('error', () => {});
        connection.destroy();
        reject(error);
      });
      connection.on('connect', () => {
        if (settled) return;
        settled = true;
        connection.removeAllListeners('error');
        resolve(new Mysql2DriverConnection(connection, connection.threadId ?? 0));
      });
    });
  },
};
