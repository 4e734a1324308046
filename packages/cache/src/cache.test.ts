import { describe, expect, it } from 'vitest';
import { Cache } from './cache.js';
import type { CacheDriver } from './drivers/driver.js';
import { MemoryDriver } from './drivers/memory-driver.js';
import { CacheOptionsError, CacheUnavailableError } from './errors.js';
import type { CacheEventName, CacheEvents } from './events.js';
import { tagKey } from './keys.js';
import type { CacheOptions } from './options.js';

interface Product {
  id: number;
  name: string;
  price: string;
  category: string;
  updatedAt: Date;
}

/** Two "processes" (Cache instances) over one store, with a manual clock. */
function setup(options: CacheOptions = {}, driverOverride?: (driver: MemoryDriver) => CacheDriver) {
  const clock = { now: 1_700_000_000_000 };
  const now = () => clock.now;
  const store = new MemoryDriver({ now });
  const driver = driverOverride ? driverOverride(store) : store;
  const advance = (ms: number) => {
    clock.now += ms;
  };
  const base: CacheOptions = { now, sleep: async (ms) => advance(ms), namespace: 't', ...options };
  // The categories' tags exist already (as in any running system): a first load of a product can fill.
  // (A value tag with no token at all makes its first load unstored: see 'tags' below.)
  void store.initTags(
    ['category:tools', 'category:craft'].map((tag) => tagKey('t', tag)),
    'i.seed',
    3_600_000,
  );
  const a = new Cache(driver, base);
  const b = new Cache(driver, base);
  const events: Array<{ event: CacheEventName; payload: unknown }> = [];
  for (const cache of [a, b]) {
    for (const event of [
      'hit',
      'stale',
      'miss',
      'fill',
      'fill-rejected',
      'lease-wait',
      'timeout',
      'error',
      'circuit-open',
      'bypass',
      'decode-error',
      'oversize',
    ] as const) {
      cache.on(event, (payload: CacheEvents[typeof event]) => events.push({ event, payload }));
    }
  }
  return { clock, store, a, b, events, advance };
}

/** A product table the loaders read, with a way to pause a loader between its read and its return. */
function table() {
  const rows = new Map<number, Product>([
    [1, { id: 1, name: 'Hammer', price: '19.90', category: 'tools', updatedAt: new Date('2026-01-01T00:00:00Z') }],
    [2, { id: 2, name: 'Saw', price: '24.50', category: 'tools', updatedAt: new Date('2026-01-01T00:00:00Z') }],
    [3, { id: 3, name: 'Glue', price: '3.10', category: 'craft', updatedAt: new Date('2026-01-01T00:00:00Z') }],
  ]);
  let loads = 0;
  const load = async ({ id }: { id: number }) => {
    loads += 1;
    const row = rows.get(id);
    if (!row) throw new Error(`no product ${id}`);
    return structuredClone(row);
  };
  return { rows, load, loads: () => loads };
}

const productEntity = (cache: Cache, extra: { graceMs?: number; ttlMs?: number; validate?: (v: unknown) => Product } = {}) =>
  cache.entity<{ id: number }, Product>({
    name: 'product',
    version: 1,
    ttlMs: extra.ttlMs ?? 60_000,
    graceMs: extra.graceMs ?? 0,
    tags: ({ id }) => [`product:${id}`],
    valueTags: (value) => [`category:${value.category}`],
    ...(extra.validate ? { validate: extra.validate } : {}),
  });

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
    let resume!: () => void;
    let loaded!: () => void;
    const hasRead = new Promise<void>((resolve) => {
      loaded = resolve;
    });
    const slow = async (params: { id: number }) => {
      const row = await db.load(params);
      loaded();
      await new Promise<void>((resolve) => {
        resume = resolve;
      });
      return row;
    };
    const first = products.get({ id: 1 }, slow);
    await hasRead;
    // A write commits and invalidates while the first load stalls; then a second read begins.
    db.rows.set(1, { ...(db.rows.get(1) as Product), price: '17.00' });
    await a.invalidate(['product:1']);
    const second = products.get({ id: 1 }, db.load);
    await new Promise((resolve) => setTimeout(resolve, 20));
    resume();
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

