import { describe, expect, it } from 'vitest';
import { failing, setup, stalled } from '../cache.fixture.js';
import type { Cache } from '../cache.js';

/**
 * A read is one of hit, stale or miss, counted once: `hits + stale + misses` is the number of
 * reads, and each read's counter is the one its status names — however many times it polled a
 * lease holder, and whether Redis answered or not.
 */
const item = (cache: Cache, extra: { graceMs?: number; staleWhileWaiting?: boolean } = {}) =>
  cache.entity<{ id: number }, string>({ name: 'item', ttlMs: 1000, tags: ({ id }) => [`item:${id}`], ...extra });

const outcomes = (cache: Cache) => {
  const { hits, stale, misses } = cache.stats();
  return { hits, stale, misses };
};

/** A loader that holds its lease until `release()`. */
function held() {
  const { load, resume } = stalled(async () => 'from the holder');
  return { load, release: resume };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('read outcomes are counted once', () => {
  it('a waiter that polls a lease holder many times, then loads itself, is one miss', async () => {
    const { a, b, events } = setup({ leaseWaitMs: 50, leasePollMs: 5 });
    const holder = held();
    void item(a).get({ id: 1 }, holder.load);
    await tick();
    const result = await item(b).get({ id: 1 }, async () => 'loaded myself');
    expect(result.status).toBe('miss');
    expect(outcomes(b)).toEqual({ hits: 0, stale: 0, misses: 1 });
    expect(b.stats().leaseWaits).toBe(1);
    holder.release();
    await tick();
    expect(outcomes(a)).toEqual({ hits: 0, stale: 0, misses: 1 });
    expect(events.filter((e) => e.event === 'miss')).toHaveLength(2);
  });

  it("a waiter that reads the holder's fill is one hit, not a miss and a hit", async () => {
    const { a, b } = setup({ leaseWaitMs: 2000, leasePollMs: 5, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) });
    const holder = held();
    const first = item(a).get({ id: 1 }, holder.load);
    await tick();
    const second = item(b).get({ id: 1 }, async () => 'loaded myself');
    await new Promise((resolve) => setTimeout(resolve, 20));
    holder.release();
    expect((await first).status).toBe('miss');
    expect(await second).toEqual({ status: 'fresh', value: 'from the holder' });
    expect(outcomes(a)).toEqual({ hits: 0, stale: 0, misses: 1 });
    expect(outcomes(b)).toEqual({ hits: 1, stale: 0, misses: 0 });
  });

  it('a stale answer (failSafe after a loader error) is one stale, not a miss and a stale', async () => {
    const { a, advance, events } = setup();
    const items = item(a, { graceMs: 5000 });
    await items.get({ id: 1 }, async () => 'v1');
    advance(2000);
    const served = await items.get(
      { id: 1 },
      async () => {
        throw new Error('database down');
      },
      { failSafe: true },
    );
    expect(served).toEqual({ status: 'stale', value: 'v1' });
    expect(outcomes(a)).toEqual({ hits: 0, stale: 1, misses: 1 });
    expect(events.filter((e) => e.event === 'miss')).toHaveLength(1);
  });

  it('a stale answer after waiting for a holder (staleWhileWaiting) is one stale', async () => {
    const { a, b, advance } = setup({ leaseWaitMs: 50, leasePollMs: 5 });
    await item(a, { graceMs: 5000 }).get({ id: 1 }, async () => 'v1');
    advance(2000);
    const holder = held();
    void item(a, { graceMs: 5000 }).get({ id: 1 }, holder.load);
    await tick();
    const served = await item(b, { graceMs: 5000, staleWhileWaiting: true }).get({ id: 1 }, async () => 'loaded myself');
    expect(served).toEqual({ status: 'stale', value: 'v1' });
    expect(outcomes(b)).toEqual({ hits: 0, stale: 1, misses: 0 });
    holder.release();
  });

  it('a read answered by the loader because Redis failed is one miss', async () => {
    const { a, events } = setup({}, (store) => failing(store, ['read']));
    expect((await item(a).get({ id: 1 }, async () => 'loaded')).status).toBe('miss');
    expect(outcomes(a)).toEqual({ hits: 0, stale: 0, misses: 1 });
    expect(events.filter((e) => e.event === 'miss')).toHaveLength(1);
  });

  it('a read whose tags cannot be given a token (initTags refused) is answered by the loader, as a bypass, through get and getMany', async () => {
    const { a, events } = setup({}, (store) => failing(store, ['initTags']));
    expect((await item(a).get({ id: 7 }, async () => 'loaded')).status).toBe('miss');
    expect((await item(a).getMany([{ id: 8 }], async () => ['loaded']))[0]?.status).toBe('miss');
    expect(outcomes(a)).toEqual({ hits: 0, stale: 0, misses: 2 });
    expect(events.filter((e) => e.event === 'bypass')).toHaveLength(2);
  });

  it('getMany counts each parameter set once: hits, then misses loaded together', async () => {
    const { a } = setup();
    const items = item(a);
    await items.get({ id: 1 }, async () => 'one');
    await items.getMany([{ id: 1 }, { id: 2 }, { id: 3 }], async (list) => list.map(({ id }) => `item ${id}`));
    expect(outcomes(a)).toEqual({ hits: 1, stale: 0, misses: 3 });
  });

  it('callers that share one attempt in this process are each one answer: N hits, or N misses that waited for the loader', async () => {
    const { a, events } = setup();
    const items = item(a);
    const holder = held();
    // The first caller loads; the 9 that join meanwhile share the next attempt, a hit of its fill.
    const cold = await Promise.all(
      [items.get({ id: 1 }, holder.load), ...Array.from({ length: 9 }, () => items.get({ id: 1 }, holder.load))].map(async (p, i) => {
        if (i === 0) setImmediate(holder.release);
        return p;
      }),
    );
    expect(cold.map((r) => r.status)).toEqual(['miss', ...Array.from({ length: 9 }, () => 'fresh')]);
    // All 10 waited for the one load: the first for its own, the 9 queued behind it.
    expect(a.stats()).toMatchObject({ hits: 9, stale: 0, misses: 1, loads: 1, loaderWaits: 10 });
    const warm = await Promise.all(Array.from({ length: 10 }, () => items.get({ id: 1 }, holder.load)));
    expect(warm.every((r) => r.status === 'fresh')).toBe(true);
    expect(a.stats()).toMatchObject({ hits: 19, misses: 1, loads: 1, loaderWaits: 10 });
    expect(events.filter((e) => e.event === 'hit')).toHaveLength(19);
  });

  it('callers that join a read waiting for a lease holder share its wait: each counts as one that waited for a loader', async () => {
    const { a, b } = setup({ leaseWaitMs: 2000, leasePollMs: 5, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) });
    const holder = held();
    const first = item(a).get({ id: 1 }, holder.load);
    await tick();
    const items = item(b);
    const waiters = Array.from({ length: 5 }, () => items.get({ id: 1 }, async () => 'loaded myself'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    holder.release();
    await first;
    const served = await Promise.all(waiters);
    expect(served.every((r) => r.status === 'fresh' && r.value === 'from the holder')).toBe(true);
    // The first waiter's attempt waited for the holder; the other 4 joined after it began, queued
    // behind it, and were served by the next attempt, a plain hit: all 5 waited for the loader.
    expect(b.stats()).toMatchObject({ hits: 5, misses: 0, leaseWaits: 1, loaderWaits: 5 });
  });
});
