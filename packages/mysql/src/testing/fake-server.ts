/**
 * An in-memory stand-in for a MySQL server behind the `Driver` seam, for unit tests of the
 * connector's decisions: it can refuse connections with 1040 / 1203 / 1045, hang a connect, drop a
 * socket before or after a statement reaches it, and answers the connector's own administrative
 * statements (statements.ts, processlist.ts) from its thread table. Its errors are shaped like
 * mysql2's, so it classifies them with mysql2's table. Integration tests use the real server instead.
 */
import type { ClassifiedError, ConnectionConfig, Driver, DriverConnection, QueryOutput, WriteResult } from '../driver/driver.js';
import { classifyMysql2Error } from '../driver/mysql2/error-table.js';
import { LAPSED_RECHECK, MARIADB_PROCESSLIST, MYSQL_PROCESSLIST } from '../processlist.js';
import { KILL_STATEMENT, LIMIT_STATEMENT, RDS_KILL_STATEMENT } from '../statements.js';

export interface FakeThread {
  readonly id: number;
  readonly user: string;
  command: 'Sleep' | 'Query';
  /** Clock time the thread entered its current command. */
  since: number;
  alive: boolean;
}

export interface ServerError extends Error {
  code?: string;
  errno?: number;
  sqlState?: string;
  fatal?: boolean;
}

export function serverError(code: string, errno: number | undefined, message: string, sqlState?: string): ServerError {
  return Object.assign(new Error(message), { code, errno, sqlState, fatal: errno === undefined });
}

export const TOO_MANY_CONNECTIONS = () => serverError('ER_CON_COUNT_ERROR', 1040, 'Too many connections', '08004');
export const ACCESS_DENIED = () => serverError('ER_ACCESS_DENIED_ERROR', 1045, "Access denied for user 'app'@'localhost' (using password: YES)", '28000');

/** What the server does with an application statement (anything but the connector's own ones). */
export type StatementHandler = (text: string, values: readonly unknown[], thread: FakeThread) => QueryOutput;

export interface FakeServerOptions {
  now: () => number;
  maxConnections?: number;
  maxUserConnections?: number;
}

export class FakeServer implements Driver {
  readonly threads = new Map<number, FakeThread>();
  /** Every statement that reached the server, in order, with the thread that ran it. */
  readonly log: Array<{ thread: number; text: string; values: readonly unknown[] }> = [];
  /** Configs seen by connect(), to check that credentials are re-resolved. */
  readonly connectConfigs: ConnectionConfig[] = [];
  maxConnections: number;
  maxUserConnections: number;
  /** 'mysql' has no TIME_MS column in its processlist. */
  flavor: 'mariadb' | 'mysql' = 'mariadb';
  handler: StatementHandler = () => [];
  /** Errors the next connect attempts fail with, in order. */
  readonly refuseConnects: ServerError[] = [];
  /** Drop the socket of the next application statement: before it reaches the server, or after it ran. */
  dropNext: 'before-send' | 'after-apply' | undefined;
  /** Called after the recheck query, before kills: lets a test wake a candidate up in between. */
  beforeKill: (() => void) | undefined;
  readonly now: () => number;
  #nextId = 100;

  constructor(options: FakeServerOptions) {
    this.now = options.now;
    this.maxConnections = options.maxConnections ?? 151;
    this.maxUserConnections = options.maxUserConnections ?? 0;
  }

