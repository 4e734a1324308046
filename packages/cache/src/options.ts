import { definedOnly, sleep } from '@cachefront/common';
import { CacheOptionsError } from './errors.js';
import { checkNamespace } from './keys/keys.js';

export interface CacheOptions {
  /**
   * Prefix of every key, so several applications can share one Redis: 1-64 characters of A-Z, a-z,
   * 0-9, `_`, `-`, `:` and `.` (`shop:prod`; the cache adds the `:` after it). @default 'cf'
   */
  namespace?: string;
  /** Timeout of every Redis call. Past it the read falls through to the loader. @default 50 */
  commandTimeoutMs?: number;
  /** Consecutive Redis failures that open the circuit breaker. @default 3 */
  breakerThreshold?: number;
  /** How long an open breaker skips Redis before letting one trial call through. @default 2000 */
  breakerOpenMs?: number;
  /** Lifetime of a lease: how long other callers wait for its holder before loading themselves. @default 5000 */
  leaseTtlMs?: number;
  /** Longest a caller waits for another caller's load of the same key. @default 300 */
  leaseWaitMs?: number;
  /** Interval between reads while waiting for another caller's load. @default 10 */
  leasePollMs?: number;
  /** Lifetime of a tag's generation key; refreshed by every invalidation. Must exceed every entry's TTL + grace. @default 604800000 (7 days) */
  tagTtlMs?: number;
  /** Payloads above this many bytes are deflated. @default 4096 */
  compressAboveBytes?: number;
  /** Entries above this many bytes (after compression) are not cached, and counted. @default 1048576 */
  maxValueBytes?: number;
  /**
   * Clock skew allowed between processes when judging whether a tag that is only known from the
   * loaded value was invalidated while the loader ran (its fill is then dropped). @default 1000
   */
  clockSkewMs?: number;
  /** Clock, injectable for tests. @default Date.now */
  now?: () => number;
  /** Timer for lease polling, injectable for tests. @default a `setTimeout` sleep */
  sleep?: (ms: number) => Promise<void>;
  /** Random numbers in [0, 1) for refresh-ahead's draw, injectable for tests. @default Math.random */
  random?: () => number;
}

export type ResolvedCacheOptions = Required<CacheOptions>;

export const DEFAULT_CACHE_OPTIONS = Object.freeze({
  namespace: 'cf',
  commandTimeoutMs: 50,
  breakerThreshold: 3,
  breakerOpenMs: 2000,
  leaseTtlMs: 5000,
  leaseWaitMs: 300,
  leasePollMs: 10,
  tagTtlMs: 7 * 24 * 3600 * 1000,
  compressAboveBytes: 4096,
  maxValueBytes: 1024 * 1024,
  clockSkewMs: 1000,
} as const);

export function resolveCacheOptions(options: CacheOptions = {}): ResolvedCacheOptions {
  const merged: ResolvedCacheOptions = { ...DEFAULT_CACHE_OPTIONS, now: Date.now, sleep, random: Math.random, ...definedOnly(options) };
  checkNamespace(merged.namespace);
  for (const name of ['commandTimeoutMs', 'breakerOpenMs', 'leaseTtlMs', 'leasePollMs', 'tagTtlMs', 'maxValueBytes'] as const) {
    const value = merged[name];
    if (!(Number.isFinite(value) && value > 0)) throw new CacheOptionsError(`\`${name}\` must be a number > 0; got ${String(value)}.`);
  }
  for (const name of ['leaseWaitMs', 'compressAboveBytes', 'clockSkewMs'] as const) {
    const value = merged[name];
    if (!(Number.isFinite(value) && value >= 0)) throw new CacheOptionsError(`\`${name}\` must be a number ≥ 0; got ${String(value)}.`);
  }
  if (!(Number.isInteger(merged.breakerThreshold) && merged.breakerThreshold >= 1)) {
    throw new CacheOptionsError('`breakerThreshold` must be a whole number ≥ 1.');
  }
  return merged;
}

