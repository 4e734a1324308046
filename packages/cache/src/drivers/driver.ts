/**
 * The seam between the cache and a store. The cache decides (freshness, leases, tags); a driver
 * only moves bytes, with these guarantees, which the contract suite (`@cachefront/cache/testing`,
 * src/testing/driver-contract.ts) checks against every driver:
 *
 * - `read` returns the values of `keys` and the tokens of `tagKeys`, in order, null where absent.
 * - `acquireLeases` sets each lease key to `token` only where it is absent (NX), with a TTL.
 * - `fill` stores a value only while its lease key still holds `token` and each of its tag keys
 *   still holds the expected token (null: absent); stored or rejected, it releases a lease it holds.
 * - `setTags` gives tag keys a new token; `initTags` gives a token only to tag keys that have none,
 *   and returns every key's token; `delete` removes values and their leases.
 * - Every key written has a TTL.
 *
 * The keys of one call (but tag keys) belong to one entity, hence one Redis Cluster slot.
 */
export interface FillRequest {
  readonly key: string;
  readonly leaseKey: string;
  readonly value: Buffer;
  readonly ttlMs: number;
  /** Tag keys with the token each must still hold for the value to be stored. */
  readonly expectTags: ReadonlyArray<readonly [tagKey: string, token: string | null]>;
}

export interface ReadResult {
  readonly values: ReadonlyArray<Buffer | null>;
  readonly tags: ReadonlyArray<string | null>;
}

/**
 * Why the store failed, classified, so a bypass can say why: `tls` (the handshake or the server's
 * certificate was refused), `auth` (credentials rejected, or a command or key the user may not use),
 * `network` (refused, reset, unreachable), `server` (the server answered with another error: OOM,
 * READONLY, a script error). `code` is the client's code (`SELF_SIGNED_CERT_IN_CHAIN`, `WRONGPASS`,
 * `NOPERM`, `ECONNREFUSED`); a problem never carries a message, a key, a value or a password.
 */
export type StoreProblemKind = 'tls' | 'auth' | 'network' | 'server';

export interface StoreProblem {
  readonly kind: StoreProblemKind;
  readonly code: string | undefined;
}

export interface CacheDriver {
  /**
   * Whether every key lives in one store that loses its keys together (a single Redis, the memory
   * driver): a tag key lost to a restart or a FLUSHALL then takes the fill's lease with it, so the
   * fill fails its lease check. False on a cluster, where a tag lives on another node than the lease.
   */
  readonly sharedFate: boolean;
  /**
   * Optional: how much longer than a command `setTags` may take (the Redis driver's wait for a
   * replica's acknowledgement: `replicaAckMs`, plus the server's timer resolution). @default 0
   */
  readonly setTagsExtraMs?: number;
  read(keys: readonly string[], tagKeys: readonly string[]): Promise<ReadResult>;
  acquireLeases(leaseKeys: readonly string[], token: string, ttlMs: number): Promise<boolean[]>;
  releaseLeases(leaseKeys: readonly string[], token: string): Promise<void>;
  fill(requests: readonly FillRequest[], token: string): Promise<boolean[]>;
  setTags(tagKeys: readonly string[], token: string, ttlMs: number): Promise<void>;
  /** Sets `token` (with the TTL) on the tag keys that are absent; returns the token each key holds afterwards. */
  initTags(tagKeys: readonly string[], token: string, ttlMs: number): Promise<string[]>;
  delete(keys: readonly string[]): Promise<void>;
  /**
   * Optional: the store's clock, epoch ms (Redis `TIME`). Invalidation times are taken on it, so
   * containers with skewed clocks agree on when a tag was invalidated (runtime/store-clock.ts).
   * Without it the local clock stands in.
   */
  time?(): Promise<number>;
  /** The remaining TTL of a key in ms; -1 without TTL, -2 absent. For tests of invariant 7. */
  ttl(key: string): Promise<number>;
  close(): Promise<void>;
  /**
   * Optional, for stores behind a connection. With an error: why that call failed (its own error
   * classified, else the connection's current problem). Without: the connection's current problem
   * while it cannot connect (a call then only waits for it), cleared once it is ready again.
   */
  problem?(error?: unknown): StoreProblem | undefined;
  /**
   * Optional. Subscribes to the failures the client reports between calls (a TLS handshake or a
   * login refused, a socket refused): one call per failed connection attempt. Returns the
   * function that unsubscribes.
   */
  onProblem?(listener: (problem: StoreProblem) => void): () => void;
  /**
   * Optional. Subscribes to the connection coming back after it was lost (a reconnect): what was
   * sent meanwhile may not have arrived. Returns the function that unsubscribes.
   */
  onReconnect?(listener: () => void): () => void;
}
