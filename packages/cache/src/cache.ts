import { randomBytes } from 'node:crypto';
import { CircuitBreaker } from './breaker.js';
import type { CacheDriver, FillRequest } from './drivers/driver.js';
import { type DecodedEntry, decodeHeader, decodePayload, encodeEntry } from './entry.js';
import { CacheTimeoutError, CacheUnavailableError } from './errors.js';
import { CacheEmitter, type CacheEventName, type CacheEvents } from './events.js';
import { type EntityKeys, entityKeys, paramKey, tagKey } from './keys.js';
import { type CacheOptions, checkEntityOptions, type EntityOptions, type ResolvedCacheOptions, resolveCacheOptions } from './options.js';

/** How a value was served: from the cache and fresh, from the cache past its freshness (opt-in grace), or loaded. */
export type Freshness = 'fresh' | 'stale' | 'miss';

export interface CacheResult<T> {
  readonly value: T;
  readonly status: Freshness;
}

/** What a loader learns about the entry it fills. */
export interface LoadContext {
  /**
   * The newest invalidation time among the entry's tags (epoch ms, the invalidator's clock), if any.
   * A loader that reads from a replica should read from the writer when this is recent.
   */
  readonly lastInvalidatedAt: number | undefined;
}

export interface GetOptions {
  /**
   * When the loader throws and an entry inside its grace period exists, return it as `stale` instead
   * of throwing — for every error, or for the errors the function accepts (e.g. database unavailable).
   * @default false
   */
  failSafe?: boolean | ((error: unknown) => boolean);
}

export interface CacheStats {
  hits: number;
  stale: number;
  misses: number;
  loads: number;
  fills: number;
  fillsRejected: number;
  leaseWaits: number;
  timeouts: number;
  errors: number;
  bypasses: number;
  decodeErrors: number;
  oversize: number;
  invalidations: number;
}

/** Thrown inside the cache when Redis must be skipped; never leaves it. */
class Bypass extends Error {}

type Judged<T> = { kind: 'fresh'; value: T } | { kind: 'stale'; value: T } | { kind: 'none' };

const randomToken = () => randomBytes(12).toString('base64url');

/** An invalidation token is `<epoch ms>.<random>`: unique, and it says when the tag was last invalidated. */
function invalidatedAt(token: string | null | undefined): number | undefined {
  if (!token) return undefined;
  const at = Number.parseInt(token, 10);
  return Number.isFinite(at) ? at : undefined;
}

export class Cache {
  readonly driver: CacheDriver;
  readonly options: ResolvedCacheOptions;
  readonly #events = new CacheEmitter();
  readonly #stats: CacheStats = {
    hits: 0,
    stale: 0,
    misses: 0,
    loads: 0,
    fills: 0,
    fillsRejected: 0,
    leaseWaits: 0,
    timeouts: 0,
    errors: 0,
    bypasses: 0,
    decodeErrors: 0,
    oversize: 0,
    invalidations: 0,
  };
  readonly #breaker: CircuitBreaker;

  constructor(driver: CacheDriver, options: CacheOptions = {}) {
    this.driver = driver;
    this.options = resolveCacheOptions(options);
    this.#breaker = new CircuitBreaker(
      this.options.breakerThreshold,
      this.options.breakerOpenMs,
      this.options.now,
      (failures) => this.emit('circuit-open', { failures, openMs: this.options.breakerOpenMs }),
      () => this.emit('circuit-close', {}),
    );
  }

  on<E extends CacheEventName>(event: E, listener: (payload: CacheEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** @internal */
  emit<E extends CacheEventName>(event: E, payload: CacheEvents[E]): void {
    this.#events.emit(event, payload);
  }

  /** @internal Whether an event has listeners or channel subscribers. */
  wants(event: CacheEventName): boolean {
    return this.#events.wants(event);
  }

  /** @internal */
  count(counter: keyof CacheStats, by = 1): void {
    this.#stats[counter] += by;
  }

  stats(): CacheStats {
    return { ...this.#stats };
  }

  /** A typed view of one entity: its keys, TTLs and tags. */
  entity<P, T>(options: EntityOptions<P, T> & { validate?: (value: unknown) => T }): EntityCache<P, T> {
    return new EntityCache<P, T>(this, options);
  }

  /**
   * Invalidates tags: every entry carrying one of them stops being fresh, and every fill that
   * loaded before this call is rejected. Throws `CacheUnavailableError` (with the pending tags) when
   * Redis cannot be reached — an invalidation is never dropped silently.
   */
  async invalidate(tags: readonly string[]): Promise<void> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) return;
    const keys = unique.map((tag) => tagKey(this.options.namespace, tag));
    const token = `${this.options.now()}.${randomToken()}`;
    try {
      await this.call('invalidate', () => this.driver.setTags(keys, token, this.options.tagTtlMs), { force: true });
    } catch (error) {
      throw new CacheUnavailableError(`Redis could not be reached to invalidate ${unique.length} tag(s); they are still pending.`, {
        cause: error instanceof Bypass ? undefined : error,
        tags: unique,
      });
    }
    this.#stats.invalidations += 1;
    this.emit('invalidate', { tags: unique.length });
  }

  async close(): Promise<void> {
    await this.driver.close();
  }

  /**
   * Runs one driver call under the command timeout and the circuit breaker. Throws `Bypass` when
   * the breaker is open (unless `force`), and the driver's error or a timeout otherwise.
   */
  call<R>(operation: string, run: () => Promise<R>, { force = false } = {}): Promise<R> {
    if (!this.#breaker.allow() && !force) {
      this.#stats.bypasses += 1;
      return Promise.reject(new Bypass());
    }
    const timeoutMs = this.options.commandTimeoutMs;
    return new Promise<R>((resolve, reject) => {
      const fail = (error: unknown) => {
        this.#breaker.failure();
        if (error instanceof CacheTimeoutError) {
          this.#stats.timeouts += 1;
          this.emit('timeout', { operation, timeoutMs });
        } else {
          this.#stats.errors += 1;
          this.emit('error', { operation, code: (error as { code?: string }).code });
        }
        reject(error);
      };
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        fail(new CacheTimeoutError(operation, timeoutMs));
      }, timeoutMs);
      let pending: Promise<R>;
      try {
        pending = run();
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (result) => {
          if (done) return;
          clearTimeout(timer);
          this.#breaker.success();
          resolve(result);
        },
        (error: unknown) => {
          if (done) return;
          clearTimeout(timer);
          fail(error);
        },
      );
    });
  }
}