describe('tags: invalidation and the stale-fill race', () => {
  it('an invalidated tag makes entries carrying it miss, by parameter tag and by value tag', async () => {
    const { a } = setup();
    const db = table();
    const products = productEntity(a);
    await products.get({ id: 1 }, db.load);
    await products.get({ id: 3 }, db.load);
    await a.invalidate(['product:1']);
    expect((await products.get({ id: 1 }, db.load)).status).toBe('miss');
    expect((await products.get({ id: 3 }, db.load)).status).toBe('fresh');
    await a.invalidate(['category:craft']); // known only from the loaded value
    expect((await products.get({ id: 3 }, db.load)).status).toBe('miss');
  });

  it('a reader that read the old row before a write committed never caches it as fresh', async () => {
    const { a, b } = setup();
    const db = table();
    const readerView = productEntity(a);
    const writerView = productEntity(b);
    let resume!: () => void;
    let readDone!: () => void;
    const hasRead = new Promise<void>((resolve) => {
      readDone = resolve;
    });
    // The slow reader: reads the row, then stalls before returning it.
    const slowLoad = async ({ id }: { id: number }) => {
      const row = structuredClone(db.rows.get(id) as Product);
      readDone();
      await new Promise<void>((resolve) => {
        resume = resolve;
      });
      return row;
    };
    const reader = readerView.get({ id: 1 }, slowLoad);
    await hasRead;
    // The writer commits, then invalidates (after COMMIT).
    db.rows.set(1, { ...(db.rows.get(1) as Product), price: '17.00' });
    await b.invalidate(['product:1']);
    resume();
    expect((await reader).value.price).toBe('19.90'); // the reader's own result is what it read
    const after = await writerView.get({ id: 1 }, db.load);
    expect(after.value.price).toBe('17.00');
    expect(after.status).toBe('miss');
    expect(a.stats().fillsRejected).toBe(1);
  });

  it('on a cluster, does not store the first load of an entry whose value tag has no token yet (it may have been lost after an invalidation); the next one is', async () => {
    const { a } = setup({}, clusterLike);
    const db = table();
    const entity = a.entity<{ id: number }, Product>({ name: 'fresh-tag', ttlMs: 60_000, valueTags: (value) => [`brand-new:${value.id}`] });
    expect((await entity.get({ id: 1 }, db.load)).status).toBe('miss');
    expect(a.stats()).toMatchObject({ fills: 0, fillsRejected: 1 });
    expect((await entity.get({ id: 1 }, db.load)).status).toBe('miss');
    expect((await entity.get({ id: 1 }, db.load)).status).toBe('fresh');
    expect(db.loads()).toBe(2);
    // On one store the lease proves nothing was lost during the load: the first load fills.
    const single = setup();
    const other = single.a.entity<{ id: number }, Product>({ name: 'fresh-tag', ttlMs: 60_000, valueTags: (value) => [`brand-new:${value.id}`] });
    expect((await other.get({ id: 1 }, db.load)).status).toBe('miss');
    expect((await other.get({ id: 1 }, db.load)).status).toBe('fresh');
  });

  it('a FLUSHALL during a load takes the lease with it: the fill of the old row is rejected, even with a value tag that now has no token', async () => {
    const { a, store } = setup();
    const db = table();
    const entity = a.entity<{ id: number }, Product>({ name: 'flushed', ttlMs: 60_000, valueTags: (value) => [`flushed-shelf:${value.id}`] });
    const load = async (params: { id: number }) => {
      const row = await db.load(params);
      await a.invalidate([`flushed-shelf:${params.id}`]); // a write lands during the load...
      await store.close(); // ...and then everything is lost (close() empties the memory store, as FLUSHALL would)
      return row;
    };
    await entity.get({ id: 2 }, load);
    expect(a.stats()).toMatchObject({ fills: 0, fillsRejected: 1 });
  });

  it('a tag key lost after an invalidation (a FLUSHALL, a restart) never makes an old fill current: snapshots never hold "absent"', async () => {
    const { a, store } = setup();
    const db = table();
    const products = productEntity(a);
    let resume!: () => void;
    let loaded!: () => void;
    const hasRead = new Promise<void>((resolve) => {
      loaded = resolve;
    });
    const slow = async (params: { id: number }) => {
      const row = await db.load(params);
      loaded();
      await new Promise<void>((resolve) => {
        resume = resolve;
      });
      return row;
    };
    const reader = products.get({ id: 3 }, slow);
    await hasRead;
    db.rows.set(3, { ...(db.rows.get(3) as Product), price: '4.20' });
    await a.invalidate(['product:3']);
    // The tag key is lost after the invalidation, the lease survives (a tag on another node, say).
    await store.delete([tagKey('t', 'product:3')]);
    resume();
    await reader;
    expect(a.stats().fillsRejected).toBe(1);
    expect((await products.get({ id: 3 }, db.load)).value.price).toBe('4.20');
  });

  it('drops a fill whose value tag was invalidated while the loader ran', async () => {
    const { a } = setup({ clockSkewMs: 0 });
    const db = table();
    const products = productEntity(a);
    const load = async (params: { id: number }) => {
      const row = await db.load(params);
      await a.invalidate(['category:tools']); // a write to the category lands during the load
      return row;
    };
    await products.get({ id: 1 }, load);
    expect(a.stats()).toMatchObject({ fills: 0, fillsRejected: 1 });
    expect((await products.get({ id: 1 }, db.load)).status).toBe('miss');
  });

  it('tells the loader when the entry was last invalidated (to read from the writer after a write)', async () => {
    const { a, clock } = setup();
    const products = productEntity(a);
    const seen: Array<number | undefined> = [];
    const db = table();
    const load = async (params: { id: number }, context: { lastInvalidatedAt: number | undefined }) => {
      seen.push(context.lastInvalidatedAt);
      return db.load(params);
    };
    await products.get({ id: 1 }, load);
    const at = clock.now;
    await a.invalidate(['product:1']);
    await products.get({ id: 1 }, load);
    expect(seen).toEqual([undefined, at]);
  });

  it('surfaces an invalidation that cannot reach Redis, naming the pending tags', async () => {
    const { a } = setup({}, (store) => failing(store, ['setTags']));
    const error = await a.invalidate(['product:1', 'category:tools']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheUnavailableError);
    expect(error).toMatchObject({ code: 'E_CACHE_UNAVAILABLE', tags: ['product:1', 'category:tools'] });
  });
});

