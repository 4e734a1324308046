import type { Context } from './context.js';
import type { DriverConnection, QueryOutput, WriteResult } from './driver/driver.js';
import { ConnectionLostError, DeadlineError, StatementError } from './errors.js';
import { LostInFlight, socketGone } from './failures.js';
import type { Opener } from './opener.js';
import type { SlotPool } from './slot-pool.js';
import { isSqlStatement, looksIdempotent, type SqlStatement, statementVerb } from './sql.js';
import { queryWithin } from './timeouts.js';

export type Row = Record<string, unknown>;

export interface StatementOptions {
  /** Timeout of this statement; the invocation deadline still applies. @default undefined (`queryTimeoutMs`) */
  timeoutMs?: number;
  /**
   * Whether the statement may run twice. Plain SELECT / SHOW are detected as idempotent and retried
   * once after a lost connection; anything else is never re-sent once it may have reached the server.
   * @default true for a plain SELECT / SHOW run with query(), false otherwise
   */
  idempotent?: boolean;
}

/** What a statement returns: rows, or the header of a write. */
export interface Outputs {
  rows: Row[];
  write: WriteResult;
}
export type OutputKind = keyof Outputs;

const MISMATCH = {
  connector: {
    rows: 'query() ran a statement that returns no rows; use execute() for INSERT / UPDATE / DELETE.',
    write: 'execute() ran a statement that returns rows; use query() for SELECT.',
  },
  transaction: {
    rows: 'tx.query() ran a statement that returns no rows; use tx.execute().',
    write: 'tx.execute() ran a statement that returns rows; use tx.query().',
  },
} as const;

/** The rows-vs-write check of query() / execute() and of a transaction's tx.query() / tx.execute(). */
export function outputOf<K extends OutputKind>(output: QueryOutput, kind: K, caller: keyof typeof MISMATCH): Outputs[K] {
  if (Array.isArray(output) !== (kind === 'rows')) throw new StatementError(MISMATCH[caller][kind]);
  return output as Outputs[K];
}

export function assertStatement(statement: unknown): asserts statement is SqlStatement {
  if (!isSqlStatement(statement)) {
    throw new StatementError('Statements must be built with the `sql` tag (or sql.raw()), so values travel as parameters.');
  }
}

/**
 * Sends statements: each under its timeout, an idempotent read retried once on a fresh connection
 * after a loss, and a write never re-sent once it may have reached the server (invariant 5).
 */
export class StatementRunner {
  constructor(
    private readonly ctx: Context,
    private readonly pool: SlotPool,
    private readonly opener: Opener,
  ) {}

  /** Runs one statement outside any transaction, on a connection of its own for its duration. */
  async run<K extends OutputKind>(statement: SqlStatement, options: StatementOptions, kind: K): Promise<Outputs[K]> {
    this.ctx.scope.refuseNested();
    return outputOf(await this.#run(statement, options, kind), kind, 'connector');
  }

  async #run(statement: SqlStatement, options: StatementOptions, kind: OutputKind): Promise<QueryOutput> {
    const { bounds, failures, stats } = this.ctx;
    const idempotent = options.idempotent ?? (kind === 'rows' && looksIdempotent(statement.text));
    const slot = await this.pool.acquire();
    try {
      const connection = await this.opener.ready(slot, !idempotent);
      try {
        return await this.send(connection, statement, bounds.statement(options.timeoutMs), false);
      } catch (error) {
        if (!(error instanceof LostInFlight)) throw failures.raise(error, idempotent);
        await this.pool.close(slot, error.timedOut ? 'timeout' : 'lost');
        if (!idempotent && error.mayHaveReachedServer) {
          const context = { ...failures.context(error), mayHaveApplied: true };
          throw failures.report(
            error.timedOut
              ? new DeadlineError('The statement timed out; it was not re-run because it may have been applied.', context)
              : new ConnectionLostError(
                  'The connection was lost while the statement was in flight; it was not re-run because it may have been applied.',
                  context,
                ),
          );
        }
        if (error.timedOut) throw failures.report(new DeadlineError('The statement timed out.', { ...failures.context(error), mayHaveApplied: false }));
        stats.queryRetries += 1;
        this.opener.reconnecting('stale-socket', 0);
      }
      const fresh = await this.opener.ready(slot, false);
      try {
        return await this.send(fresh, statement, bounds.statement(options.timeoutMs), true);
      } catch (retryError) {
        if (retryError instanceof LostInFlight) await this.pool.close(slot, 'lost');
        throw failures.raise(retryError, true);
      }
    } finally {
      this.pool.release(slot);
    }
  }

  /**
   * Sends one statement. A statement that fails because the socket was already closed never left
   * this process, so it may be re-sent on a fresh connection by the caller; one lost after sending,
   * or timed out, surfaces as `LostInFlight`.
   */
  async send(connection: DriverConnection, statement: SqlStatement, timeoutMs: number | undefined, retried: boolean): Promise<QueryOutput> {
    const { opts, stats, events, failures } = this.ctx;
    const started = opts.now();
    const verb = statementVerb(statement.text);
    stats.queries += 1;
    try {
      const output = await queryWithin(connection, statement.text, statement.values, timeoutMs);
      events.emit('query', { verb, durationMs: opts.now() - started, retried, ok: true });
      return output;
    } catch (error) {
      events.emit('query', { verb, durationMs: opts.now() - started, retried, ok: false });
      const { kind } = failures.classify(error);
      if (kind === 'timeout') throw new LostInFlight(error, true, true);
      if (socketGone(kind)) throw new LostInFlight(error, false, kind !== 'never-sent');
      throw error;
    }
  }
}
