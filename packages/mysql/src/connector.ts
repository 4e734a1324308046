import { AsyncLocalStorage } from 'node:async_hooks';
import { backoffDelay } from './backoff.js';
import { connectionLimit, excessConnections, type ProcessRow, type UsageSnapshot, utilization, zombieCandidates, zombieThresholdMs } from './budget.js';
import type { ConnectionConfig, Driver, DriverConnection, QueryOutput, WriteResult } from './driver/driver.js';
import {
  CachefrontMysqlError,
  ConnectError,
  ConnectionLimitError,
  ConnectionLostError,
  ConnectorClosedError,
  classifyDriverError,
  DeadlineError,
  type DriverErrorInfo,
  describeDriverError,
  driverErrorInfo,
  QueryError,
  StatementError,
  TransactionError,
} from './errors.js';
import { ConnectorEmitter } from './events.js';
import { type ConnectionSource, type ConnectorOptions, type ResolvedOptions, resolveConnection, resolveOptions } from './options.js';
import { isSqlStatement, looksIdempotent, type SqlStatement, type SqlValue, sql, statementVerb } from './sql.js';
import {
  ER_BAD_FIELD_ERROR,
  ER_KILL_DENIED,
  ER_NO_SUCH_THREAD,
  ISOLATION_LEVELS,
  type IsolationLevel,
  KILL_STATEMENT,
  MARIADB_PROCESSLIST,
  MYSQL_PROCESSLIST,
  type ProcesslistDialect,
  RDS_KILL_STATEMENT,
  recheck,
  SET_WAIT_TIMEOUT,
} from './statements.js';
import { type ConnectorStats, createStats } from './stats.js';
import { tlsAdvice } from './tls.js';

export type Row = Record<string, unknown>;

export interface StatementOptions {
  /** Timeout of this statement; the invocation deadline still applies. */
  timeoutMs?: number;
  /**
   * Whether the statement may run twice. Plain SELECT / SHOW are detected as idempotent and retried
   * once after a lost connection; anything else is never re-sent once it may have reached the server.
   */
  idempotent?: boolean;
}

export interface TransactionOptions {
  isolationLevel?: IsolationLevel;
  readOnly?: boolean;
}

/** The statements of one transaction, all on one connection. Later statements may use earlier results. */
export interface Transaction {
  query<T extends Row = Row>(statement: SqlStatement, options?: Pick<StatementOptions, 'timeoutMs'>): Promise<T[]>;
  execute(statement: SqlStatement, options?: Pick<StatementOptions, 'timeoutMs'>): Promise<WriteResult>;
}

/** What a Lambda context offers; only the remaining time is read. */
export interface DeadlineSource {
  getRemainingTimeInMillis(): number;
}

export interface ReapOptions {
  /** Kill sleeping connections of this user idle at least this long. Default: the adaptive threshold for the current utilization. */
  olderThanMs?: number;
}

export interface ReapResult {
  readonly limit: number;
  readonly used: number;
  readonly thresholdMs: number;
  readonly killed: readonly number[];
}

export interface EndResult {
  /** Whether the processlist was read in this call. */
  readonly checked: boolean;
  readonly limit: number | undefined;
  readonly used: number | undefined;
  readonly killed: number;
  /** Whether this container's connection was closed to get under the threshold. */
  readonly closed: boolean;
}

/** One physical connection slot. `connection` is undefined until first use and after a loss. */
interface Slot {
  connection: DriverConnection | undefined;
  lastUsedAt: number;
}

/**
 * A managed MySQL connector for serverless functions. Create it in module scope (no I/O happens),
 * run statements in the handler, call `end()` after each invocation.
 */
export class Connector implements AsyncDisposable {
  readonly #source: ConnectorOptions | (() => ConnectorOptions | Promise<ConnectorOptions>);
  #options: ResolvedOptions | undefined;
  #optionsPromise: Promise<ResolvedOptions> | undefined;
  /** The options function has just been called: the next connect may use its `connection` as is. */
  #optionsFresh = false;
  readonly #events = new ConnectorEmitter();
  readonly #stats = createStats();
  readonly #slots = new Set<Slot>();
  readonly #idle: Slot[] = [];
  readonly #waiters: Array<(slot: Slot) => void> = [];
  readonly #inTransaction = new AsyncLocalStorage<Connector>();
  #deadline: number | undefined;
  #lastUsageCheck = Number.NEGATIVE_INFINITY;
  /** How the processlist is read; MariaDB's form until the server shows it has no TIME_MS. */
  #processlist: ProcesslistDialect = MARIADB_PROCESSLIST;
  /** A connect was refused for the connection limit since the last end(). */
  #refusedSinceEnd = false;
  #closed = false;