describe('leases: one load across processes', () => {
  it('a second process waits for the lease holder instead of loading', async () => {
    // Real timers here: the waiter must yield to the event loop while it polls.
    const { a, b } = setup({ leaseWaitMs: 1000, leasePollMs: 5, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) });
    const db = table();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = async (params: { id: number }) => {
      await gate;
      return db.load(params);
    };
    const holder = productEntity(a).get({ id: 2 }, slow);
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    const waiter = productEntity(b).get({ id: 2 }, db.load);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const [h, w] = await Promise.all([holder, waiter]);
    expect(h.status).toBe('miss');
    expect(w.value).toEqual(h.value);
    expect(db.loads()).toBe(1);
    expect(b.stats().leaseWaits).toBe(1);
  });

  it('after leaseWaitMs without a value, the waiter loads itself', async () => {
    const { a, b } = setup({ leaseWaitMs: 50, leasePollMs: 10 });
    const db = table();
    const never = () => new Promise<Product>(() => {});
    void productEntity(a).get({ id: 1 }, never); // a holder that froze
    await new Promise((resolve) => setImmediate(resolve));
    const result = await productEntity(b).get({ id: 1 }, db.load);
    expect(result).toMatchObject({ status: 'miss', value: { name: 'Hammer' } });
    expect(db.loads()).toBe(1);
  });

  it('a delete voids the outstanding lease, so the holder’s late fill is dropped', async () => {
    const { a } = setup();
    const db = table();
    const products = productEntity(a);
    const load = async (params: { id: number }) => {
      const row = await db.load(params);
      await products.delete(params);
      return row;
    };
    await products.get({ id: 1 }, load);
    expect(a.stats()).toMatchObject({ fills: 0, fillsRejected: 1 });
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

/** A driver whose chosen methods fail (while `when()` says so). */
function failing(store: MemoryDriver, methods: ReadonlyArray<keyof CacheDriver>, when: () => boolean = () => true): CacheDriver {
  return new Proxy(store, {
    get(target, property, receiver) {
      const original = Reflect.get(target, property, receiver);
      if (typeof original !== 'function') return original;
      return (...args: unknown[]) => {
        if (methods.includes(property as keyof CacheDriver) && when()) {
          return Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
        }
        return original.apply(target, args);
      };
    },
  });
}

/** A driver that never answers reads. */
/** The store as a cluster looks to the cache: tag keys do not share the fate of the lease (another node). */
function clusterLike(store: MemoryDriver): CacheDriver {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'sharedFate') return false;
      const original = Reflect.get(target, property, receiver);
      return typeof original === 'function' ? original.bind(target) : original;
    },
  });
}

function hanging(store: MemoryDriver): CacheDriver {
  return new Proxy(store, {
    get(target, property, receiver) {
      const original = Reflect.get(target, property, receiver);
      if (property === 'read') return () => new Promise(() => {});
      return typeof original === 'function' ? original.bind(target) : original;
    },
  });
}