/** Loads many parameter sets at once; returns the values in the same order. */
export type LoadMany<P, T> = (params: readonly P[], context: LoadContext) => Promise<readonly T[]>;

interface Pending<P> {
  readonly params: P;
  readonly key: string;
  readonly leaseKey: string;
  readonly tags: readonly string[];
  stale: { value: unknown } | undefined;
  result: CacheResult<unknown> | undefined;
}

const MAX_TAG_HINTS = 10_000;

export class EntityCache<P, T> {
  readonly keys: EntityKeys;
  readonly #cache: Cache;
  readonly #ttlMs: number;
  readonly #graceMs: number;
  readonly #tags: ((params: P) => readonly string[]) | undefined;
  readonly #valueTags: ((value: T, params: P) => readonly string[]) | undefined;
  readonly #validate: ((value: unknown) => T) | undefined;
  readonly #inflight = new Map<string, Promise<CacheResult<T>>>();
  /** Tags learnt from earlier values of a key, so the next read fetches their tokens in its first round trip. */
  readonly #tagHints = new Map<string, readonly string[]>();

  constructor(cache: Cache, options: EntityOptions<P, T> & { validate?: (value: unknown) => T }) {
    const checked = checkEntityOptions(options, cache.options);
    this.#cache = cache;
    this.keys = entityKeys(cache.options.namespace, checked.name, checked.version);
    this.#ttlMs = checked.ttlMs;
    this.#graceMs = checked.graceMs;
    this.#tags = options.tags;
    this.#valueTags = options.valueTags;
    this.#validate = options.validate;
  }

