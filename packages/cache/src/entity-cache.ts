import type { Cache } from './cache.js';
import { type EntityContext, type Pending, randomToken, TagHints } from './entity-context.js';
import { acquireLeases, loadEntries } from './entity-fill.js';
import { readEntries } from './entity-read.js';
import { CacheKeyError } from './errors.js';
import { bypassOf } from './failures.js';
import { type EntityKeys, entityKeys, paramKey } from './keys.js';
import { checkEntityOptions, type EntityOptions } from './options.js';
import { assertTags } from './tags.js';
import type { CacheResult, GetOptions, LoadContext, LoadMany } from './types.js';

/**
 * A typed view of one entity: its keys, TTLs and tags. Every read builds and checks its keys and
 * tags first (`CacheKeyError` before any I/O: neither Redis nor the loader is called, and the
 * circuit breaker never hears of it), then reads (entity-read.ts), then loads and fills
 * (entity-fill.ts).
 */
export class EntityCache<P, T> {
  readonly keys: EntityKeys;
  readonly #cache: Cache;
  readonly #ctx: EntityContext<P, T>;
  readonly #tags: ((params: P) => readonly string[]) | undefined;
  readonly #inflight = new Map<string, Promise<CacheResult<T>>>();

  constructor(cache: Cache, options: EntityOptions<P, T> & { validate?: (value: unknown) => T }) {
    const checked = checkEntityOptions(options, cache.options);
    this.#cache = cache;
    this.keys = entityKeys(cache.options.namespace, checked.name, checked.version);
    this.#tags = options.tags;
    this.#ctx = {
      cache,
      keys: this.keys,
      ttlMs: checked.ttlMs,
      graceMs: checked.graceMs,
      valueTags: options.valueTags,
      validate: options.validate,
      hints: new TagHints(),
    };
  }

  /**
   * The value for `params`: from Redis when fresh, else loaded — once across the fleet (a lease in
   * Redis) and once in this process (a shared promise). If Redis is slow or down, straight from the
   * loader. Rejects with `CacheKeyError` when the parameters or their tags are invalid.
   */
  get(params: P, load: (params: P, context: LoadContext) => Promise<T>, options: GetOptions = {}): Promise<CacheResult<T>> {
    let entry: Pending<P>;
    try {
      entry = this.#pending(params);
    } catch (error) {
      return Promise.reject(this.#keyError(error));
    }
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
   * Rejects with `CacheKeyError` when `list` is not an array or any of its parameter sets is invalid.
   */
  async getMany(list: readonly P[], loadMany: LoadMany<P, T>, options: GetOptions = {}): Promise<CacheResult<T>[]> {
    const byKey = new Map<string, Pending<P>>();
    const order: Pending<P>[] = [];
    try {
      for (const params of readList<P>(list)) {
        const entry = this.#pending(params);
        const known = byKey.get(entry.key);
        if (known) {
          order.push(known);
        } else {
          byKey.set(entry.key, entry);
          order.push(entry);
        }
      }
    } catch (error) {
      throw this.#keyError(error);
    }
    await this.#settle([...byKey.values()], loadMany, options);
    return order.map((entry) => entry.result as CacheResult<T>);
  }

  /** Removes the entry and voids any outstanding lease on it (an in-flight fill is then dropped). */
  async delete(params: P): Promise<void> {
    let pk: string;
    try {
      pk = paramKey(params);
    } catch (error) {
      throw this.#keyError(error);
    }
    const keys = [this.keys.value(pk), this.keys.lease(pk)];
    await this.#cache.call('delete', () => this.#cache.driver.delete(keys), { force: true });
  }

  #keyError(error: unknown): unknown {
    if (error instanceof CacheKeyError) this.#cache.count('keyErrors');
    return error;
  }

  /** The keys and tags of one parameter set, built and checked: throws `CacheKeyError` only. */
  #pending(params: P): Pending<P> {
    const pk = paramKey(params);
    let tags: readonly string[] = [];
    if (this.#tags) {
      let produced: unknown;
      try {
        produced = this.#tags(params);
      } catch (error) {
        if (error instanceof CacheKeyError) throw error;
        throw new CacheKeyError(`The \`tags\` function of entity ${this.keys.entity} threw.`, { reason: 'invalid-tag', cause: error });
      }
      tags = assertTags(produced);
    }
    return { params, key: this.keys.value(pk), leaseKey: this.keys.lease(pk), tags, stale: undefined, result: undefined };
  }

  /** Gives every entry a result: from Redis when fresh, else from the lease holder or the loader. */
  async #settle(pending: readonly Pending<P>[], loadMany: LoadMany<P, T>, options: GetOptions): Promise<void> {
    const ctx = this.#ctx;
    const tokens = new Map<string, string | null>();
    try {
      await readEntries(ctx, pending, tokens);
    } catch (error) {
      // Redis is slow or down: the caller still gets its data, from the loader.
      this.#cache.emit('bypass', bypassOf(this.keys.entity, 'read', error));
      await loadEntries(ctx, pending, tokens, undefined, loadMany, options);
      return;
    }
    let missing = pending.filter((entry) => entry.result === undefined);
    if (missing.length === 0) return;
    const token = randomToken();
    const leased = await acquireLeases(ctx, missing, token);
    const waiting = missing.filter((entry) => !leased.has(entry));
    await Promise.all([
      leased.size > 0 ? loadEntries(ctx, [...leased], tokens, token, loadMany, options) : undefined,
      waiting.length > 0 ? this.#waitForHolders(waiting) : undefined,
    ]);
    missing = waiting.filter((entry) => entry.result === undefined);
    if (missing.length === 0) return;
    // The holders did not deliver in time and there is nothing stale: load ourselves, filling where the lease is free now.
    const retryToken = randomToken();
    const retried = await acquireLeases(ctx, missing, retryToken);
    await Promise.all([
      retried.size > 0 ? loadEntries(ctx, [...retried], tokens, retryToken, loadMany, options) : undefined,
      loadEntries(
        ctx,
        missing.filter((entry) => !retried.has(entry)),
        tokens,
        undefined,
        loadMany,
        options,
      ),
    ]);
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
        await readEntries(this.#ctx, open, new Map());
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
}

/** The items of a `getMany` list, read once; `CacheKeyError` for anything but a readable array. */
function readList<P>(list: unknown): P[] {
  try {
    if (!Array.isArray(list)) {
      throw new CacheKeyError('`getMany` takes an array of parameter sets; got something else (pass `[...iterable]` for other iterables).', {
        reason: 'not-an-array',
      });
    }
    const items: P[] = [];
    for (let i = 0; i < list.length; i += 1) items.push(list[i] as P);
    return items;
  } catch (error) {
    if (error instanceof CacheKeyError) throw error;
    throw new CacheKeyError('The list passed to `getMany` could not be read (reading it threw).', { reason: 'unreadable' });
  }
}
