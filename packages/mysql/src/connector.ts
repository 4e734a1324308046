import { Emitter } from '@cachefront/common';
import type { Context, Shared } from './context.js';
import { Bounds, Deadline, type DeadlineSource } from './deadline.js';
import type { WriteResult } from './driver/driver.js';
import { ConnectorClosedError } from './errors.js';
import { CHANNEL_PREFIX, type ConnectorEvents } from './events.js';
import { Failures } from './failures.js';
import { LeaseKeeper } from './fleet/lease-keeper.js';
import { type EndResult, Housekeeping, NOT_CHECKED } from './housekeeping.js';
import { Opener } from './opener.js';
import type { ConnectorOptions, ResolvedOptions } from './options.js';
import { OptionsSource } from './options-source.js';
import { ProcesslistPolicy } from './processlist-policy.js';
import { Reaper, type ReapOptions, type ReapResult } from './reaper.js';
import { SlotPool } from './slot-pool.js';
import type { SqlStatement } from './sql.js';
import { assertStatement, type Row, type StatementOptions, StatementRunner } from './statement-runner.js';
import { type ConnectorStats, createStats } from './stats.js';
import { type Transaction, type TransactionOptions, TransactionScope, Transactions } from './transaction.js';

/** The connector's working parts, built once its options are resolved. */
interface Runtime {
  readonly pool: SlotPool;
  readonly runner: StatementRunner;
  readonly transactions: Transactions;
  readonly reaper: Reaper;
  readonly housekeeping: Housekeeping;
}

function createRuntime(shared: Shared, opts: ResolvedOptions, source: OptionsSource): Runtime {
  const base = { ...shared, opts, bounds: new Bounds(opts, shared.deadline), failures: new Failures(opts, shared.events, shared.stats) };
  const ctx: Context = { ...base, leases: opts.budget && new LeaseKeeper(base, opts.budget) };
  const pool = new SlotPool(ctx);
  const opener = new Opener(ctx, pool, source);
  const runner = new StatementRunner(ctx, pool, opener);
  const reaper = new Reaper(ctx, pool, opener);
  // The end policy for connections without a lease: the processlist one (with a fleet budget,
  // `end()` consults the lease instead, and falls back to this when the budget's store is down).
  const policy = new ProcesslistPolicy(ctx, reaper);
  return { pool, runner, reaper, transactions: new Transactions(ctx, pool, opener, runner), housekeeping: new Housekeeping(ctx, pool, opener, policy) };
}

/**
 * A managed MySQL connector for serverless functions. Create it in module scope (no I/O happens),
 * run statements in the handler, call `end()` after each invocation.
 */
export class Connector implements AsyncDisposable {
  readonly #source: OptionsSource;
  readonly #shared: Shared = {
    events: new Emitter<ConnectorEvents>(CHANNEL_PREFIX),
    stats: createStats(),
    deadline: new Deadline(),
    lifecycle: { closed: false },
    scope: new TransactionScope(),
  };
  #runtime: Runtime | undefined;

  constructor(options: ConnectorOptions | (() => ConnectorOptions | Promise<ConnectorOptions>)) {
    this.#source = new OptionsSource(options);
    const opts = this.#source.current;
    if (opts) this.#runtime = createRuntime(this.#shared, opts, this.#source);
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  readonly on: Emitter<ConnectorEvents>['on'] = (event, listener) => this.#shared.events.on(event, listener);
  readonly off: Emitter<ConnectorEvents>['off'] = (event, listener) => this.#shared.events.off(event, listener);

  /** Counters since creation. */
  stats(): ConnectorStats {
    return { ...this.#shared.stats, openConnections: this.#runtime?.pool.openConnections() ?? 0 };
  }

  /**
   * Sets the time by which every operation of this invocation must end. `end()` clears it.
   * `useContext(context)` does the same from a Lambda context.
   */
  setDeadline(epochMs: number | undefined): void {
    this.#shared.deadline.at = epochMs;
  }

  useContext(context: DeadlineSource): void {
    const now = this.#source.current?.now ?? Date.now;
    this.#shared.deadline.at = now() + context.getRemainingTimeInMillis();
  }

  /** Runs a statement and returns its rows. */
  async query<T extends Row = Row>(statement: SqlStatement, options: StatementOptions = {}): Promise<T[]> {
    assertStatement(statement);
    return (await (await this.#use()).runner.run(statement, options, 'rows')) as T[];
  }

  /** Runs a statement that changes data and returns its header (affected rows, insert id). */
  async execute(statement: SqlStatement, options: StatementOptions = {}): Promise<WriteResult> {
    assertStatement(statement);
    return (await this.#use()).runner.run(statement, options, 'write');
  }

  /**
   * Runs `work` inside one transaction on one connection: COMMIT when it returns, ROLLBACK when it
   * throws. Nothing in it is ever re-run, nor moved to another connection: if the connection is lost,
   * the transaction fails with a `TransactionError` saying whether it may have committed.
   */
  async transaction<T>(work: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return (await this.#use()).transactions.run(work, options);
  }

  /**
   * Call after every invocation (the core wrapper does). Clears the deadline. After an invocation
   * that never used the database it does nothing at all.
   * - With a `budget`: sends nothing to the database. When other containers wait for a slot (the
   *   last renewal said so), it closes this container's connection and hands its slot over;
   *   otherwise it keeps the connection warm.
   * - Without one (or while the budget's store is down): reads utilization; above
   *   `connUtilization` it reaps zombies and, when that is not enough, closes this container's own
   *   connection. Also kills this user's connections idle longer than `zombieMaxTimeoutMs`.
   * (`end()` and `quit()` keep serverless-mysql's names on purpose.)
   */
  async end(): Promise<EndResult> {
    try {
      if (this.#shared.lifecycle.closed || this.#runtime === undefined) return NOT_CHECKED;
      return await this.#runtime.housekeeping.end();
    } finally {
      this.#shared.deadline.at = undefined;
    }
  }

  /**
   * Kills this user's sleeping connections idle at least `olderThanMs` (by default the adaptive
   * threshold). For a scheduled cleanup function, outside the request path. Off behind RDS Proxy.
   */
  async reap(options: ReapOptions = {}): Promise<ReapResult> {
    return (await this.#use()).reaper.reap(options);
  }

  /** Closes every connection and refuses further use. Awaits the sockets' close. */
  async quit(): Promise<void> {
    this.#shared.lifecycle.closed = true;
    await this.#runtime?.pool.closeAll();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.quit();
  }

  /** The runtime, once the options are resolved; refused after `quit()`. */
  async #use(): Promise<Runtime> {
    if (this.#shared.lifecycle.closed) throw new ConnectorClosedError();
    const opts = await this.#source.resolve();
    this.#runtime ??= createRuntime(this.#shared, opts, this.#source);
    return this.#runtime;
  }
}

/** Creates a connector. No I/O happens until the first statement. */
export function createConnector(options: ConnectorOptions | (() => ConnectorOptions | Promise<ConnectorOptions>)): Connector {
  return new Connector(options);
}