  constructor(options: ConnectorOptions | (() => ConnectorOptions | Promise<ConnectorOptions>)) {
    this.#source = options;
    // Plain options are checked at once, so a typo fails at module load, not in the first request.
    if (typeof options !== 'function') this.#options = resolveOptions(options);
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  readonly on: ConnectorEmitter['on'] = (event, listener) => this.#events.on(event, listener);
  readonly off: ConnectorEmitter['off'] = (event, listener) => this.#events.off(event, listener);

  /** Counters since creation. */
  stats(): ConnectorStats {
    return { ...this.#stats, openConnections: [...this.#slots].filter((slot) => slot.connection?.usable()).length };
  }

  /**
   * Sets the time by which every operation of this invocation must end. `end()` clears it.
   * `useContext(context)` does the same from a Lambda context.
   */
  setDeadline(epochMs: number | undefined): void {
    this.#deadline = epochMs;
  }

  useContext(context: DeadlineSource): void {
    const now = this.#options?.now ?? Date.now;
    this.#deadline = now() + context.getRemainingTimeInMillis();
  }

  /** Runs a statement and returns its rows. */
  async query<T extends Row = Row>(statement: SqlStatement, options: StatementOptions = {}): Promise<T[]> {
    const output = await this.#statement(statement, options, 'rows');
    if (!Array.isArray(output)) {
      throw new StatementError('query() ran a statement that returns no rows; use execute() for INSERT / UPDATE / DELETE.');
    }
    return output as T[];
  }

  /** Runs a statement that changes data and returns its header (affected rows, insert id). */
  async execute(statement: SqlStatement, options: StatementOptions = {}): Promise<WriteResult> {
    const output = await this.#statement(statement, options, 'write');
    if (Array.isArray(output)) {
      throw new StatementError('execute() ran a statement that returns rows; use query() for SELECT.');
    }
    return output as WriteResult;
  }

  /**
   * Runs `work` inside one transaction on one connection: COMMIT when it returns, ROLLBACK when it
   * throws. Nothing in it is ever re-run, nor moved to another connection: if the connection is lost,
   * the transaction fails with a `TransactionError` saying whether it may have committed.
   */
  async transaction<T>(work: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const opts = await this.#resolved();
    this.#refuseNested();
    if (options.isolationLevel !== undefined && !(options.isolationLevel in ISOLATION_LEVELS)) {
      throw new StatementError(`Unknown isolationLevel; use one of: ${Object.keys(ISOLATION_LEVELS).join(', ')}.`);
    }
    const slot = await this.#acquire(opts);
    let connection: DriverConnection | undefined;
    let finished = false;
    try {
      connection = await this.#begin(slot, opts, options);
      const conn = connection;
      const run = async (statement: SqlStatement, stmtOptions: { timeoutMs?: number } | undefined): Promise<QueryOutput> => {
        if (finished) throw new StatementError('This transaction has already ended; run statements inside its callback.');
        assertStatement(statement);
        if (!conn.usable()) {
          throw new TransactionError('The connection was lost inside the transaction; it was rolled back by the server and nothing was re-run.', {
            mayHaveCommitted: false,
          });
        }
        return this.#send(conn, statement, this.#statementTimeout(opts, stmtOptions?.timeoutMs), false, opts).catch((error: unknown) => {
          throw this.#transactionStatementError(slot, error);
        });
      };
      const tx: Transaction = {
        query: async <R extends Row = Row>(statement: SqlStatement, o?: { timeoutMs?: number }) => {
          const output = await run(statement, o);
          if (!Array.isArray(output)) throw new StatementError('tx.query() ran a statement that returns no rows; use tx.execute().');
          return output as R[];
        },
        execute: async (statement: SqlStatement, o?: { timeoutMs?: number }) => {
          const output = await run(statement, o);
          if (Array.isArray(output)) throw new StatementError('tx.execute() ran a statement that returns rows; use tx.query().');
          return output as WriteResult;
        },
      };
      let result: T;
      try {
        result = await this.#inTransaction.run(this, () => work(tx));
      } catch (error) {
        finished = true;
        await this.#rollback(slot, conn, opts);
        throw error;
      }
      finished = true;
      await this.#commit(slot, conn, opts);
      this.#stats.transactions += 1;
      return result;
    } finally {
      finished = true;
      this.#release(slot, opts);
    }
  }

