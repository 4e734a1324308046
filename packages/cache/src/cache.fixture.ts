/**
 * The fixture of the Cache's unit tests (not a test file: excluded from the build and not shipped):
 * two "processes" over one memory store with a manual clock, a product table, and drivers that fail,
 * hang or look like a cluster.
 */
import { Cache } from './cache.js';
import type { CacheDriver } from './drivers/driver.js';
import { MemoryDriver } from './drivers/memory-driver.js';
import type { CacheEventName, CacheEvents } from './events.js';
import { tagKey } from './keys/keys.js';
import type { CacheOptions } from './options.js';

export interface Product {
  id: number;
  name: string;
  price: string;
  category: string;
  updatedAt: Date;
}

/** Two "processes" (Cache instances) over one store, with a manual clock. */
export function setup(options: CacheOptions = {}, driverOverride?: (driver: MemoryDriver) => CacheDriver) {
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
export function table() {
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

/**
 * A loader that reads (through `read`), then stalls until `resume()`: `hasRead` resolves once it
 * has read. A slow reader, caught between its database read and its fill.
 */
export function stalled<P, T>(read: (params: P) => Promise<T>) {
  let resume = () => {};
  let readDone = () => {};
  const hasRead = new Promise<void>((resolve) => {
    readDone = resolve;
  });
  const gate = new Promise<void>((resolve) => {
    resume = resolve;
  });
  const load = async (params: P) => {
    const row = await read(params);
    readDone();
    await gate;
    return row;
  };
  return { load, hasRead, resume: () => resume() };
}

export const productEntity = (cache: Cache, extra: { graceMs?: number; ttlMs?: number; validate?: (v: unknown) => Product } = {}) =>
  cache.entity<{ id: number }, Product>({
    name: 'product',
    version: 1,
    ttlMs: extra.ttlMs ?? 60_000,
    graceMs: extra.graceMs ?? 0,
    tags: ({ id }) => [`product:${id}`],
    valueTags: (value) => [`category:${value.category}`],
    ...(extra.validate ? { validate: extra.validate } : {}),
  });

/** A driver whose chosen methods fail (while `when()` says so). */
export function failing(store: MemoryDriver, methods: ReadonlyArray<keyof CacheDriver>, when: () => boolean = () => true): CacheDriver {
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

/** The store as a cluster looks to the cache: tag keys do not share the fate of the lease (another node). */
export function clusterLike(store: MemoryDriver): CacheDriver {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'sharedFate') return false;
      const original = Reflect.get(target, property, receiver);
      return typeof original === 'function' ? original.bind(target) : original;
    },
  });
}

/** A driver that never answers reads. */
export function hanging(store: MemoryDriver): CacheDriver {
  return new Proxy(store, {
    get(target, property, receiver) {
      const original = Reflect.get(target, property, receiver);
      if (property === 'read') return () => new Promise(() => {});
      return typeof original === 'function' ? original.bind(target) : original;
    },
  });
}
