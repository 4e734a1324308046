/**
 * What core needs of the cache and of the database, declared here so core imports neither package:
 * `@cachefront/cache`'s `Cache` and `@cachefront/mysql`'s `Connector` satisfy these structurally,
 * and unit tests hand in the in-memory cache and a fake database.
 */

export type Freshness = 'fresh' | 'stale' | 'miss';

export interface CacheResultPort<T> {
  readonly value: T;
  readonly status: Freshness;
}

export interface LoadContextPort {
  /** The newest invalidation of the entry's tags (this process's clock): a loader reading a replica should read the writer when it is recent. */
  readonly lastInvalidatedAt: number | undefined;
  /** The replication positions those invalidations recorded (the writes' GTIDs). */
  readonly positions?: readonly string[];
  /** The newest of those invalidations that recorded no position. */
  readonly lastUnpositionedAt?: number | undefined;
  /** False when the invalidations are unknown (the cache was bypassed or is not trusted): only the writer is safe. */
  readonly invalidationsKnown?: boolean;
}

export interface EntityPort<P, T> {
  get(
    params: P,
    load: (params: P, context: LoadContextPort) => Promise<T>,
    options?: { failSafe?: boolean | ((error: unknown) => boolean) },
  ): Promise<CacheResultPort<T>>;
  getMany(
    list: readonly P[],
    loadMany: (params: readonly P[], context: LoadContextPort) => Promise<readonly T[]>,
    options?: { failSafe?: boolean | ((error: unknown) => boolean) },
  ): Promise<CacheResultPort<T>[]>;
}

export interface CachePort {
  entity<P, T>(options: {
    name: string;
    version?: number;
    ttlMs: number;
    graceMs?: number;
    tags?: (params: P) => readonly string[];
    valueTags?: (value: T, params: P) => readonly string[];
    validate?: (value: unknown) => T;
    staleWhileWaiting?: boolean;
    refreshAhead?: boolean | { beta?: number; timeoutMs?: number };
  }): EntityPort<P, T>;
  /**
   * Throws when Redis cannot be reached; the error is never swallowed. `position`: the database's
   * replication position after the write, for the readers' position waits.
   */
  invalidate(tags: readonly string[], options?: { position?: string }): Promise<void>;
  /** Throws a typed error, touching nothing, when a tag could never be stored or invalidated (a lone surrogate, an empty string, ...). */
  validateTags(tags: readonly string[]): void;
  /**
   * Resolves once the cache's background work (refresh-ahead's early reloads) is done or past its
   * wait; never rejects. Awaited at the end of every invocation. Optional: a cache without it has none.
   */
  idle?(): Promise<void>;
  /** Subscribes to the cache's trouble events ('bypass', 'timeout', 'error') and to its Redis connection coming back ('reconnect'). */
  on(event: 'bypass' | 'timeout' | 'error' | 'reconnect', listener: (payload: unknown) => void): () => void;
}

export interface DeadlineSource {
  getRemainingTimeInMillis(): number;
}

/**
 * What core needs of a database: transactions, the per-invocation housekeeping, how to read its
 * errors, and where a write records its tags in its own transaction. Core knows no SQL and no error
 * code: `mysqlDatabase(connector)` of `@cachefront/mysql` provides all of it.
 *
 * `Client` is what loaders receive as their first argument (the connector); `Tx` what a write's
 * work receives (its transaction).
 */
export interface DatabasePort<Client, Tx> {
  /** Handed to every loader: the database's own client, fully typed. */
  readonly client: Client;
  /**
   * Optional: the client a load reads from (a read replica, or the writer after a recent
   * invalidation); a promise while it waits for a replica to apply a write. @default `client`
   */
  clientFor?(context: LoadContextPort): Client | Promise<Client>;
  /** Optional: after a write's COMMIT, the replication position its invalidation records. @default none */
  writePosition?(): Promise<string | undefined>;
  /** Optional: whether a load that failed on `client` (a reader) is loaded again on the writer. @default never */
  retryOnWriter?(client: Client, error: unknown): boolean;
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** After every invocation: utilization check, reaping. */
  end(): Promise<unknown>;
  /** Deadlines for this invocation, from a Lambda context. */
  useContext?(context: DeadlineSource): void;
  /** Whether the database is unavailable, so a value inside its grace period is better than this error. */
  isUnavailable(error: unknown): boolean;
  /** Whether the error says its transaction may have committed (the connection was lost during COMMIT). */
  mayHaveCommitted(error: unknown): boolean;
  /** Where writes record their tags, in their own transaction, until invalidated; undefined: in memory only. */
  readonly outbox: OutboxStore<Tx> | undefined;
}

/** An outbox row as read back: its id, and its tags as stored (decoded and checked by core). */
export interface OutboxRow {
  readonly id: number;
  readonly tags: unknown;
}

/** A table of committed writes' tags that are not known to be invalidated yet. */
export interface OutboxStore<Tx> {
  /** Records `tags` inside the write's transaction; returns the row's id. */
  record(tx: Tx, tags: readonly string[]): Promise<number>;
  /** Rows with an id above `afterId`, oldest first, at most `limit`. */
  page(afterId: number, limit: number): Promise<readonly OutboxRow[]>;
  /** Removes rows whose tags were invalidated. */
  forget(ids: readonly number[]): Promise<void>;
  /** Creates the table if it does not exist. */
  migrate(): Promise<void>;
}