  /**
   * Call after every invocation (the core wrapper does). Reads utilization; above `connUtilization`
   * it reaps zombies and, when that is not enough, closes this container's own connection. Also
   * kills this user's connections idle longer than `zombieMaxTimeoutMs`. Clears the deadline.
   */
  async end(): Promise<EndResult> {
    const none: EndResult = { checked: false, limit: undefined, used: undefined, killed: 0, closed: false };
    try {
      const opts = this.#options;
      if (this.#closed || opts === undefined) return none;
      this.#stats.ends += 1;
      if (!opts.manageConns || opts.rdsProxy) return none;
      const slot = this.#idle.find((s) => s.connection?.usable());
      if (slot === undefined) return none;
      // This invocation waited for a slot (1040 / 1203 / 1226): the server is full whatever our own
      // user's count says (other users, monitoring sessions), so check now and act as at full use.
      const pressure = this.#refusedSinceEnd;
      this.#refusedSinceEnd = false;
      if (!pressure && opts.now() - this.#lastUsageCheck < opts.usageCheckIntervalMs) return none;
      this.#idle.splice(this.#idle.indexOf(slot), 1);
      try {
        const connection = slot.connection as DriverConnection;
        const snapshot = await this.#usage(connection, opts);
        this.#lastUsageCheck = opts.now();
        const usage = pressure ? Math.max(1, utilization(snapshot)) : utilization(snapshot);
        const used = pressure ? Math.max(snapshot.used, snapshot.limit) : snapshot.used;
        const thresholdMs = usage > opts.connUtilization ? zombieThresholdMs(usage, opts) : opts.zombieMaxTimeoutMs;
        this.#events.emit('usage', { limit: snapshot.limit, used: snapshot.used, utilization: usage, thresholdMs, pressure });
        // Above the threshold, kill only as many as it takes (oldest first): every kill of a
        // connection that is merely warm costs its container a reconnect, and races its next statement.
        const needed = usage > opts.connUtilization ? Math.max(1, excessConnections({ limit: snapshot.limit, used }, opts.connUtilization)) : undefined;
        const killed = await this.#reap(connection, snapshot, thresholdMs, opts, needed);
        const after = { limit: snapshot.limit, used: used - killed.length };
        let closed = false;
        if (excessConnections(after, opts.connUtilization) > 0) {
          await this.#closeSlot(slot, 'utilization');
          closed = true;
        }
        return { checked: true, limit: snapshot.limit, used: snapshot.used, killed: killed.length, closed };
      } catch (error) {
        // A failed check must not fail the invocation that already succeeded; drop the connection.
        this.#events.emit('error', { error: this.#wrapStatementError(error, true, false) });
        await this.#closeSlot(slot, 'lost');
        return none;
      } finally {
        this.#release(slot, opts);
      }
    } finally {
      this.#deadline = undefined;
    }
  }

  /**
   * Kills this user's sleeping connections idle at least `olderThanMs` (by default the adaptive
   * threshold). For a scheduled cleanup function, outside the request path. Off behind RDS Proxy.
   */
  async reap(options: ReapOptions = {}): Promise<ReapResult> {
    const opts = await this.#resolved();
    if (opts.rdsProxy) return { limit: 0, used: 0, thresholdMs: 0, killed: [] };
    const slot = await this.#acquire(opts);
    try {
      // Every kill is re-checked, so reaping may run again: once more on a new connection when the
      // connection turns out to have been closed behind our back (idle timeout, KILL, restart).
      for (let attempt = 0; ; attempt += 1) {
        try {
          const connection = await this.#ready(slot, opts, false);
          const snapshot = await this.#usage(connection, opts);
          const usage = utilization(snapshot);
          const thresholdMs = options.olderThanMs ?? zombieThresholdMs(usage, opts);
          const killed = await this.#reap(connection, snapshot, thresholdMs, opts);
          return { limit: snapshot.limit, used: snapshot.used, thresholdMs, killed };
        } catch (error) {
          if (error instanceof CachefrontMysqlError) throw error;
          const stale = classifyDriverError(error) === 'stale-socket';
          if (stale) await this.#closeSlot(slot, 'lost');
          if (stale && attempt === 0) {
            this.#stats.reconnects += 1;
            this.#events.emit('reconnect', { reason: 'stale-socket', idleMs: 0 });
            continue;
          }
          throw this.#wrapStatementError(stale ? new LostInFlight(error, false) : error, true, true);
        }
      }
    } finally {
      this.#release(slot, opts);
    }
  }

  /** Closes every connection and refuses further use. Awaits the sockets' close. */
  async quit(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#slots].map((slot) => this.#closeSlot(slot, 'quit')));
    this.#slots.clear();
    this.#idle.length = 0;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.quit();
  }

  // ---------------------------------------------------------------------------------------------
  // Options and deadlines

  #resolved(): Promise<ResolvedOptions> {
    if (this.#closed) return Promise.reject(new ConnectorClosedError());
    if (this.#options) return Promise.resolve(this.#options);
    if (!this.#optionsPromise) {
      const source = this.#source as () => ConnectorOptions | Promise<ConnectorOptions>;
      this.#optionsPromise = Promise.resolve()
        .then(source)
        .then((options) => {
          this.#options = resolveOptions(options);
          this.#optionsFresh = true;
          return this.#options;
        })
        .catch((error: unknown) => {
          this.#optionsPromise = undefined; // resolve again on the next call
          throw error;
        });
    }
    return this.#optionsPromise;
  }

  /** The time by which the current operation must end: the invocation deadline minus its margin, or acquireTimeoutMs from now. */
  #operationDeadline(opts: ResolvedOptions): number {
    const own = opts.now() + opts.acquireTimeoutMs;
    return this.#deadline === undefined ? own : Math.min(own, this.#deadline - opts.deadlineMarginMs);
  }

  #statementTimeout(opts: ResolvedOptions, timeoutMs: number | undefined): number | undefined {
    const limits = [timeoutMs, opts.queryTimeoutMs];
    if (this.#deadline !== undefined) limits.push(this.#deadline - opts.deadlineMarginMs - opts.now());
    const defined = limits.filter((value): value is number => value !== undefined);
    if (defined.length === 0) return undefined;
    const timeout = Math.min(...defined);
    if (timeout <= 0) throw new DeadlineError('The invocation deadline has passed; no statement was sent.', { mayHaveApplied: false });
    return timeout;
  }

  #refuseNested(): void {
    if (this.#inTransaction.getStore() === this) {
      throw new StatementError('A statement was run on the connector inside its own transaction; use the `tx` argument instead.');
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Slots: which physical connection an operation uses

  async #acquire(opts: ResolvedOptions): Promise<Slot> {
    if (this.#closed) throw new ConnectorClosedError();
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#slots.size < opts.maxConnections) {
      const slot: Slot = { connection: undefined, lastUsedAt: opts.now() };
      this.#slots.add(slot);
      return slot;
    }
    const deadline = this.#operationDeadline(opts);
    return new Promise<Slot>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          const index = this.#waiters.indexOf(grant);
          if (index >= 0) this.#waiters.splice(index, 1);
          reject(
            new DeadlineError(`No connection of this connector became free in time; raise \`maxConnections\` or \`acquireTimeoutMs\`.`, {
              mayHaveApplied: false,
            }),
          );
        },
        Math.max(0, deadline - opts.now()),
      );
      const grant = (slot: Slot) => {
        clearTimeout(timer);
        resolve(slot);
      };
      this.#waiters.push(grant);
    });
  }

  #release(slot: Slot, opts: ResolvedOptions): void {
    slot.lastUsedAt = opts.now();
    if (this.#closed) {
      void this.#closeSlot(slot, 'quit');
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter(slot);
    else this.#idle.push(slot);
  }

  async #closeSlot(slot: Slot, reason: 'utilization' | 'quit' | 'lost' | 'timeout'): Promise<void> {
    const connection = slot.connection;
    slot.connection = undefined;
    if (!connection) return;
    this.#stats.closes += 1;
    this.#events.emit('close', { threadId: connection.threadId, reason });
    if (reason === 'lost' || reason === 'timeout') connection.destroy();
    else await connection.end();
  }

  /**
   * A usable connection for the slot: opened if there is none, replaced if it is known dead, and
   * pinged first when it sat idle long enough to have been closed behind our back and the next
   * statement must not run twice.
   */
  async #ready(slot: Slot, opts: ResolvedOptions, probe: boolean): Promise<DriverConnection> {
    const existing = slot.connection;
    if (existing?.usable()) {
      const idleMs = opts.now() - slot.lastUsedAt;
      if (!probe || idleMs < Math.min(opts.probeIdleMs, opts.zombieMinTimeoutMs / 2)) return existing;
      try {
        this.#stats.probes += 1;
        await existing.ping(Math.min(opts.connectTimeoutMs, Math.max(1, this.#operationDeadline(opts) - opts.now())));
        return existing;
      } catch {
        this.#stats.reconnects += 1;
        this.#events.emit('reconnect', { reason: 'probe-failed', idleMs });
        await this.#closeSlot(slot, 'lost');
      }
    } else if (existing) {
      this.#stats.reconnects += 1;
      this.#events.emit('reconnect', { reason: 'stale-socket', idleMs: opts.now() - slot.lastUsedAt });
      await this.#closeSlot(slot, 'lost');
    }
    slot.connection = await this.#connect(opts);
    return slot.connection;
  }

  /**
   * What the next physical connect uses. When an options function returned a plain `connection`,
   * the function is called again before every connect but the one right after it was resolved, so
   * rotated secrets and expiring IAM tokens are picked up; only its `connection` is taken, the other
   * options stay as first resolved. A `connection` function is itself called on every connect.
   */
  async #connectionSource(opts: ResolvedOptions): Promise<ConnectionSource> {
    if (typeof this.#source !== 'function' || typeof opts.connection === 'function' || this.#optionsFresh) {
      this.#optionsFresh = false;
      return opts.connection;
    }
    return (await this.#source()).connection;
  }

  /** Opens one connection, retrying limit errors with backoff until `maxRetries` or the deadline. */
  async #connect(opts: ResolvedOptions): Promise<DriverConnection> {
    const deadline = this.#operationDeadline(opts);
    const started = opts.now();
    let previousDelay = 0;
    for (let attempt = 0; ; attempt += 1) {
      if (this.#closed) throw new ConnectorClosedError();
      let config: ConnectionConfig;
      try {
        config = await resolveConnection(await this.#connectionSource(opts));
      } catch (error) {
        // A connection function's own typed failure (an IAM token that could not be had) is reported like a failed connect.
        if (!(error instanceof CachefrontMysqlError)) throw error;
        this.#stats.connectErrors += 1;
        throw this.#report(error);
      }
      const remaining = deadline - opts.now();
      let lastError: unknown;
      if (remaining > 0) {
        try {
          const connection = await connectWithin(opts.driver, config, Math.min(opts.connectTimeoutMs, remaining));
          if (opts.sessionIdleTimeoutMs !== undefined) {
            // The server's own guard against zombies: it closes this session after that long idle,
            // even when the fleet is so full that no container can connect to reap it.
            await queryWithin(connection, SET_WAIT_TIMEOUT, [Math.max(1, Math.ceil(opts.sessionIdleTimeoutMs / 1000))], opts.connectTimeoutMs).catch(
              (error: unknown) => {
                connection.destroy();
                throw error;
              },
            );
          }
          this.#stats.connects += 1;
          this.#events.emit('connect', { threadId: connection.threadId, attempts: attempt + 1, durationMs: opts.now() - started });
          return connection;
        } catch (error) {
          lastError = error;
        }
      }
      const info = driverErrorInfo(lastError);
      const cls = lastError === undefined ? undefined : classifyDriverError(lastError);
      if (cls === 'fatal' || cls === 'tls') {
        this.#stats.connectErrors += 1;
        throw this.#report(
          new ConnectError(
            cls === 'tls'
              ? `Could not connect to MySQL over TLS: ${tlsAdvice(info.code, info.errno)}.`
              : 'Could not connect to MySQL; the error is not one that retrying can fix (check `connection` settings and grants).',
            { ...this.#fromDriver(lastError), attempts: attempt + 1 },
          ),
        );
      }
      const delayMs = backoffDelay({ strategy: opts.backoff, baseMs: opts.backoffBaseMs, capMs: opts.backoffCapMs }, attempt, previousDelay, opts.random);
      previousDelay = delayMs;
      if (attempt >= opts.maxRetries || opts.now() + delayMs >= deadline) {
        this.#stats.connectErrors += 1;
        const why = attempt >= opts.maxRetries ? `after ${attempt + 1} attempts (\`maxRetries\` ${opts.maxRetries})` : 'before the deadline';
        const context = { ...this.#fromDriver(lastError), attempts: attempt + 1 };
        const isLimit = isLimitError(info.errno) || info.errno === 1041 || info.errno === 9501;
        throw this.#report(
          isLimit
            ? new ConnectionLimitError(
                `MySQL stayed at its connection limit ${why}; raise \`maxRetries\` or the deadline, or lower \`connUtilization\` so end() frees connections sooner.`,
                context,
              )
            : new ConnectError(`Could not connect to MySQL ${why}.`, context),
        );
      }
      this.#stats.retries += 1;
      if (isLimitError(info.errno)) this.#refusedSinceEnd = true;
      this.#events.emit('retry', { attempt: attempt + 1, delayMs, code: info.code, errno: info.errno });
      await opts.sleep(delayMs);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Statements

  async #statement(statement: SqlStatement, options: StatementOptions, kind: 'rows' | 'write'): Promise<QueryOutput> {
    assertStatement(statement);
    const opts = await this.#resolved();
    this.#refuseNested();
    const idempotent = options.idempotent ?? (kind === 'rows' && looksIdempotent(statement.text));
    const slot = await this.#acquire(opts);
    try {
      let connection = await this.#ready(slot, opts, !idempotent);
      try {
        return await this.#send(connection, statement, this.#statementTimeout(opts, options.timeoutMs), false, opts);
      } catch (error) {
        if (!(error instanceof LostInFlight)) throw this.#wrapStatementError(error, true, idempotent);
        await this.#closeSlot(slot, error.timedOut ? 'timeout' : 'lost');
        if (!idempotent && error.mayHaveReachedServer) {
          throw this.#report(
            error.timedOut
              ? new DeadlineError('The statement timed out; it was not re-run because it may have been applied.', {
                  ...this.#fromDriver(error.cause),
                  mayHaveApplied: true,
                })
              : new ConnectionLostError('The connection was lost while the statement was in flight; it was not re-run because it may have been applied.', {
                  ...this.#fromDriver(error.cause),
                  mayHaveApplied: true,
                }),
          );
        }
        if (error.timedOut) throw this.#report(new DeadlineError('The statement timed out.', { ...this.#fromDriver(error.cause), mayHaveApplied: false }));
        this.#stats.queryRetries += 1;
        this.#stats.reconnects += 1;
        this.#events.emit('reconnect', { reason: 'stale-socket', idleMs: 0 });
        connection = await this.#ready(slot, opts, false);
        try {
          return await this.#send(connection, statement, this.#statementTimeout(opts, options.timeoutMs), true, opts);
        } catch (retryError) {
          if (retryError instanceof LostInFlight) await this.#closeSlot(slot, 'lost');
          throw this.#wrapStatementError(retryError, true, true);
        }
      }
    } finally {
      this.#release(slot, opts);
    }
  }

  /**
   * Sends one statement. A statement that fails because the socket was already closed never left
   * this process, so it is re-sent on a fresh connection by the caller; one lost after sending
   * surfaces as `LostInFlight`.
   */
  async #send(
    connection: DriverConnection,
    statement: SqlStatement,
    timeoutMs: number | undefined,
    retried: boolean,
    opts: ResolvedOptions,
  ): Promise<QueryOutput> {
    const started = opts.now();
    const verb = statementVerb(statement.text);
    this.#stats.queries += 1;
    try {
      const output = await queryWithin(connection, statement.text, statement.values, timeoutMs);
      this.#events.emit('query', { verb, durationMs: opts.now() - started, retried, ok: true });
      return output;
    } catch (error) {
      this.#events.emit('query', { verb, durationMs: opts.now() - started, retried, ok: false });
      const cls = classifyDriverError(error);
      const info = driverErrorInfo(error);
      if (info.code === 'PROTOCOL_SEQUENCE_TIMEOUT') throw new LostInFlight(error, true);
      if (cls === 'stale-socket') throw new LostInFlight(error, false);
      throw error;
    }
  }

  #wrapStatementError(error: unknown, report: boolean, idempotent: boolean): CachefrontMysqlError {
    if (error instanceof CachefrontMysqlError) return error;
    const cause = error instanceof LostInFlight ? error.cause : error;
    const info = driverErrorInfo(cause);
    const wrapped =
      error instanceof LostInFlight
        ? new ConnectionLostError(`The connection was lost while the statement was in flight${idempotent ? ', and again on its retry' : ''}.`, {
            ...this.#fromDriver(cause),
            mayHaveApplied: !idempotent,
          })
        : new QueryError(`MySQL rejected the statement: ${describeDriverError(info)}.`, {
            ...this.#fromDriver(cause),
            retryable: classifyDriverError(cause) === 'statement-retryable',
          });
    return report ? this.#report(wrapped) : wrapped;
  }

  /**
   * What an error built from a driver error keeps of it: the error itself as `cause` (redacted by
   * the error's constructor), its codes, and the server's raw text only when `exposeServerMessages` is on.
   */
  #fromDriver(error: unknown): { cause: unknown; driver: DriverErrorInfo; serverMessage?: string } {
    const cause = unwrapLost(error);
    const context = { cause, driver: driverErrorInfo(cause) };
    if (this.#options?.exposeServerMessages !== true || !(cause instanceof Error) || cause instanceof CachefrontMysqlError) return context;
    return { ...context, serverMessage: cause.message };
  }

  #report<E extends CachefrontMysqlError>(error: E): E {
    this.#stats.errors += 1;
    this.#events.emit('error', { error });
    return error;
  }

  // ---------------------------------------------------------------------------------------------
  // Transactions

  async #begin(slot: Slot, opts: ResolvedOptions, options: TransactionOptions): Promise<DriverConnection> {
    const mode = options.readOnly === true ? ' READ ONLY' : options.readOnly === false ? ' READ WRITE' : '';
    const statements: SqlStatement[] = [];
    if (options.isolationLevel) statements.push(rawStatement(`SET TRANSACTION ISOLATION LEVEL ${ISOLATION_LEVELS[options.isolationLevel]}`));
    statements.push(rawStatement(`START TRANSACTION${mode}`));
    // Nothing has happened yet: a connection lost during BEGIN is replaced once and BEGIN re-sent.
    for (let attempt = 0; ; attempt += 1) {
      const connection = await this.#ready(slot, opts, true);
      try {
        for (const statement of statements) await this.#send(connection, statement, this.#statementTimeout(opts, undefined), attempt > 0, opts);
        return connection;
      } catch (error) {
        if (error instanceof LostInFlight && attempt === 0) {
          await this.#closeSlot(slot, 'lost');
          continue;
        }
        if (error instanceof LostInFlight) await this.#closeSlot(slot, 'lost');
        throw this.#report(
          new TransactionError('The transaction could not begin.', {
            ...this.#fromDriver(error),
            mayHaveCommitted: false,
          }),
        );
      }
    }
  }

  #transactionStatementError(slot: Slot, error: unknown): CachefrontMysqlError {
    if (error instanceof LostInFlight) {
      void this.#closeSlot(slot, error.timedOut ? 'timeout' : 'lost');
      return this.#report(
        new TransactionError('The connection was lost inside the transaction; the server rolls it back, and nothing was re-run on another connection.', {
          ...this.#fromDriver(error.cause),
          mayHaveCommitted: false,
        }),
      );
    }
    return this.#wrapStatementError(error, true, false);
  }

  async #rollback(slot: Slot, connection: DriverConnection, opts: ResolvedOptions): Promise<void> {
    if (!connection.usable()) {
      await this.#closeSlot(slot, 'lost');
      return;
    }
    try {
      await queryWithin(connection, 'ROLLBACK', [], opts.connectTimeoutMs);
    } catch {
      // The server rolls back a transaction whose connection closes; make sure it does close.
      await this.#closeSlot(slot, 'lost');
    }
  }

  async #commit(slot: Slot, connection: DriverConnection, opts: ResolvedOptions): Promise<void> {
    try {
      await this.#send(connection, rawStatement('COMMIT'), this.#statementTimeout(opts, undefined), false, opts);
    } catch (error) {
      const lost = error instanceof LostInFlight;
      if (lost) await this.#closeSlot(slot, 'lost');
      else await this.#rollback(slot, connection, opts);
      throw this.#report(
        new TransactionError(
          lost ? 'The connection was lost during COMMIT; the transaction may or may not have committed.' : 'COMMIT failed; the transaction was rolled back.',
          {
            ...this.#fromDriver(error),
            mayHaveCommitted: lost,
          },
        ),
      );
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Budget and reaping

  async #usage(connection: DriverConnection, opts: ResolvedOptions): Promise<UsageSnapshot> {
    type UsageRow = { id: number | string; command: string; idle: number | string; maxConnections: number | string; maxUserConnections: number | string };
    const timeout = this.#statementTimeout(opts, opts.connectTimeoutMs);
    let rows: UsageRow[];
    try {
      rows = (await queryWithin(connection, this.#processlist.usage, [], timeout)) as UsageRow[];
    } catch (error) {
      if (driverErrorInfo(error).errno !== ER_BAD_FIELD_ERROR || this.#processlist === MYSQL_PROCESSLIST) throw error;
      this.#processlist = MYSQL_PROCESSLIST; // no TIME_MS: MySQL, whole seconds
      rows = (await queryWithin(connection, this.#processlist.usage, [], timeout)) as UsageRow[];
    }
    this.#stats.usageChecks += 1;
    const first = rows[0];
    const limit = first ? connectionLimit(Number(first.maxConnections), Number(first.maxUserConnections)) : 0;
    const unit = this.#processlist.unitMs;
    const threads: ProcessRow[] = rows.map((row) => ({ id: Number(row.id), command: String(row.command), idleMs: Number(row.idle) * unit }));
    return { limit, used: threads.length, threads };
  }

  /** Kills the zombies of a snapshot (at most `atMost`, oldest first), after re-checking each is still ours, asleep and old. */
  async #reap(
    connection: DriverConnection,
    snapshot: UsageSnapshot,
    thresholdMs: number,
    opts: ResolvedOptions,
    atMost = Number.POSITIVE_INFINITY,
  ): Promise<number[]> {
    const own = new Set<number>([...this.#slots].flatMap((slot) => (slot.connection ? [slot.connection.threadId] : [])));
    const candidates = zombieCandidates(snapshot.threads, own, thresholdMs);
    if (candidates.length === 0) return [];
    // Whole units of the dialect, rounded up: never reap younger than the threshold.
    const minimumIdle = Math.ceil(thresholdMs / this.#processlist.unitMs);
    const check = recheck(
      this.#processlist,
      candidates.map((row) => row.id),
      minimumIdle,
    );
    const still = (await queryWithin(connection, check.text, check.values, this.#statementTimeout(opts, opts.connectTimeoutMs))) as Array<{
      id: number | string;
    }>;
    const confirmed = new Set(still.map((row) => Number(row.id)));
    const killed: number[] = [];
    for (const candidate of candidates) {
      if (killed.length >= atMost) break;
      if (!confirmed.has(candidate.id)) continue;
      try {
        await queryWithin(
          connection,
          opts.killMethod === 'rds_kill' ? RDS_KILL_STATEMENT : KILL_STATEMENT,
          [candidate.id],
          this.#statementTimeout(opts, opts.connectTimeoutMs),
        );
        killed.push(candidate.id);
        this.#stats.kills += 1;
        this.#events.emit('kill', { threadId: candidate.id, idleMs: candidate.idleMs });
      } catch (error) {
        const info = driverErrorInfo(error);
        if (info.errno === ER_NO_SUCH_THREAD || info.errno === ER_KILL_DENIED) continue; // a concurrent reaper got there first
        if (classifyDriverError(error) === 'stale-socket') throw error;
        this.#stats.killErrors += 1;
        this.#events.emit('killError', { threadId: candidate.id, code: info.code, errno: info.errno });
      }
    }
    return killed;
  }
}

/**
 * The connector owns time: a driver that hangs (a half-open socket, a frozen peer) cannot hold a
 * statement past its timeout. A timed-out connection is destroyed, since its state is unknown.
 */
function queryWithin(connection: DriverConnection, text: string, values: readonly SqlValue[], timeoutMs: number | undefined): Promise<QueryOutput> {
  if (timeoutMs === undefined) return connection.query(text, values);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      connection.destroy();
      reject(Object.assign(new Error('Statement timed out'), { code: 'PROTOCOL_SEQUENCE_TIMEOUT' }));
    }, timeoutMs);
    connection.query(text, values).then(
      (output) => {
        clearTimeout(timer);
        resolve(output);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Connect with a hard timeout; a connection that arrives after it is closed at once. */
function connectWithin(driver: Driver, config: ConnectionConfig, timeoutMs: number): Promise<DriverConnection> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    driver.connect(config, timeoutMs).then(
      (connection) => {
        clearTimeout(timer);
        if (late) connection.destroy();
        else resolve(connection);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** A statement lost after it may have reached the server (socket closed or timed out mid-flight). */
class LostInFlight extends Error {
  /** False when the driver refused the command because the socket was already closed: it never left. */
  readonly mayHaveReachedServer: boolean;
  constructor(
    override readonly cause: unknown,
    readonly timedOut: boolean,
  ) {
    super('connection lost in flight');
    this.mayHaveReachedServer = !NEVER_SENT.has(driverErrorInfo(cause).code ?? '');
  }
}

/** 1040 / 1203 / 1226: the server or the account is at its connection limit. */
const isLimitError = (errno: number | undefined) => errno === 1040 || errno === 1203 || errno === 1226;

/** Driver codes meaning the command was refused locally, before anything was written to the socket. */
const NEVER_SENT = new Set(['CONNECTION_CLOSED', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'PROTOCOL_ENQUEUE_AFTER_QUIT']);

function unwrapLost(error: unknown): unknown {
  return error instanceof LostInFlight ? error.cause : error;
}

const rawStatement = (text: string): SqlStatement => sql.raw(text);

function assertStatement(statement: unknown): asserts statement is SqlStatement {
  if (!isSqlStatement(statement)) {
    throw new StatementError('Statements must be built with the `sql` tag (or sql.raw()), so values travel as parameters.');
  }
}

/** Creates a connector. No I/O happens until the first statement. */
export function createConnector(options: ConnectorOptions | (() => ConnectorOptions | Promise<ConnectorOptions>)): Connector {
  return new Connector(options);
}
