/**
 * The connector as `@cachefront/core` needs a database (its `DatabasePort`, matched structurally,
 * so this package does not depend on core): transactions, `end()`, which errors mean "the database
 * is unavailable" or "may have committed", and the outbox table where a write records its tags in
 * its own transaction. Core itself knows no SQL and no error code.
 *
 * ```ts
 * const layer = createDataLayer({ cache, database: mysqlDatabase(connector) });
 * ```
 */
import type { Connector } from './connector.js';
import type { DeadlineSource } from './deadline.js';
import { ConnectError, ConnectionLimitError, ConnectionLostError, DeadlineError, OptionsError, TransactionError } from './errors.js';
import { ReadRouting, type ReadRoutingOptions, type RoutingContext } from './readers.js';
import { sql } from './sql.js';
import type { Transaction } from './transaction.js';

export interface MysqlDatabaseOptions {
  /**
   * Table recording each write's tags in the write's own transaction, removed once they are
   * invalidated; `false` keeps pending tags in memory only. Create it with `layer.migrate()`.
   * @default 'cachefront_outbox'
   */
  readonly outboxTable?: string | false;
  /**
   * Read replicas for repository loads, with lag-safe fills (readers.ts): `{ readers: [connector,
   * ...], lagSafety, lagWindowMs, positionWaitMs, readerRetryMs }`. Writes, transactions and the
   * outbox use the writer.
   * @default none: every load reads the writer
   */
  readonly replicas?: ReadRoutingOptions;
}

/** An outbox row as read back. */
export interface MysqlOutboxRow {
  readonly id: number;
  readonly tags: unknown;
}

/** The outbox in a MySQL table: one row per write, its tags as a JSON list. */
export interface MysqlOutbox {
  record(tx: Transaction, tags: readonly string[]): Promise<number>;
  page(afterId: number, limit: number): Promise<MysqlOutboxRow[]>;
  forget(ids: readonly number[]): Promise<void>;
  migrate(): Promise<void>;
}

export interface MysqlDatabase {
  /** What loaders receive: the connector (the writer). */
  readonly client: Connector;
  /**
   * The connector a load reads from: a reader (once it has applied the entry's invalidations'
   * positions), or the writer when the reader could not be trusted with this entry yet.
   */
  clientFor(context: RoutingContext): Connector | Promise<Connector>;
  /** After a write's COMMIT: the position its invalidation records for the readers' position waits; undefined without them. */
  writePosition(): Promise<string | undefined>;
  /** Whether a load's failure on `client` should be retried on the writer: a reader that could not be reached. */
  retryOnWriter(client: Connector, error: unknown): boolean;
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
  end(): Promise<unknown>;
  useContext(context: DeadlineSource): void;
  isUnavailable(error: unknown): boolean;
  mayHaveCommitted(error: unknown): boolean;
  readonly outbox: MysqlOutbox | undefined;
}

const TABLE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Errors after which a value inside its grace period is better than no value: the server could not
 * be reached or stayed full, the connection was lost, or the invocation ran out of time.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  return error instanceof ConnectionLimitError || error instanceof ConnectError || error instanceof ConnectionLostError || error instanceof DeadlineError;
}

/** Whether `error` says its transaction may have committed (the connection was lost during COMMIT). */
export function mayHaveCommitted(error: unknown): boolean {
  return error instanceof TransactionError && error.mayHaveCommitted;
}

function mysqlOutbox(connector: Connector, table: string): MysqlOutbox {
  const name = sql.id(table);
  return {
    async record(tx, tags) {
      const header = await tx.execute(sql`INSERT INTO ${name} (tags) VALUES (${JSON.stringify(tags)})`);
      return header.insertId;
    },
    async page(afterId, limit) {
      const rows = await connector.query<{ id: number | string; tags: unknown }>(
        sql`SELECT id, tags FROM ${name} WHERE id > ${afterId} ORDER BY id LIMIT ${limit}`,
      );
      return rows.map((row) => ({ id: Number(row.id), tags: row.tags }));
    },
    async forget(ids) {
      if (ids.length > 0) await connector.execute(sql`DELETE FROM ${name} WHERE id IN (${sql.list([...ids])})`);
    },
    async migrate() {
      await connector.execute(
        sql`CREATE TABLE IF NOT EXISTS ${name} (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, tags TEXT NOT NULL, created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB`,
      );
    },
  };
}

/** The connector as a database for `createDataLayer({ cache, database })`. */
export function mysqlDatabase(connector: Connector, options: MysqlDatabaseOptions = {}): MysqlDatabase {
  const table = options.outboxTable ?? 'cachefront_outbox';
  if (table !== false && (typeof table !== 'string' || !TABLE.test(table))) throw new OptionsError('`outboxTable` must be a plain table name, or false.');
  const routing = new ReadRouting(connector, options.replicas ?? { readers: [] });
  return {
    client: connector,
    clientFor: (context) => routing.for(context),
    writePosition: () => routing.writePosition(),
    retryOnWriter: (client, error) => routing.isReader(client) && isDatabaseUnavailable(error),
    transaction: (work) => connector.transaction(work),
    // Every endpoint's housekeeping: each has its own connection and budget.
    end: () => Promise.all(routing.all.map((endpoint) => endpoint.end())),
    useContext: (context) => {
      for (const endpoint of routing.all) endpoint.useContext(context);
    },
    isUnavailable: isDatabaseUnavailable,
    mayHaveCommitted,
    outbox: table === false ? undefined : mysqlOutbox(connector, table),
  };
}