export interface EntityOptions<P, T> {
  /** Entity name, part of every key: 1-64 characters of A-Z, a-z, 0-9, `_` and `-`. Required. */
  name: string;
  /** Schema version: bump it when the cached shape changes, and old entries are never read. @default 1 */
  version?: number;
  /** How long an entry is fresh. Required. */
  ttlMs: number;
  /** How long after that it may still be served, flagged `stale`, when asked for. @default 0 */
  graceMs?: number;
  /** Tags known from the parameters (read together with the entry, before any load). @default no tags */
  tags?: (params: P) => readonly string[];
  /** Tags known only from the loaded value (e.g. the product's category). @default no tags */
  valueTags?: (value: T, params: P) => readonly string[];
  /**
   * Checks a cached value before it is served (a schema's parse); a value it throws on is a miss,
   * counted in `decodeErrors`, and overwritten. @default none: the decoded value is served as `T`
   */
  validate?: (value: unknown) => T;
  /**
   * A caller that waited `leaseWaitMs` for another caller's load takes the value inside its grace
   * period (status `stale`) instead of loading itself. Off by default: without it, `stale` is only
   * ever served when the loader fails and the read asked for `failSafe` (the database is down).
   * Needs `graceMs` > 0.
   * @default false
   */
  staleWhileWaiting?: boolean;
  /**
   * Refresh-ahead: a hit close to the end of its entry's freshness reloads the entry early, with a
   * probability that grows as the end nears, weighted by how long the entry's load took (XFetch,
   * Vattani, Chierichetti and Lowenstein, VLDB 2015), so a hot key is reloaded before it expires
   * and its readers never wait for the loader. The reader is answered from the cache at once; the
   * reload runs under the key's lease (one process reloads) and `cache.idle()` awaits it —
   * `withDataLayer` does, before the handler returns, so nothing outlives the invocation.
   *
   * `true` for the defaults, or `{ beta, timeoutMs }`: `beta` > 1 reloads earlier, < 1 later
   * (@default 1, the paper's choice); `timeoutMs` is how long `idle()` waits for a reload (@default
   * 1000); past it the reload is left to its lease, which expires, and its late fill is dropped
   * if the lease is gone. Off by default: each reload is one more loader call per hot key and TTL,
   * and it lengthens the invocation that runs it. @default false
   */
  refreshAhead?: boolean | { beta?: number; timeoutMs?: number };
}

/** Refresh-ahead, resolved: off, or on with its weight and how long `idle()` waits for a reload. */
export type RefreshAhead = { readonly beta: number; readonly timeoutMs: number } | undefined;

export const DEFAULT_REFRESH_AHEAD = Object.freeze({ beta: 1, timeoutMs: 1000 });

/** An entity's options with every default filled in; the functions stay undefined when not given. */
export interface ResolvedEntityOptions<P, T> {
  readonly name: string;
  readonly version: number;
  readonly ttlMs: number;
  readonly graceMs: number;
  readonly tags: ((params: P) => readonly string[]) | undefined;
  readonly valueTags: ((value: T, params: P) => readonly string[]) | undefined;
  readonly validate: ((value: unknown) => T) | undefined;
  readonly staleWhileWaiting: boolean;
  readonly refreshAhead: RefreshAhead;
}

export function resolveEntityOptions<P, T>(options: EntityOptions<P, T>, cache: ResolvedCacheOptions): ResolvedEntityOptions<P, T> {
  const version = options.version ?? 1;
  const graceMs = options.graceMs ?? 0;
  if (!(Number.isFinite(options.ttlMs) && options.ttlMs > 0)) throw new CacheOptionsError(`\`ttlMs\` of entity ${options.name} must be > 0.`);
  if (!(Number.isFinite(graceMs) && graceMs >= 0)) throw new CacheOptionsError(`\`graceMs\` of entity ${options.name} must be ≥ 0.`);
  if (options.ttlMs + graceMs >= cache.tagTtlMs) {
    throw new CacheOptionsError(
      `\`ttlMs\` + \`graceMs\` of entity ${options.name} must stay below the cache's \`tagTtlMs\`, or an expired tag could make an old entry look fresh.`,
    );
  }
  return {
    name: options.name,
    version,
    ttlMs: options.ttlMs,
    graceMs,
    tags: options.tags,
    valueTags: options.valueTags,
    validate: options.validate,
    staleWhileWaiting: options.staleWhileWaiting === true,
    refreshAhead: resolveRefreshAhead(options),
  };
}

function resolveRefreshAhead<P, T>(options: EntityOptions<P, T>): RefreshAhead {
  const given = options.refreshAhead;
  if (given === undefined || given === false) return undefined;
  const { beta, timeoutMs } = { ...DEFAULT_REFRESH_AHEAD, ...(given === true ? {} : definedOnly(given)) };
  if (!(Number.isFinite(beta) && beta > 0)) throw new CacheOptionsError(`\`refreshAhead.beta\` of entity ${options.name} must be a number > 0.`);
  if (!(Number.isFinite(timeoutMs) && timeoutMs >= 0))
    throw new CacheOptionsError(`\`refreshAhead.timeoutMs\` of entity ${options.name} must be a number ≥ 0.`);
  return { beta, timeoutMs };
}
