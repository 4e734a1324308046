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
  /** The newest invalidation of the entry's tags: a loader reading a replica should read the writer when it is recent. */
  readonly lastInvalidatedAt: number | undefined;
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
  }): EntityPort<P, T>;
  /** Throws when Redis cannot be reached; the error is never swallowed. */
  invalidate(tags: readonly string[]): Promise<void>;
  /** Throws a typed error, touching nothing, when a tag could never be stored or invalidated (a lone surrogate, an empty string, ...). */
  validateTags(tags: readonly string[]): void;
  /** Subscribes to the cache's trouble events ('bypass', 'timeout', 'error') and to its Redis connection coming back ('reconnect'). */
  on(event: 'bypass' | 'timeout' | 'error' | 'reconnect', listener: (payload: unknown) => void): () => void;
}

/** Runs statements built by `StatementBuilder`; `@cachefront/mysql`'s connector and its transactions both qualify. */
export interface SqlRunner<S> {
  query(statement: S): Promise<unknown[]>;
  execute(statement: S): Promise<unknown>;
}

export interface DeadlineSource {
  getRemainingTimeInMillis(): number;
}

export interface DatabasePort<S, Tx extends SqlRunner<S>> extends SqlRunner<S> {
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** After every invocation: utilization check, reaping (see @cachefront/mysql). */
  end(): Promise<unknown>;
  useContext?(context: DeadlineSource): void;
}

/** Builds a parameterized statement: pass `sql` from `@cachefront/mysql` (its `raw`). */
export interface StatementBuilder<S> {
  raw(text: string, values?: readonly unknown[]): S;
}
