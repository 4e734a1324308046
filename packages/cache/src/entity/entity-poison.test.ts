import { describe, expect, it } from 'vitest';
import { Cache } from '../cache.js';
import type { CacheDriver } from '../drivers/driver.js';
import { MemoryDriver } from '../drivers/memory-driver.js';
import type { CacheEventName } from '../events.js';
import { paramKey } from '../keys/keys.js';
import { forgeEntryTags as withTags } from '../testing/forge.js';

interface Item {
  entity: string;
  id: number;
}

/** A memory store, a raw writer for it (what `SET` in redis-cli would do), and the tag keys every driver read asks for. */
function setup() {
  const clock = { now: 1_700_000_000_000 };
  const store = new MemoryDriver({ now: () => clock.now });
  const tagReads: string[] = [];
  const driver = new Proxy(store, {
    get(target, property, receiver) {
      const original = Reflect.get(target, property, receiver);
      if (property === 'read') {
        return (keys: readonly string[], tagKeys: readonly string[]) => {
          tagReads.push(...tagKeys);
          return target.read(keys, tagKeys);
        };
      }
      return typeof original === 'function' ? original.bind(target) : original;
    },
  }) as CacheDriver;
  const cache = new Cache(driver, {
    namespace: 't',
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms;
    },
    breakerThreshold: 1,
  });
  const events: CacheEventName[] = [];
  for (const event of ['mismatch', 'decode-error', 'error', 'bypass', 'circuit-open'] as const) cache.on(event, () => events.push(event));
  const entity = (name: string, version = 1) => cache.entity<{ id: number }, Item>({ name, version, ttlMs: 60_000, tags: ({ id }) => [`item:${id}`] });
  const loaderOf =
    (entity: string) =>
    async ({ id }: { id: number }): Promise<Item> => ({ entity, id });
  const raw = {
    get: async (key: string) => (await store.read([key], [])).values[0] ?? null,
    /** Writes bytes under a key, as a raw SET would (through a lease the test takes itself). */
    set: async (key: string, value: Buffer) => {
      const leaseKey = `${key}:raw-lease`;
      await store.acquireLeases([leaseKey], 'raw', 1000);
      await store.fill([{ key, leaseKey, value, ttlMs: 60_000, expectTags: [] }], 'raw');
    },
  };
  return { cache, store, raw, events, tagReads, entity, loaderOf };
}

const noLoad = async (): Promise<Item> => {
  throw new Error('the entry was not overwritten');
};

