import type { Listener } from '@cachefront/common';
import type { CacheDriver } from './drivers/driver.js';
import { EntityCache } from './entity/entity-cache.js';
import { CacheKeyError, CacheUnavailableError } from './errors.js';
import type { CacheEventName, CacheEvents } from './events.js';
import { assertTags } from './keys/tags.js';
import { type CacheOptions, type EntityOptions, resolveCacheOptions } from './options.js';
import { CacheRuntime } from './runtime/runtime.js';
import { invalidationToken, POSITION } from './tokens.js';
import type { CacheStats } from './types.js';

export interface InvalidateOptions {
  /**
   * The database's replication position after the write (a GTID set), recorded in the tags' tokens:
   * a fill reading a replica first waits until the replica has applied it (`@cachefront/mysql`'s
   * position wait). Core passes it when the database gives one.
   */
  readonly position?: string;
}

/**
 * The cache, as its user sees it: typed entities, invalidation, the tag rules, events and stats.
 * Everything the entities need besides (the call runner with its timeout and circuit breaker, the
 * counters, the driver) lives in a `CacheRuntime` that only they are handed.
 */
export class Cache {
  readonly #runtime: CacheRuntime;

  /** A cache over `driver` (see `createRedisCache` and `createMemoryCache`). Throws `CacheOptionsError` or `CacheKeyError` for a bad option. */
  constructor(driver: CacheDriver, options: CacheOptions = {}) {
    this.#runtime = new CacheRuntime(driver, resolveCacheOptions(options));
  }

  /** A typed view of one entity: its keys, TTLs and tags (entity/entity-cache.ts). */
  entity<P, T>(options: EntityOptions<P, T>): EntityCache<P, T> {
    return new EntityCache<P, T>(this.#runtime, options);
  }

  /**
   * Invalidates tags: every entry carrying one of them stops being fresh, and every fill that
   * loaded before this call is rejected. Throws `CacheUnavailableError` (with the pending tags) when
   * Redis cannot be reached — an invalidation is never dropped silently. Throws `CacheKeyError`, before
   * any I/O and without counting toward the circuit breaker, when a tag breaks the tag rules
   * (`checkTag`).
   */
  async invalidate(tags: readonly string[], options: InvalidateOptions = {}): Promise<void> {
    const runtime = this.#runtime;
    const { position } = options;
    let unique: string[];
    let keys: string[];
    try {
      unique = [...new Set(assertTags(tags))];
      keys = unique.map(runtime.tagKey);
      if (position !== undefined && !(typeof position === 'string' && POSITION.test(position))) {
        throw new CacheKeyError('An invalidation’s `position` must be a replication position (GTIDs: digits, letters, `:`, `,`, `-`).', {
          reason: 'invalid-position',
        });
      }
    } catch (error) {
      runtime.stats.keyErrors += 1;
      throw error;
    }
    if (unique.length === 0) return;
    const token = invalidationToken(runtime.options.now() + (await runtime.clock.offset()), position);
    try {
      // Forced past an open breaker: an invalidation is always tried.
      await runtime.call('invalidate', (driver) => driver.setTags(keys, token, runtime.options.tagTtlMs), { force: true, extraMs: runtime.setTagsExtraMs });
    } catch (error) {
      throw new CacheUnavailableError(`Redis could not be reached to invalidate ${unique.length} tag(s); they are still pending.`, {
        cause: error, // already stripped of keys and secrets by call()
        tags: unique,
      });
    }
    runtime.stats.invalidations += 1;
    runtime.events.emit('invalidate', { tags: unique.length });
  }

  /**
   * Checks tags against the tag rules (`keys/tags.ts`) without touching Redis: throws `CacheKeyError`
   * for a list with a tag that could never be stored or invalidated. Core calls it on a write's
   * tags before the transaction commits, so such a tag never reaches the outbox.
   */
  validateTags(tags: readonly string[]): void {
    assertTags(tags);
  }

  /** Subscribes to an event; returns the function that unsubscribes. Events are also on `cachefront:cache:<event>` diagnostics channels. */
  on<E extends CacheEventName>(event: E, listener: Listener<CacheEvents[E]>): () => void {
    return this.#runtime.events.on(event, listener);
  }

  off<E extends CacheEventName>(event: E, listener: Listener<CacheEvents[E]>): void {
    this.#runtime.events.off(event, listener);
  }

  /**
   * Resolves once the work the cache started in the background has finished — refresh-ahead's
   * early reloads — each waited for at most its entity's `refreshAhead.timeoutMs`. Never rejects.
   * Call it before a Lambda handler returns (`withDataLayer` of `@cachefront/core` does): the
   * process is frozen right after, and nothing may be left running.
   */
  idle(): Promise<void> {
    return this.#runtime.idle();
  }

  /** A copy of the counters. */
  stats(): CacheStats {
    return { ...this.#runtime.stats };
  }

  /** Waits for `idle()`, then stops listening to the driver and closes it (a Redis client handed in by the application stays open). */
  close(): Promise<void> {
    return this.#runtime.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
