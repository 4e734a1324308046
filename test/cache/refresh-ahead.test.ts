/**
 * Refresh-ahead on the real Redis, with two caches as two processes: a hot key read near its
 * expiry by both at once is reloaded once (the lease), both readers are answered from the cache at
 * once, and after `idle()` the key holds the reloaded value with a new TTL.
 */
import { createRedisCache } from '@cachefront/cache';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../support/env.js';
import { randomNamespace } from '../support/redis.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('refresh-ahead on Redis', () => {
  const namespace = randomNamespace('cfra');
  // Every draw says "reload" (U tiny): the test is about what a reload does, not when.
  const caches = [0, 1].map(() => createRedisCache({ redis: REDIS_URL, namespace, commandTimeoutMs: 1000, random: () => 1e-12 }));
  afterAll(async () => {
    await Promise.all(caches.map((cache) => cache.close()));
  });

  it('reloads a hot key once across processes, answers its readers from the cache, and fills a new TTL', async () => {
    let loads = 0;
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The reload waits at the gate: its readers must be answered while it is still running.
    const load = async ({ id }: { id: number }) => {
      loads += 1;
      const n = loads;
      // The first load takes 30 ms (refresh-ahead weighs by it: a load of no time is never reloaded early).
      if (n === 1) await sleep(30);
      else await gate;
      return `row ${id} v${n}`;
    };
    const [one, two] = caches.map((cache) =>
      cache.entity<{ id: number }, string>({ name: 'hot', ttlMs: 1000, tags: ({ id }) => [`hot:${id}`], refreshAhead: true }),
    );
    if (!one || !two) throw new Error('two caches');
    const filled = performance.now();
    expect(await one.get({ id: 1 }, load)).toEqual({ status: 'miss', value: 'row 1 v1' });
    await sleep(500);
    const [a, b] = await Promise.all([one.get({ id: 1 }, load), two.get({ id: 1 }, load)]);
    expect([a, b]).toEqual([
      { status: 'fresh', value: 'row 1 v1' },
      { status: 'fresh', value: 'row 1 v1' },
    ]);
    release();
    await Promise.all(caches.map((cache) => cache.idle()));
    expect(loads).toBe(2);
    const stats = caches.map((cache) => cache.stats());
    expect(stats.map((s) => s.refreshes).sort()).toEqual([0, 1]);
    // The reload filled: past the first fill's TTL (1,000 ms after it), the key is still fresh, with the reloaded row.
    await sleep(1200 - (performance.now() - filled));
    expect(await two.get({ id: 1 }, load)).toEqual({ status: 'fresh', value: 'row 1 v2' });
    await Promise.all(caches.map((cache) => cache.idle()));
  });
});