describe('entries are bound to their key', () => {
  it("another key's, entity's or version's real entry is a mismatch: a miss, counted, and overwritten", async () => {
    const { cache, raw, events, entity, loaderOf } = setup();
    const items = entity('item');
    const load = loaderOf('item');
    const sources = [
      { entity: items, params: { id: 11 }, load },
      { entity: entity('other'), params: { id: 10 }, load: loaderOf('other') },
      { entity: entity('item', 2), params: { id: 10 }, load: loaderOf('item-v2') },
    ];
    for (const source of sources) {
      await source.entity.get(source.params, source.load);
      const copied = await raw.get(source.entity.keys.value(paramKey(source.params)));
      expect(copied).not.toBeNull();
      await raw.set(items.keys.value(paramKey({ id: 10 })), copied as Buffer);
      expect(await items.get({ id: 10 }, load)).toEqual({ status: 'miss', value: { entity: 'item', id: 10 } });
      expect(await items.get({ id: 10 }, noLoad)).toEqual({ status: 'fresh', value: { entity: 'item', id: 10 } });
    }
    expect(cache.stats()).toMatchObject({ mismatches: 3, decodeErrors: 0, errors: 0 });
    expect(events).toEqual(['mismatch', 'mismatch', 'mismatch']);
  });

  it('getMany and a lease waiter judge the same way', async () => {
    const { cache, store, raw, entity, loaderOf } = setup();
    const items = entity('item');
    const load = loaderOf('item');
    await items.get({ id: 11 }, load);
    const copy = (await raw.get(items.keys.value(paramKey({ id: 11 })))) as Buffer;
    const keyOf10 = items.keys.value(paramKey({ id: 10 }));
    await raw.set(keyOf10, copy);
    const many = await items.getMany([{ id: 10 }, { id: 11 }], async (list) => Promise.all(list.map(load)));
    expect(many).toEqual([
      { status: 'miss', value: { entity: 'item', id: 10 } },
      { status: 'fresh', value: { entity: 'item', id: 11 } },
    ]);
    expect(await items.get({ id: 10 }, noLoad)).toMatchObject({ status: 'fresh' });
    // A waiter: someone else holds the lease; its polling reads must not take the copy either.
    await raw.set(keyOf10, copy);
    await store.acquireLeases([items.keys.lease(paramKey({ id: 10 }))], 'someone-else', 50);
    expect(await items.get({ id: 10 }, load)).toEqual({ status: 'miss', value: { entity: 'item', id: 10 } });
    expect(cache.stats().mismatches).toBeGreaterThanOrEqual(3);
  });

  it('an entry of the previous format is a miss and overwritten', async () => {
    const { cache, raw, entity, loaderOf } = setup();
    const items = entity('item');
    const v1 = Buffer.concat([Buffer.from([1, 0]), Buffer.from(JSON.stringify({ f: Date.now() + 1e12, s: Date.now() + 1e12, t: {} })), Buffer.from('\n"old"')]);
    await raw.set(items.keys.value(paramKey({ id: 1 })), v1);
    expect(await items.get({ id: 1 }, loaderOf('item'))).toMatchObject({ status: 'miss' });
    expect(await items.get({ id: 1 }, noLoad)).toMatchObject({ status: 'fresh', value: { entity: 'item', id: 1 } });
    expect(cache.stats().decodeErrors).toBe(1);
  });
});

describe('a header with an unusable tag', () => {
  const cases = [
    ...['', 'x'.repeat(1025)].map((bad) => ({ bad, format: 'binary' as const })),
    ...['', 'x'.repeat(1025), '\ud800', 'a\udfffb'].map((bad) => ({ bad, format: 'legacy' as const })),
  ];
  for (const { bad, format } of cases) {
    it(`(${bad.length} characters, ${format} header) is a miss, overwritten, and its tag never becomes a tag key or a hint`, async () => {
      const { cache, raw, events, tagReads, entity, loaderOf } = setup();
      const items = entity('item');
      const load = loaderOf('item');
      const key = items.keys.value(paramKey({ id: 1 }));
      await items.get({ id: 1 }, load);
      const real = (await raw.get(key)) as Buffer;
      await raw.set(key, withTags(real, { [bad]: null, 'item:1': null }, format));
      // get path, getMany path, then again after the entry is gone: the key is cached every time.
      expect(await items.get({ id: 1 }, load)).toMatchObject({ status: 'miss' });
      expect(await items.get({ id: 1 }, noLoad)).toMatchObject({ status: 'fresh' });
      await raw.set(key, withTags(real, { [bad]: null }, format));
      expect((await items.getMany([{ id: 1 }], async (list) => Promise.all(list.map(load))))[0]).toMatchObject({ status: 'miss' });
      expect(await items.get({ id: 1 }, noLoad)).toMatchObject({ status: 'fresh' });
      await items.delete({ id: 1 });
      expect(await items.get({ id: 1 }, load)).toMatchObject({ status: 'miss' });
      expect(await items.get({ id: 1 }, noLoad)).toMatchObject({ status: 'fresh' });
      expect(cache.stats()).toMatchObject({ decodeErrors: 2, errors: 0, bypasses: 0, fills: 4 });
      expect(events).toEqual(['decode-error', 'decode-error']);
      expect(new Set(tagReads)).toEqual(new Set(['t:t:{t#item%3A1}']));
    });
  }
});
