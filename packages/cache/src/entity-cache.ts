import type { Cache } from './cache.js';
import { type EntityContext, type Pending, randomToken, TagHints, Wakeups } from './entity-context.js';
import { acquireLeases, loadEntries, releaseLeases } from './entity-fill.js';
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
  readonly #staleWhileWaiting: boolean;

  constructor(cache: Cache, options: EntityOptions<P, T> & { validate?: (value: unknown) => T }) {
    const checked = checkEntityOptions(options, cache.options);
    this.#cache = cache;
    this.keys = entityKeys(cache.options.namespace, checked.name, checked.version);
    this.#tags = options.tags;
    this.#staleWhileWaiting = options.staleWhileWaiting === true;
    this.#ctx = {
      cache,
      keys: this.keys,
      ttlMs: checked.ttlMs,
      graceMs: checked.graceMs,
      valueTags: options.valueTags,
      validate: options.validate,
      hints: new TagHints(),
      wakeups: new Wakeups(),
    };
  }

  /**
   * The value for `params`: from Redis when fresh, else loaded once across the fleet (a lease in
   * Redis); the other callers wait for the holder's fill and read it from Redis. If Redis is slow or
   * down, straight from the loader. Rejects with `CacheKeyError` when the parameters or their tags
   * are invalid.
   *
   * Calls are never handed another call's result: a read that began after a write returned must
   * see it, and a load (or a Redis read) already in flight when it began may predate the write. A
   * caller that waits for another caller's load of the same key — in this process or another —
   * reads the filled entry itself, judged against the tag tokens of its own read.
   */
  async get(params: P, load: (params: P, context: LoadContext) => Promise<T>, options: GetOptions = {}): Promise<CacheResult<T>> {
    let entry: Pending<P>;
    try {
      entry = this.#pending(params);
    } catch (error) {
      throw this.#keyError(error);
    }
    await this.#settle([entry], async ([only], context) => [await load(only as P, context)], options);
    return entry.result as CacheResult<T>;
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
      leased.size > 0 ? this.#loadAndWake([...leased], tokens, token, loadMany, options) : undefined,
      waiting.length > 0 ? this.#waitForHolders(waiting, loadMany, options) : undefined,
    ]);
    missing = waiting.filter((entry) => entry.result === undefined);
    if (missing.length === 0) return;
    // The holders did not deliver in time and there is nothing stale to take: load ourselves,
    // with tokens read now (the first read's may predate an invalidation made while we waited).
    const fresh = new Map<string, string | null>();
    try {
      await readEntries(ctx, missing, fresh);
    } catch {
      await loadEntries(ctx, missing, fresh, undefined, loadMany, options);
      return;
    }
    missing = missing.filter((entry) => entry.result === undefined);
    if (missing.length === 0) return;
    const retryToken = randomToken();
    const retried = await acquireLeases(ctx, missing, retryToken);
    await Promise.all([
      retried.size > 0 ? this.#loadAndWake([...retried], fresh, retryToken, loadMany, options) : undefined,
      loadEntries(
        ctx,
        missing.filter((entry) => !retried.has(entry)),
        fresh,
        undefined,
        loadMany,
        options,
      ),
    ]);
  }

  /** Loads and fills as the lease holder, then wakes this process's callers waiting for these keys. */
  async #loadAndWake(
    entries: readonly Pending<P>[],
    tokens: ReadonlyMap<string, string | null>,
    token: string,
    loadMany: LoadMany<P, T>,
    options: GetOptions,
  ): Promise<void> {
    try {
      await loadEntries(this.#ctx, entries, tokens, token, loadMany, options);
    } finally {
      for (const entry of entries) this.#ctx.wakeups.wake(entry.key);
    }
  }

  /**
   * Waits for the lease holders' fills: reads again every `leasePollMs`, or as soon as a holder in
   * this process finished, until each entry is fresh or `leaseWaitMs` passes. Each round reads the
   * tag tokens anew, so an invalidation made while waiting counts; a round that finds a lease free
   * (its holder gave up, its fill was rejected) takes it and loads at once. Past `leaseWaitMs`, a
   * value inside its grace period is taken (status `stale`) only when the entity opted into
   * `staleWhileWaiting`; otherwise the caller loads itself (`#settle`).
   */
  async #waitForHolders(entries: readonly Pending<P>[], loadMany: LoadMany<P, T>, options: GetOptions): Promise<void> {
    const cache = this.#cache;
    const ctx = this.#ctx;
    const { now, sleep, leaseWaitMs, leasePollMs } = cache.options;
    const started = now();
    cache.count('leaseWaits', entries.length);
    let open = entries.filter((entry) => entry.result === undefined);
    while (open.length > 0 && now() - started < leaseWaitMs) {
      await ctx.wakeups.wait(
        open.map((entry) => entry.key),
        leasePollMs,
        sleep,
      );
      const tokens = new Map<string, string | null>();
      try {
        await readEntries(ctx, open, tokens);
      } catch {
        break;
      }
      open = open.filter((entry) => entry.result === undefined);
      if (open.length === 0) break;
      const token = randomToken();
      const freed = [...(await acquireLeases(ctx, open, token))];
      if (freed.length > 0) {
        // The holder may have filled and let go between our read and our lease: read once more
        // before loading, so a finished load is not repeated by every waiter of the round.
        const again = new Map<string, string | null>();
        try {
          await readEntries(ctx, freed, again);
        } catch {
          await releaseLeases(ctx, freed, token);
          break;
        }
        const filled = freed.filter((entry) => entry.result !== undefined);
        if (filled.length > 0) await releaseLeases(ctx, filled, token);
        const toLoad = freed.filter((entry) => entry.result === undefined);
        if (toLoad.length > 0) await this.#loadAndWake(toLoad, again, token, loadMany, options);
        open = open.filter((entry) => entry.result === undefined);
      }
    }
    const waitedMs = now() - started;
    for (const entry of entries) {
      cache.emit('lease-wait', { entity: this.keys.entity, waitedMs, outcome: entry.result ? 'value' : 'timeout' });
      if (entry.result === undefined && entry.stale && this.#staleWhileWaiting) {
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