  /**
   * The value for `params`: from Redis when fresh, else loaded — once across the fleet (a lease in
   * Redis) and once in this process (a shared promise). If Redis is slow or down, straight from the loader.
   */
  get(params: P, load: (params: P, context: LoadContext) => Promise<T>, options: GetOptions = {}): Promise<CacheResult<T>> {
    const entry = this.#pending(params);
    const shared = this.#inflight.get(entry.key);
    if (shared) return shared;
    const promise = this.#settle([entry], async ([only], context) => [await load(only as P, context)], options)
      .then(() => entry.result as CacheResult<T>)
      .finally(() => this.#inflight.delete(entry.key));
    this.#inflight.set(entry.key, promise);
    return promise;
  }

  /**
   * Values for many parameter sets: one read round trip (per Redis node), one loader call for all
   * misses whose lease this caller took, one fill for them. Results are in the order asked.
   */
  async getMany(list: readonly P[], loadMany: LoadMany<P, T>, options: GetOptions = {}): Promise<CacheResult<T>[]> {
    const byKey = new Map<string, Pending<P>>();
    const order = list.map((params) => {
      const entry = this.#pending(params);
      const known = byKey.get(entry.key);
      if (known) return known;
      byKey.set(entry.key, entry);
      return entry;
    });
    await this.#settle([...byKey.values()], loadMany, options);
    return order.map((entry) => entry.result as CacheResult<T>);
  }

  #pending(params: P): Pending<P> {
    const pk = paramKey(params);
    return { params, key: this.keys.value(pk), leaseKey: this.keys.lease(pk), tags: this.#tags?.(params) ?? [], stale: undefined, result: undefined };
  }

  /** Gives every entry a result: from Redis when fresh, else from the lease holder or the loader. */
  async #settle(pending: readonly Pending<P>[], loadMany: LoadMany<P, T>, options: GetOptions): Promise<void> {
    const cache = this.#cache;
    const tokens = new Map<string, string | null>();
    try {
      await this.#read(pending, tokens);
    } catch {
      // Redis is slow or down: the caller still gets its data, from the loader.
      cache.emit('bypass', { entity: this.keys.entity, operation: 'read' });
      await this.#load(pending, tokens, undefined, loadMany, options);
      return;
    }
    let missing = pending.filter((entry) => entry.result === undefined);
    if (missing.length === 0) return;
    const token = randomToken();
    const leased = await this.#acquire(missing, token);
    const waiting = missing.filter((entry) => !leased.has(entry));
    await Promise.all([
      leased.size > 0 ? this.#load([...leased], tokens, token, loadMany, options) : undefined,
      waiting.length > 0 ? this.#waitForHolders(waiting) : undefined,
    ]);
    missing = waiting.filter((entry) => entry.result === undefined);
    if (missing.length === 0) return;
    // The holders did not deliver in time and there is nothing stale: load ourselves, filling where the lease is free now.
    const retryToken = randomToken();
    const retried = await this.#acquire(missing, retryToken);
    await Promise.all([
      retried.size > 0 ? this.#load([...retried], tokens, retryToken, loadMany, options) : undefined,
      this.#load(
        missing.filter((entry) => !retried.has(entry)),
        tokens,
        undefined,
        loadMany,
        options,
      ),
    ]);
  }

  /** Removes the entry and voids any outstanding lease on it (an in-flight fill is then dropped). */
  async delete(params: P): Promise<void> {
    const pk = paramKey(params);
    await this.#cache.call('delete', () => this.#cache.driver.delete([this.keys.value(pk), this.keys.lease(pk)]), { force: true });
  }

  /** Reads entries and tag tokens in one round trip; settles the fresh ones, remembers stale ones. */
  async #read(entries: readonly Pending<P>[], tokens: Map<string, string | null>): Promise<void> {
    const cache = this.#cache;
    const tags = new Set<string>();
    for (const entry of entries) {
      for (const tag of entry.tags) tags.add(tag);
      for (const tag of this.#tagHints.get(entry.key) ?? []) tags.add(tag);
    }
    for (const tag of tokens.keys()) tags.delete(tag);
    const tagList = [...tags];
    const namespace = cache.options.namespace;
    const read = await cache.call('read', () =>
      cache.driver.read(
        entries.map((entry) => entry.key),
        tagList.map((tag) => tagKey(namespace, tag)),
      ),
    );
    tagList.forEach((tag, i) => {
      tokens.set(tag, read.tags[i] ?? null);
    });
    const decoded = entries.map((entry, i) => ({ entry, header: this.#header(read.values[i] ?? null) }));
    // Tags the entries carry that we did not know to read (value tags): a second round trip, then remembered.
    const unknown = new Set<string>();
    for (const { entry, header } of decoded) {
      if (!header) continue;
      const carried = Object.keys(header.header.tags);
      for (const tag of carried) if (!tokens.has(tag)) unknown.add(tag);
      this.#hint(entry.key, carried);
    }
    if (unknown.size > 0) {
      const extra = [...unknown];
      const more = await cache.call('read', () =>
        cache.driver.read(
          [],
          extra.map((tag) => tagKey(namespace, tag)),
        ),
      );
      extra.forEach((tag, i) => {
        tokens.set(tag, more.tags[i] ?? null);
      });
    }
    for (const { entry, header } of decoded) {
      const judged = this.#judge(header, tokens);
      if (judged.kind === 'fresh') {
        entry.result = { value: judged.value, status: 'fresh' };
        cache.count('hits');
        if (cache.wants('hit')) cache.emit('hit', { entity: this.keys.entity });
      } else {
        if (judged.kind === 'stale') entry.stale = { value: judged.value };
        if (entry.result === undefined) {
          cache.count('misses');
          cache.emit('miss', { entity: this.keys.entity });
        }
      }
    }
  }

  #header(bytes: Buffer | null): { bytes: Buffer; header: ReturnType<typeof decodeHeader> } | undefined {
    if (bytes === null) return undefined;
    try {
      return { bytes, header: decodeHeader(bytes) };
    } catch {
      this.#decodeError();
      return undefined;
    }
  }

  #decodeError(): void {
    this.#cache.count('decodeErrors');
    this.#cache.emit('decode-error', { entity: this.keys.entity });
  }

  /** Fresh when inside its TTL and every tag still holds the token it had before the load; stale inside grace. */
  #judge(read: { bytes: Buffer; header: ReturnType<typeof decodeHeader> } | undefined, tokens: ReadonlyMap<string, string | null>): Judged<T> {
    if (!read) return { kind: 'none' };
    const { header, bytes } = read;
    const now = this.#cache.options.now();
    if (now >= header.staleUntil) return { kind: 'none' };
    let current = now < header.freshUntil;
    for (const [tag, token] of Object.entries(header.tags)) {
      if (tokens.get(tag) !== token) current = false;
    }
    // Without an opted-in grace period, an entry that is not fresh is not served at all.
    if (!current && header.staleUntil <= header.freshUntil) return { kind: 'none' };
    let value: T;
    try {
      const raw = decodePayload(bytes, header);
      value = this.#validate ? this.#validate(raw) : (raw as T);
    } catch {
      // An older deploy's shape, or corruption: a miss, counted; the next fill overwrites it.
      this.#decodeError();
      return { kind: 'none' };
    }
    return current ? { kind: 'fresh', value } : { kind: 'stale', value };
  }

  #hint(key: string, tags: readonly string[]): void {
    const extra = tags.length > 0 ? tags : undefined;
    if (!extra) return;
    if (this.#tagHints.size >= MAX_TAG_HINTS && !this.#tagHints.has(key)) {
      const oldest = this.#tagHints.keys().next().value;
      if (oldest !== undefined) this.#tagHints.delete(oldest);
    }
    this.#tagHints.set(key, extra);
  }

  async #acquire(entries: readonly Pending<P>[], token: string): Promise<Set<Pending<P>>> {
    try {
      const taken = await this.#cache.call('lease', () =>
        this.#cache.driver.acquireLeases(
          entries.map((entry) => entry.leaseKey),
          token,
          this.#cache.options.leaseTtlMs,
        ),
      );
      return new Set(entries.filter((_, i) => taken[i]));
    } catch {
      return new Set();
    }
  }

  /** Polls for the lease holders' values until they arrive or `leaseWaitMs` passes; then settles with stale values where there are some. */
  async #waitForHolders(entries: readonly Pending<P>[]): Promise<void> {
    const cache = this.#cache;
    const { now, sleep, leaseWaitMs, leasePollMs } = cache.options;
    const started = now();
    cache.count('leaseWaits', entries.length);
    let open = entries.filter((entry) => entry.result === undefined);
    while (open.length > 0 && now() - started < leaseWaitMs) {
      await sleep(leasePollMs);
      try {
        // Fresh tokens each round: an invalidation while we wait must count.
        await this.#read(open, new Map());
      } catch {
        break;
      }
      open = open.filter((entry) => entry.result === undefined);
    }
    const waitedMs = now() - started;
    for (const entry of entries) {
      cache.emit('lease-wait', { entity: this.keys.entity, waitedMs, outcome: entry.result ? 'value' : 'timeout' });
      if (entry.result === undefined && entry.stale) {
        entry.result = { value: entry.stale.value, status: 'stale' };
        cache.count('stale');
        cache.emit('stale', { entity: this.keys.entity, reason: 'lease-wait' });
      }
    }
  }

  /**
   * Runs the loader for entries and, when `token` holds their leases, fills them with the tag tokens
   * read before the load, so a write that commits and invalidates meanwhile voids the fill.
   */
  async #load(
    entries: readonly Pending<P>[],
    tokens: ReadonlyMap<string, string | null>,
    token: string | undefined,
    loadMany: LoadMany<P, T>,
    options: GetOptions,
  ): Promise<void> {
    if (entries.length === 0) return;
    const cache = this.#cache;
    const loadStart = cache.options.now();
    let lastInvalidatedAt: number | undefined;
    for (const entry of entries) {
      for (const tag of entry.tags) {
        const at = invalidatedAt(tokens.get(tag));
        if (at !== undefined && (lastInvalidatedAt === undefined || at > lastInvalidatedAt)) lastInvalidatedAt = at;
      }
    }
    let values: readonly T[];
    try {
      cache.count('loads');
      values = await loadMany(
        entries.map((entry) => entry.params),
        { lastInvalidatedAt },
      );
    } catch (error) {
      if (token) await this.#release(entries, token);
      const failSafe = typeof options.failSafe === 'function' ? options.failSafe(error) : options.failSafe === true;
      if (failSafe && entries.every((entry) => entry.stale)) {
        for (const entry of entries) {
          entry.result = { value: entry.stale?.value, status: 'stale' };
          cache.count('stale');
          cache.emit('stale', { entity: this.keys.entity, reason: 'loader-error' });
        }
        return;
      }
      throw error;
    }
    entries.forEach((entry, i) => {
      entry.result = { value: values[i] as T, status: 'miss' };
    });
    if (token) await this.#fill(entries, values, tokens, token, loadStart);
  }

  async #fill(
    entries: readonly Pending<P>[],
    values: readonly T[],
    tokens: ReadonlyMap<string, string | null>,
    token: string,
    loadStart: number,
  ): Promise<void> {
    const cache = this.#cache;
    const { namespace, compressAboveBytes, maxValueBytes, clockSkewMs } = cache.options;
    // Value tags not read before the load: read now, and give up the fill if one was invalidated while the loader ran.
    const valueTags = entries.map((entry, i) => this.#valueTags?.(values[i] as T, entry.params) ?? []);
    const late = [...new Set(valueTags.flat())].filter((tag) => !tokens.has(tag));
    const lateTokens = new Map<string, string | null>();
    if (late.length > 0) {
      try {
        const read = await cache.call('read', () =>
          cache.driver.read(
            [],
            late.map((tag) => tagKey(namespace, tag)),
          ),
        );
        late.forEach((tag, i) => {
          lateTokens.set(tag, read.tags[i] ?? null);
        });
      } catch {
        await this.#release(entries, token);
        return;
      }
    }
    const requests: FillRequest[] = [];
    const abandoned: Pending<P>[] = [];
    entries.forEach((entry, i) => {
      const tags = [...new Set([...entry.tags, ...(valueTags[i] ?? [])])];
      this.#hint(entry.key, tags);
      const header: Record<string, string | null> = {};
      for (const tag of tags) {
        const known = tokens.has(tag);
        const value = known ? (tokens.get(tag) ?? null) : (lateTokens.get(tag) ?? null);
        const at = invalidatedAt(value);
        if (!known && at !== undefined && at >= loadStart - clockSkewMs) {
          cache.count('fillsRejected');
          cache.emit('fill-rejected', { entity: this.keys.entity, reason: 'raced-value-tag' });
          abandoned.push(entry);
          return;
        }
        header[tag] = value;
      }
      const bytes = encodeEntry(
        { freshUntil: loadStart + this.#ttlMs, staleUntil: loadStart + this.#ttlMs + this.#graceMs, tags: header },
        values[i],
        compressAboveBytes,
      );
      if (bytes.length > maxValueBytes) {
        cache.count('oversize');
        cache.emit('oversize', { entity: this.keys.entity, bytes: bytes.length, maxValueBytes });
        abandoned.push(entry);
        return;
      }
      requests.push({
        key: entry.key,
        leaseKey: entry.leaseKey,
        value: bytes,
        ttlMs: Math.max(1, loadStart + this.#ttlMs + this.#graceMs - cache.options.now()),
        expectTags: Object.entries(header).map(([tag, value]) => [tagKey(namespace, tag), value] as const),
      });
    });
    if (abandoned.length > 0) await this.#release(abandoned, token);
    if (requests.length === 0) return;
    try {
      const stored = await cache.call('fill', () => cache.driver.fill(requests, token));
      stored.forEach((ok, i) => {
        if (ok) {
          cache.count('fills');
          cache.emit('fill', { entity: this.keys.entity, bytes: requests[i]?.value.length ?? 0 });
        } else {
          cache.count('fillsRejected');
          cache.emit('fill-rejected', { entity: this.keys.entity, reason: 'stale-fill' });
        }
      });
    } catch {
      // The value was served; caching it failed. The lease expires by itself.
    }
  }

  async #release(entries: readonly Pending<P>[], token: string): Promise<void> {
    try {
      await this.#cache.call('lease', () =>
        this.#cache.driver.releaseLeases(
          entries.map((entry) => entry.leaseKey),
          token,
        ),
      );
    } catch {
      // The lease expires by itself.
    }
  }
}

/** The decoded form of an entry, for tests and tools. */
export type { DecodedEntry };