  /** Adds a connection of another container (or another user) that sits idle: a zombie candidate. */
  addThread(user: string, idleMs: number, command: 'Sleep' | 'Query' = 'Sleep'): FakeThread {
    const thread: FakeThread = { id: this.#nextId++, user, command, since: this.now() - idleMs, alive: true };
    this.threads.set(thread.id, thread);
    return thread;
  }

  liveThreads(user?: string): FakeThread[] {
    return [...this.threads.values()].filter((t) => t.alive && (user === undefined || t.user === user));
  }

  applied(pattern: RegExp): number {
    return this.log.filter((entry) => pattern.test(entry.text)).length;
  }

  /** Closes a connection from the server side (KILL, wait_timeout, restart). */
  kill(id: number): void {
    const thread = this.threads.get(id);
    if (thread) thread.alive = false;
  }

  classify(error: unknown): ClassifiedError {
    return classifyMysql2Error(error);
  }

  async connect(config: ConnectionConfig): Promise<DriverConnection> {
    this.connectConfigs.push(config);
    const refusal = this.refuseConnects.shift();
    if (refusal) throw refusal;
    const limit = this.maxUserConnections > 0 ? Math.min(this.maxConnections, this.maxUserConnections) : this.maxConnections;
    if (this.liveThreads(config.user).length >= limit) throw TOO_MANY_CONNECTIONS();
    const thread: FakeThread = { id: this.#nextId++, user: config.user, command: 'Sleep', since: this.now(), alive: true };
    this.threads.set(thread.id, thread);
    return new FakeConnection(this, thread);
  }

  /** Runs a statement on behalf of a thread. */
  run(thread: FakeThread, text: string, values: readonly unknown[]): QueryOutput {
    this.log.push({ thread: thread.id, text, values });
    for (const dialect of [MARIADB_PROCESSLIST, MYSQL_PROCESSLIST]) {
      if (text !== dialect.usage && !text.startsWith(dialect.recheckPrefix)) continue;
      if (dialect === MARIADB_PROCESSLIST && this.flavor === 'mysql')
        throw serverError('ER_BAD_FIELD_ERROR', 1054, "Unknown column 'TIME_MS' in 'field list'", '42S22');
      // TIME counts whole seconds, TIME_MS milliseconds.
      const idle = (t: FakeThread) => Math.floor((this.now() - t.since) / dialect.unitMs);
      if (text === dialect.usage) {
        return this.liveThreads(thread.user).map((t) => ({
          id: t.id,
          command: t.id === thread.id ? 'Query' : t.command,
          idle: idle(t),
          maxConnections: this.maxConnections,
          maxUserConnections: this.maxUserConnections,
        }));
      }
      const [minimum = 0, ...ids] = values as number[];
      const rows = this.liveThreads(thread.user)
        .filter((t) => ids.includes(t.id) && t.command === 'Sleep' && idle(t) >= minimum)
        .map((t) => ({ id: t.id }));
      this.beforeKill?.();
      return rows;
    }
    if (text === LAPSED_RECHECK) {
      const target = this.threads.get(values[0] as number);
      const asleep = target?.alive === true && target.user === thread.user && target.command === 'Sleep';
      this.beforeKill?.();
      return asleep ? [{ id: target.id, idle: Math.floor((this.now() - target.since) / 1000) }] : [];
    }
    if (text === LIMIT_STATEMENT) return [{ maxConnections: this.maxConnections, maxUserConnections: this.maxUserConnections }];
    if (text === KILL_STATEMENT || text === RDS_KILL_STATEMENT) {
      const target = this.threads.get(values[0] as number);
      if (!target?.alive) throw serverError('ER_NO_SUCH_THREAD', 1094, 'Unknown thread id', 'HY000');
      target.alive = false;
      return writeResult(0);
    }
    if (/^(START TRANSACTION|COMMIT|ROLLBACK|SET TRANSACTION|SET SESSION wait_timeout)/.test(text)) return writeResult(0);
    return this.handler(text, values, thread);
  }
}

export function writeResult(affectedRows: number, insertId = 0): WriteResult {
  return { affectedRows, insertId, changedRows: 0, warningStatus: 0 };
}

class FakeConnection implements DriverConnection {
  readonly threadId: number;
  #closedLocally = false;

  constructor(
    private readonly server: FakeServer,
    private readonly thread: FakeThread,
  ) {
    this.threadId = thread.id;
  }

  usable(): boolean {
    // A server-side close is not seen until the next use, as with a frozen Lambda container.
    return !this.#closedLocally;
  }

  async query(text: string, values: readonly unknown[]): Promise<QueryOutput> {
    if (this.#closedLocally) throw Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true });
    await Promise.resolve();
    if (!this.thread.alive) return this.#lost();
    const isOwn = /^(START TRANSACTION|COMMIT|ROLLBACK|SET TRANSACTION|SELECT ID|KILL|CALL mysql)/.test(text);
    if (!isOwn && this.server.dropNext === 'before-send') {
      this.server.dropNext = undefined;
      this.thread.alive = false;
      return this.#lost();
    }
    this.thread.command = 'Query';
    try {
      const output = this.server.run(this.thread, text, values);
      if (!isOwn && this.server.dropNext === 'after-apply') {
        this.server.dropNext = undefined;
        this.thread.alive = false;
        return this.#lost();
      }
      return output;
    } finally {
      this.thread.command = 'Sleep';
      this.thread.since = this.server.now();
    }
  }

  async ping(): Promise<void> {
    await Promise.resolve();
    if (!this.thread.alive) return this.#lost();
  }

  async close(): Promise<void> {
    this.destroy();
  }

  destroy(): void {
    this.#closedLocally = true;
    this.thread.alive = false;
  }

  #lost(): never {
    this.#closedLocally = true;
    throw serverError('PROTOCOL_CONNECTION_LOST', undefined, 'Connection lost: The server closed the connection.');
  }
}
