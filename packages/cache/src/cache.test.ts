import { describe, expect, it } from 'vitest';
import { failing, hanging, type Product, productEntity, setup, stalled, table } from './cache.fixture.js';
import { Cache } from './cache.js';
import { MemoryDriver } from './drivers/memory-driver.js';
import { CacheOptionsError } from './errors.js';

describe('get', () => {
  it('loads on a miss, then answers from the cache with the exact value (Dates, DECIMAL strings)', async () => {
    const { a } = setup();
    const db = table();
    const products = productEntity(a);
    const first = await products.get({ id: 1 }, db.load);
    expect(first.status).toBe('miss');
    const second = await products.get({ id: 1 }, db.load);
    expect(second.status).toBe('fresh');
    expect(second.value).toEqual(db.rows.get(1));
    expect(second.value.updatedAt).toBeInstanceOf(Date);
    expect(second.value.price).toBe('19.90');
    expect(db.loads()).toBe(1);
    expect(a.stats()).toMatchObject({ hits: 1, misses: 1, fills: 1, loads: 1 });
  });

  it('is fresh for ttlMs, then stale inside graceMs (only when the loader fails and failSafe is asked), then gone', async () => {
    const { a, advance } = setup();
    const db = table();
    const products = productEntity(a, { ttlMs: 1000, graceMs: 5000 });
    await products.get({ id: 1 }, db.load);
    advance(999);
    expect((await products.get({ id: 1 }, db.load)).status).toBe('fresh');
    advance(2);
    // Past its TTL: reloaded (a stale entry is not served while the loader works).
    expect((await products.get({ id: 1 }, db.load)).status).toBe('miss');
    expect(db.loads()).toBe(2);
    advance(1500);
    const failing = async () => {
      throw new Error('database down');
    };
    const served = await products.get({ id: 1 }, failing, { failSafe: true });
    expect(served).toMatchObject({ status: 'stale', value: { id: 1 } });
    await expect(products.get({ id: 1 }, failing)).rejects.toThrow('database down');
    // A predicate chooses which errors may fall back to the stale value.
    await expect(products.get({ id: 1 }, failing, { failSafe: (error) => (error as Error).message === 'bug' })).rejects.toThrow('database down');
    expect((await products.get({ id: 1 }, failing, { failSafe: (error) => (error as Error).message === 'database down' })).status).toBe('stale');
    advance(5000);
    await expect(products.get({ id: 1 }, failing, { failSafe: true })).rejects.toThrow('database down');
  });

  it('concurrent callers in one process load once (through the lease), and each reads the value from the cache itself', async () => {
    // Real timers: the waiters must yield to the event loop while they wait for the holder's fill.
    const { a } = setup({ leaseWaitMs: 2000, leasePollMs: 5, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) });
    const db = table();
    const products = productEntity(a);
    const results = await Promise.all(Array.from({ length: 50 }, () => products.get({ id: 2 }, db.load)));
    expect(db.loads()).toBe(1);
    expect(new Set(results.map((r) => r.value.name))).toEqual(new Set(['Saw']));
    expect(results.filter((r) => r.status === 'miss')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'fresh')).toHaveLength(49);
  });

  it('never hands a caller a load that was already running when it began (a write may have returned in between)', async () => {
    const { a } = setup({ leaseWaitMs: 2000, leasePollMs: 5, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) });
    const db = table();
    const products = productEntity(a);
    const slow = stalled(db.load);
    const first = products.get({ id: 1 }, slow.load);
    await slow.hasRead;
    // A write commits and invalidates while the first load stalls; then a second read begins.
    db.rows.set(1, { ...(db.rows.get(1) as Product), price: '17.00' });
    await a.invalidate(['product:1']);
    const second = products.get({ id: 1 }, db.load);
    await new Promise((resolve) => setTimeout(resolve, 20));
    slow.resume();
    expect((await first).value.price).toBe('19.90'); // overlapped the write: either answer is right
    expect((await second).value.price).toBe('17.00'); // began after it: must see it
  });

  it('never lets two parameter sets share an entry', async () => {
    const { a } = setup();
    const entity = a.entity<Record<string, unknown>, string>({ name: 'echo', ttlMs: 60_000 });
    const load = async (params: Record<string, unknown>) => JSON.stringify(params);
    const sets: Array<Record<string, unknown>> = [{ id: 1 }, { id: '1' }, { id: 1, x: undefined }, { id: [1] }, { a: 'b:c' }, { 'a:b': 'c' }];
    for (const params of sets) await entity.get(params, load);
    for (const params of sets) expect((await entity.get(params, load)).value).toBe(JSON.stringify(params));
  });
});

describe('getMany', () => {
  it('reads all keys at once, loads all misses in one loader call, and fills them', async () => {
    const { a } = setup();
    const db = table();
    const products = productEntity(a);
    await products.get({ id: 1 }, db.load);
    const calls: number[][] = [];
    const loadMany = async (list: readonly { id: number }[]) => {
      calls.push(list.map((p) => p.id));
      return Promise.all(list.map(db.load));
    };
    const results = await products.getMany([{ id: 1 }, { id: 2 }, { id: 3 }, { id: 2 }], loadMany);
    expect(results.map((r) => [r.value.id, r.status])).toEqual([
      [1, 'fresh'],
      [2, 'miss'],
      [3, 'miss'],
      [2, 'miss'],
    ]);
    expect(calls).toEqual([[2, 3]]);
    const again = await products.getMany([{ id: 1 }, { id: 2 }, { id: 3 }], loadMany);
    expect(again.every((r) => r.status === 'fresh')).toBe(true);
    expect(calls).toHaveLength(1);
  });
});

