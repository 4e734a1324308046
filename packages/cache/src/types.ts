/** How a value was served: from the cache and fresh, from the cache past its freshness (opt-in grace), or loaded. */
export type Freshness = 'fresh' | 'stale' | 'miss';

export interface CacheResult<T> {
  readonly value: T;
  readonly status: Freshness;
}

/** What a loader learns about the entry it fills. */
export interface LoadContext {
  /**
   * The newest invalidation time among the entry's tags, if any: epoch ms in this process's clock
   * (taken on the store's clock, so another container's skew does not shift it). A loader that reads
   * from a replica should read from the writer when this is recent (a lag window).
   */
  readonly lastInvalidatedAt: number | undefined;
  /**
   * The replication positions (GTID sets) the writes behind those invalidations recorded: a replica
   * that has applied them all holds rows at least as new as the invalidations (a position wait).
   */
  readonly positions: readonly string[];
  /** The newest of those invalidations that recorded no position (`cache.invalidate()` without one, a replayed outbox row). */
  readonly lastUnpositionedAt: number | undefined;
  /**
   * False when the tags' tokens could not be read (Redis was bypassed): what was invalidated, and
   * when, is unknown, so a loader reading a replica should read the writer.
   */
  readonly invalidationsKnown: boolean;
}

/** Loads many parameter sets at once; returns the values in the same order. */
export type LoadMany<P, T> = (params: readonly P[], context: LoadContext) => Promise<readonly T[]>;

export interface GetOptions {
  /**
   * When the loader throws and an entry inside its grace period exists, return it as `stale` instead
   * of throwing — for every error, or for the errors the function accepts (e.g. database unavailable).
   * @default false
   */
  failSafe?: boolean | ((error: unknown) => boolean);
}

/**
 * Counters since the cache was made. Every read (each parameter set of a `getMany`, each caller of a
 * `get` that shared another's attempt in this process) is exactly one of `hits`, `stale` and `misses`.
 */
export interface CacheStats {
  /** Reads answered `fresh` from the cache. */
  hits: number;
  /** Reads answered `stale`: a value inside its grace period, for a failing loader (`failSafe`) or after waiting (`staleWhileWaiting`). */
  stale: number;
  /** Reads answered `miss`: by the loader, however long they waited for a lease holder before, and when Redis was bypassed. */
  misses: number;
  loads: number;
  fills: number;
  fillsRejected: number;
  /** Reads that waited for another process's lease holder (then answered by its fill, their own load, or stale). */
  leaseWaits: number;
  /**
   * Reads that waited for a loader: their own load, a lease holder's, or the load of the read they
   * shared in this process. `loaderWaits / (hits + stale + misses)` is the share of reads a loader slowed.
   */
  loaderWaits: number;
  /** Early refreshes run (refresh-ahead): loads of entries still fresh, while their readers were answered from the cache. */
  refreshes: number;
  timeouts: number;
  errors: number;
  bypasses: number;
  /** Entries that could not be decoded (corrupt, an older format, a header with an unusable tag): misses, overwritten by the next fill. */
  decodeErrors: number;
  /** Entries whose header names another key (copied from another parameter set, entity or version): misses, overwritten by the next fill. */
  mismatches: number;
  /** Reads, deletes and invalidations refused with `CacheKeyError` (invalid parameters or tags), before any I/O. */
  keyErrors: number;
  /** Times the connection to Redis came back after it was lost (`reconnect` events). */
  reconnects: number;
  oversize: number;
  invalidations: number;
  /** Connection attempts the client reported failed for TLS (a refused certificate or handshake). */
  tlsErrors: number;
  /** Logins refused (WRONGPASS, NOAUTH), and calls refused for a missing permission (NOPERM). */
  authErrors: number;
  /** Connection attempts refused or lost (ECONNREFUSED, ECONNRESET, ...), and calls failed by the network. */
  networkErrors: number;
}
