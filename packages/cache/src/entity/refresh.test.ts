import { describe, expect, it } from 'vitest';
import { setup, stalled } from '../cache.fixture.js';
import type { Cache } from '../cache.js';
import type { ReadHeader } from '../entry/entry.js';
import type { CacheEvents } from '../events.js';
import type { EntityOptions } from '../options.js';
import type { EntityContext } from './context.js';
import { wantsRefresh } from './refresh.js';

const TTL = 1000;
const LOAD_MS = 50;

/** An entity whose first load takes LOAD_MS on the manual clock, and whose loader returns `v<n>` for its n-th call. */
function hot(cache: Cache, advance: (ms: number) => void, options: Pick<EntityOptions<{ id: number }, string>, 'refreshAhead'> = { refreshAhead: true }) {
  let calls = 0;
  const items = cache.entity<{ id: number }, string>({ name: 'hot', ttlMs: TTL, tags: ({ id }) => [`hot:${id}`], ...options });
  // Only the first load takes time on the manual clock: a reload that moved it would age the reads around it.
  const load = async () => {
    calls += 1;
    if (calls === 1) advance(LOAD_MS);
    return `v${calls}`;
  };
  return { items, load, calls: () => calls };
}

const refreshEvents = (cache: Cache) => {
  const seen: Array<CacheEvents['refresh']['outcome']> = [];
  cache.on('refresh', ({ outcome }) => seen.push(outcome));
  return seen;
};

describe('refresh-ahead', () => {
  it('answers a hit near expiry from the cache at once, reloads it under the lease, and idle() awaits the reload', async () => {
    const { a, advance } = setup({ random: () => 1e-9 });
    const outcomes = refreshEvents(a);
    const { items, load, calls } = hot(a, advance);
    expect(await items.get({ id: 1 }, load)).toEqual({ status: 'miss', value: 'v1' });
    advance(TTL - LOAD_MS - 10);
    expect(await items.get({ id: 1 }, load)).toEqual({ status: 'fresh', value: 'v1' });
    await a.idle();
    expect(calls()).toBe(2);
    expect(outcomes).toEqual(['loaded']);
    // The reload's fill is what the next reads get, fresh for a whole TTL from the reload (whose
    // load took no time: it is never drawn for an early reload itself).
    advance(TTL - 100);
    expect(await items.get({ id: 1 }, load)).toEqual({ status: 'fresh', value: 'v2' });
    await a.idle();
    // Every read counted once: the reload is no read of its own.
    expect(a.stats()).toMatchObject({ hits: 2, misses: 1, stale: 0, loads: 2, refreshes: 1, loaderWaits: 1 });
  });

  it('never reloads early when the draw says no, nor with refresh-ahead off (the default)', async () => {
    for (const [random, options] of [
      [() => 1 - Number.EPSILON, { refreshAhead: true }],
      [() => 1e-9, {}],
    ] as const) {
      const { a, advance } = setup({ random });
      const { items, load, calls } = hot(a, advance, options);
      await items.get({ id: 1 }, load);
      advance(TTL - LOAD_MS - 1);
      expect(await items.get({ id: 1 }, load)).toMatchObject({ status: 'fresh' });
      await a.idle();
      expect(calls()).toBe(1);
      expect(a.stats().refreshes).toBe(0);
    }
  });

  it('leaves the reload to the process that holds the lease', async () => {
    const { a, b, advance, store } = setup({ random: () => 1e-9 });
    const outcomes = refreshEvents(b);
    const { items, load, calls } = hot(a, advance);
    await items.get({ id: 1 }, load);
    advance(TTL - LOAD_MS - 10);
    // Another process is reloading: it holds the key's lease.
    await store.acquireLeases([items.keys.lease('{"id":1}')], 'another-process', 5000);
    const other = hot(b, advance);
    expect(await other.items.get({ id: 1 }, other.load)).toEqual({ status: 'fresh', value: 'v1' });
    await b.idle();
    expect(outcomes).toEqual(['skipped']);
    expect(calls() + other.calls()).toBe(1);
  });

  it('starts one reload per key in a process, however many hits drew one', async () => {
    const { a, advance } = setup({ random: () => 1e-9 });
    const { items, load, calls } = hot(a, advance);
    await items.get({ id: 1 }, load);
    advance(TTL - LOAD_MS - 10);
    const reads = await Promise.all(Array.from({ length: 20 }, () => items.get({ id: 1 }, load)));
    // All hits: the first answered with v1; those queued behind it read after the reload may have filled v2.
    expect(reads.every((r) => r.status === 'fresh' && (r.value === 'v1' || r.value === 'v2'))).toBe(true);
    await a.idle();
    expect(calls()).toBe(2);
  });

  it('drops the fill of a reload whose tag was invalidated while it loaded: the next read loads the new value', async () => {
    const { a, advance } = setup({ random: () => 1e-9 });
    let version = 1;
    const { load: pausedLoad, resume } = stalled(async () => `v${version}`);
    const items = a.entity<{ id: number }, string>({ name: 'hot', ttlMs: TTL, tags: ({ id }) => [`hot:${id}`], refreshAhead: true });
    await items.get({ id: 1 }, async () => {
      advance(LOAD_MS);
      return 'v1';
    });
    advance(TTL - LOAD_MS - 10);
    expect(await items.get({ id: 1 }, pausedLoad)).toEqual({ status: 'fresh', value: 'v1' });
    // A write commits and invalidates while the reload's loader runs (it read the old row).
    version = 2;
    await a.invalidate(['hot:1']);
    resume();
    await a.idle();
    expect(a.stats().fillsRejected).toBe(1);
    expect(await items.get({ id: 1 }, async () => 'v2')).toEqual({ status: 'miss', value: 'v2' });
  });

  it('makes idle() wait for a reload at most its timeoutMs, and leaves the rest to the lease', async () => {
    const { a, advance } = setup({ random: () => 1e-9 });
    const items = a.entity<{ id: number }, string>({ name: 'hot', ttlMs: TTL, refreshAhead: { timeoutMs: 30 } });
    await items.get({ id: 1 }, async () => {
      advance(LOAD_MS);
      return 'v1';
    });
    advance(TTL - LOAD_MS - 10);
    const { load: never } = stalled(async () => 'never');
    await items.get({ id: 1 }, never);
    const started = performance.now();
    await a.idle();
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(25);
    expect(waited).toBeLessThan(1000);
  });

  it('reloads early with the probability XFetch gives: e^(-remaining / (loadMs × beta))', () => {
    // What the draw reads of an entity: its refresh-ahead and the cache's random numbers (the real ones here).
    const ctx = { refreshAhead: { beta: 2, timeoutMs: 0 }, runtime: { options: { random: Math.random } } } as unknown as EntityContext<unknown, unknown>;
    const header = { loadMs: 100, freshUntil: 10_000 } as ReadHeader;
    const share = (remaining: number) => {
      let yes = 0;
      for (let i = 0; i < 20_000; i += 1) if (wantsRefresh(ctx, header, 10_000 - remaining)) yes += 1;
      return yes / 20_000;
    };
    // remaining / (loadMs × beta) = 1 → e^-1 ≈ 0.368; = 0.25 → 0.779; = 3 → 0.0498; past the end → 1.
    expect(share(200)).toBeCloseTo(Math.exp(-1), 1);
    expect(share(50)).toBeCloseTo(Math.exp(-0.25), 1);
    expect(share(600)).toBeCloseTo(Math.exp(-3), 1);
    expect(share(0)).toBe(1);
  });
});