describe('bad cached data', () => {
  it('treats an undecodable entry as a miss, counts it, and overwrites it', async () => {
    const { a, store } = setup();
    const db = table();
    const products = productEntity(a);
    await products.get({ id: 1 }, db.load);
    // Corrupt the stored bytes (an older deploy, a bad write): replace the entry with garbage.
    const key = products.keys.value('{"id":1}');
    await store.delete([key]);
    await store.acquireLeases([products.keys.lease('{"id":1}')], 'tok', 1000);
    await store.fill([{ key, leaseKey: products.keys.lease('{"id":1}'), value: Buffer.from('garbage'), ttlMs: 60_000, expectTags: [] }], 'tok');
    const result = await products.get({ id: 1 }, db.load);
    expect(result.status).toBe('miss');
    expect(a.stats().decodeErrors).toBe(1);
    expect((await products.get({ id: 1 }, db.load)).status).toBe('fresh');
  });

  it('treats a value that no longer matches the schema as a miss', async () => {
    const { a } = setup();
    const db = table();
    await productEntity(a).get({ id: 1 }, db.load);
    const strict = productEntity(a, {
      validate: (value) => {
        if (typeof (value as { sku?: unknown }).sku !== 'string') throw new Error('schema mismatch');
        return value as Product;
      },
    });
    const result = await strict.get({ id: 1 }, async (params) => ({ ...(await db.load(params)), sku: 'H-1' }));
    expect(result.status).toBe('miss');
    expect(a.stats().decodeErrors).toBe(1);
  });

  it('does not cache values above maxValueBytes, and says so', async () => {
    const { a, events } = setup({ maxValueBytes: 200, compressAboveBytes: 1_000_000 });
    const blobs = a.entity<{ id: number }, string>({ name: 'blob', ttlMs: 60_000 });
    await blobs.get({ id: 1 }, async () => 'x'.repeat(500));
    expect((await blobs.get({ id: 1 }, async () => 'x'.repeat(500))).status).toBe('miss');
    expect(a.stats().oversize).toBe(2);
    expect(events.some((e) => e.event === 'oversize')).toBe(true);
  });

  it('compresses large values and reads them back', async () => {
    const { a } = setup({ compressAboveBytes: 100 });
    const blobs = a.entity<{ id: number }, string>({ name: 'blob', ttlMs: 60_000 });
    const big = 'abc'.repeat(10_000);
    await blobs.get({ id: 1 }, async () => big);
    expect((await blobs.get({ id: 1 }, async () => '')).value).toBe(big);
  });
});

describe('Redis trouble never takes reads down', () => {
  it('falls through to the loader when Redis errors, and opens the breaker after the threshold', async () => {
    const { a, events } = setup({ breakerThreshold: 2, breakerOpenMs: 1000 }, (store) => failing(store, ['read', 'acquireLeases', 'fill']));
    const db = table();
    const products = productEntity(a);
    for (let i = 0; i < 5; i += 1) expect((await products.get({ id: 1 }, db.load)).value.name).toBe('Hammer');
    expect(db.loads()).toBe(5);
    expect(events.filter((e) => e.event === 'circuit-open')).toHaveLength(1);
    expect(a.stats().bypasses).toBeGreaterThanOrEqual(3); // skipped Redis without waiting
  });

  it('gives up on a hanging Redis after commandTimeoutMs', async () => {
    const { a, events } = setup({ commandTimeoutMs: 20 }, (store) => hanging(store));
    const db = table();
    const started = Date.now();
    const result = await productEntity(a).get({ id: 1 }, db.load);
    expect(result.value.name).toBe('Hammer');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(events.some((e) => e.event === 'timeout')).toBe(true);
  });

  it('closes the breaker after a successful trial once Redis is back', async () => {
    let broken = true;
    const { a, advance, events } = setup({ breakerThreshold: 1, breakerOpenMs: 500 }, (store) => failing(store, ['read'], () => broken));
    const db = table();
    const products = productEntity(a);
    await products.get({ id: 1 }, db.load);
    broken = false;
    await products.get({ id: 1 }, db.load); // still open: bypassed
    expect(a.stats().bypasses).toBe(1);
    advance(500);
    await products.get({ id: 1 }, db.load); // trial succeeds, caching resumes
    expect((await products.get({ id: 1 }, db.load)).status).toBe('fresh');
    expect(events.some((e) => e.event === 'circuit-open')).toBe(true);
  });
});

describe('options and events', () => {
  it('refuses bad options naming them', () => {
    expect(() => new Cache(new MemoryDriver(), { commandTimeoutMs: 0 })).toThrow(CacheOptionsError);
    expect(() => new Cache(new MemoryDriver(), { namespace: 'a b' })).toThrow(/namespace/);
    const cache = new Cache(new MemoryDriver(), { tagTtlMs: 1000 });
    expect(() => cache.entity({ name: 'x', ttlMs: 2000 })).toThrow(/tagTtlMs/);
    expect(() => cache.entity({ name: 'bad name', ttlMs: 10 })).toThrow(/entity name/);
  });

  it('events carry no parameters and no values', async () => {
    const { a, events } = setup();
    const secrets = a.entity<{ email: string }, string>({ name: 'user', ttlMs: 60_000, tags: ({ email }) => [`user:${email}`] });
    await secrets.get({ email: 'carol@secret.example' }, async () => 'token-123');
    await secrets.get({ email: 'carol@secret.example' }, async () => 'token-123');
    const text = JSON.stringify(events);
    expect(text).not.toContain('carol@secret.example');
    expect(text).not.toContain('token-123');
    expect(events.map((e) => e.event)).toEqual(['miss', 'fill', 'hit']);
  });
});
