import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from './context.js';
import type { DriverConnection, WriteResult } from './driver/driver.js';
import { type CachefrontMysqlError, StatementError, TransactionError } from './errors.js';
import { LostInFlight } from './failures.js';
import type { Opener } from './opener.js';
import type { Slot, SlotPool } from './slot-pool.js';
import { type SqlStatement, sql } from './sql.js';
import { assertStatement, type OutputKind, type Outputs, outputOf, type Row, type StatementOptions, type StatementRunner } from './statement-runner.js';
import { ISOLATION_LEVELS, type IsolationLevel } from './statements.js';
import { queryWithin } from './timeouts.js';

export interface TransactionOptions {
  /** @default undefined (the session's, usually REPEATABLE READ) */
  isolationLevel?: IsolationLevel;
  /** START TRANSACTION READ ONLY (true) or READ WRITE (false). @default undefined (the server's default) */
  readOnly?: boolean;
}

/** The statements of one transaction, all on one connection. Later statements may use earlier results. */
export interface Transaction {
  query<T extends Row = Row>(statement: SqlStatement, options?: Pick<StatementOptions, 'timeoutMs'>): Promise<T[]>;
  execute(statement: SqlStatement, options?: Pick<StatementOptions, 'timeoutMs'>): Promise<WriteResult>;
}

/** Which connector's transaction the current async context runs in, so a statement on the connector itself is refused instead of waiting for the slot its own transaction holds. */
export class TransactionScope {
  readonly #inside = new AsyncLocalStorage<true>();

  run<T>(work: () => Promise<T>): Promise<T> {
    return this.#inside.run(true, work);
  }

  refuseNested(): void {
    if (this.#inside.getStore() === true) {
      throw new StatementError('A statement was run on the connector inside its own transaction; use the `tx` argument instead.');
    }
  }
}

/**
 * Transactions: BEGIN (re-sent once on a connection found dead, since nothing has run yet), the
 * caller's statements on that one connection, COMMIT or ROLLBACK. Nothing of a transaction is ever
 * re-run, nor moved to another connection (invariant 5).
 */
export class Transactions {
  constructor(
    private readonly ctx: Context,
    private readonly pool: SlotPool,
    private readonly opener: Opener,
    private readonly runner: StatementRunner,
  ) {}

  async run<T>(work: (tx: Transaction) => Promise<T>, options: TransactionOptions): Promise<T> {
    const { scope, stats } = this.ctx;
    scope.refuseNested();
    if (options.isolationLevel !== undefined && !(options.isolationLevel in ISOLATION_LEVELS)) {
      throw new StatementError(`Unknown isolationLevel; use one of: ${Object.keys(ISOLATION_LEVELS).join(', ')}.`);
    }
    const slot = await this.pool.acquire();
    let finished = false;
    try {
      const connection = await this.#begin(slot, options);
      const send = <K extends OutputKind>(statement: SqlStatement, kind: K, timeoutMs: number | undefined): Promise<Outputs[K]> => {
        if (finished) throw new StatementError('This transaction has already ended; run statements inside its callback.');
        return this.#statement(slot, connection, statement, kind, timeoutMs);
      };
      const tx: Transaction = {
        query: async <R extends Row = Row>(statement: SqlStatement, o?: { timeoutMs?: number }) => (await send(statement, 'rows', o?.timeoutMs)) as R[],
        execute: async (statement: SqlStatement, o?: { timeoutMs?: number }) => send(statement, 'write', o?.timeoutMs),
      };
      let result: T;
      try {
        result = await scope.run(() => work(tx));
      } catch (error) {
        finished = true;
        await this.#rollback(slot, connection);
        throw error;
      }
      finished = true;
      await this.#commit(slot, connection);
      stats.transactions += 1;
      return result;
    } finally {
      finished = true;
      this.pool.release(slot);
    }
  }

  async #statement<K extends OutputKind>(
    slot: Slot,
    connection: DriverConnection,
    statement: SqlStatement,
    kind: K,
    timeoutMs: number | undefined,
  ): Promise<Outputs[K]> {
    assertStatement(statement);
    if (!connection.usable()) {
      throw new TransactionError('The connection was lost inside the transaction; it was rolled back by the server and nothing was re-run.', {
        mayHaveCommitted: false,
      });
    }
    const output = await this.runner.send(connection, statement, this.ctx.bounds.statement(timeoutMs), false).catch((error: unknown) => {
      throw this.#statementError(slot, error);
    });
    return outputOf(output, kind, 'transaction');
  }

  async #begin(slot: Slot, options: TransactionOptions): Promise<DriverConnection> {
    const { bounds, failures } = this.ctx;
    const mode = options.readOnly === true ? ' READ ONLY' : options.readOnly === false ? ' READ WRITE' : '';
    const statements: SqlStatement[] = [];
    if (options.isolationLevel) statements.push(sql.raw(`SET TRANSACTION ISOLATION LEVEL ${ISOLATION_LEVELS[options.isolationLevel]}`));
    statements.push(sql.raw(`START TRANSACTION${mode}`));
    // Nothing has happened yet: a connection lost during BEGIN is replaced once and BEGIN re-sent.
    for (let attempt = 0; ; attempt += 1) {
      const connection = await this.opener.ready(slot, true);
      try {
        for (const statement of statements) await this.runner.send(connection, statement, bounds.statement(undefined), attempt > 0);
        return connection;
      } catch (error) {
        if (error instanceof LostInFlight) await this.pool.close(slot, 'lost');
        if (error instanceof LostInFlight && attempt === 0) continue;
        throw failures.report(new TransactionError('The transaction could not begin.', { ...failures.context(error), mayHaveCommitted: false }));
      }
    }
  }

  #statementError(slot: Slot, error: unknown): CachefrontMysqlError {
    const { failures } = this.ctx;
    if (!(error instanceof LostInFlight)) return failures.raise(error, false);
    void this.pool.close(slot, error.timedOut ? 'timeout' : 'lost');
    return failures.report(
      new TransactionError('The connection was lost inside the transaction; the server rolls it back, and nothing was re-run on another connection.', {
        ...failures.context(error),
        mayHaveCommitted: false,
      }),
    );
  }

  async #rollback(slot: Slot, connection: DriverConnection): Promise<void> {
    if (!connection.usable()) {
      await this.pool.close(slot, 'lost');
      return;
    }
    try {
      await queryWithin(connection, 'ROLLBACK', [], this.ctx.opts.adminTimeoutMs);
    } catch {
      // The server rolls back a transaction whose connection closes; make sure it does close.
      await this.pool.close(slot, 'lost');
    }
  }

  async #commit(slot: Slot, connection: DriverConnection): Promise<void> {
    const { bounds, failures } = this.ctx;
    try {
      await this.runner.send(connection, sql.raw('COMMIT'), bounds.statement(undefined), false);
    } catch (error) {
      const lost = error instanceof LostInFlight;
      if (lost) await this.pool.close(slot, 'lost');
      else await this.#rollback(slot, connection);
      const message = lost
        ? 'The connection was lost during COMMIT; the transaction may or may not have committed.'
        : 'COMMIT failed; the transaction was rolled back.';
      throw failures.report(new TransactionError(message, { ...failures.context(error), mayHaveCommitted: lost }));
    }
  }
}
