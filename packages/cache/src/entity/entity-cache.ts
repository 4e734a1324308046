import { CacheKeyError } from '../errors.js';
import { type EntityKeys, entityKeys, paramKey } from '../keys/keys.js';
import { assertTags } from '../keys/tags.js';
import { type EntityOptions, resolveEntityOptions } from '../options.js';
import type { CacheRuntime } from '../runtime/runtime.js';
import type { CacheResult, GetOptions, LoadContext, LoadMany } from '../types.js';
import { count, type EntityContext, type Pending } from './context.js';
import { Flights } from './flights.js';
import { settle, settleOne } from './settle.js';
import { TagHints } from './tag-hints.js';
import { Wakeups } from './wakeups.js';

/**
 * A typed view of one entity: its keys, TTLs and tags. Every read builds and checks its keys and
 * tags first (`CacheKeyError` before any I/O: neither Redis nor the loader is called, and the
 * circuit breaker never hears of it), then reads, leases, loads and fills (settle.ts). Made by
 * `Cache.entity()`, which hands it the cache's runtime.
 */
export class EntityCache<P, T> {
  /** Where this entity's entries and leases live in Redis. */
  readonly keys: EntityKeys;
  readonly #ctx: EntityContext<P, T>;
  /** Each attempt hands on its entry: its answer, and whether it waited for a loader, counted again for each caller that shared it. */
  readonly #flights = new Flights<Pending<P>>({
    waited: (attempt) => attempt.waited === true,
    shared: (attempt, waited) => count(this.#ctx, attempt, waited),
    queued: () => {
      this.#ctx.runtime.stats.loaderWaits += 1;
    },
  });

  constructor(runtime: CacheRuntime, options: EntityOptions<P, T>) {
    const resolved = resolveEntityOptions(options, runtime.options);
    this.keys = entityKeys(runtime.options.namespace, resolved.name, resolved.version);
    this.#ctx = { ...resolved, runtime, keys: this.keys, hints: new TagHints(), wakeups: new Wakeups(), refreshing: new Set() };
  }

  /**
   * The value for `params`: from Redis when fresh, else loaded once across the fleet (a lease in
   * Redis); the other callers wait for the holder's fill and read it from Redis. If Redis is slow or
   * down, straight from the loader. Rejects with `CacheKeyError` when the parameters or their tags
   * are invalid.
   *
   * Concurrent calls for one key in this process share their work, but a call is only ever handed
   * the result of an attempt that began after it did (flights.ts): a read that began after a write
   * returned must see it, and a load (or a Redis read) already in flight when it began may predate
   * the write. Callers in other processes wait for the lease holder's fill and read it themselves,
   * judged against the tag tokens of their own read.
   */
  get(params: P, load: (params: P, context: LoadContext) => Promise<T>, options: GetOptions = {}): Promise<CacheResult<T>> {
    let entry: Pending<P>;
    try {
      entry = this.#pending(params);
    } catch (error) {
      return Promise.reject(this.#keyError(error));
    }
    const loadOne: LoadMany<P, T> = async ([only], context) => [await load(only as P, context)];
    return this.#flights
      .join(entry.key, options, () => {
        const attempt: Pending<P> = { ...entry, stale: undefined, result: undefined };
        return settleOne(this.#ctx, attempt, loadOne, options);
      })
      .then((attempt) => attempt.result as CacheResult<T>);
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
    await settle(this.#ctx, [...byKey.values()], loadMany, options);
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
    await this.#ctx.runtime.call('delete', (driver) => driver.delete(keys), { force: true });
  }

  #keyError(error: unknown): unknown {
    if (error instanceof CacheKeyError) this.#ctx.runtime.stats.keyErrors += 1;
    return error;
  }

  /** The keys and tags of one parameter set, built and checked: throws `CacheKeyError` only. */
  #pending(params: P): Pending<P> {
    const pk = paramKey(params);
    let tags: readonly string[] = [];
    const tagsOf = this.#ctx.tags;
    if (tagsOf) {
      let produced: unknown;
      try {
        produced = tagsOf(params);
      } catch (error) {
        if (error instanceof CacheKeyError) throw error;
        throw new CacheKeyError(`The \`tags\` function of entity ${this.keys.entity} threw.`, { reason: 'invalid-tag', cause: error });
      }
      tags = assertTags(produced);
    }
    return { params, key: this.keys.value(pk), leaseKey: this.keys.lease(pk), tags, stale: undefined, result: undefined };
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
