/**
 * Poisoned entries (issue 7): bytes written straight into Redis under an entry's key — the real
 * entry of another key, of another entity or schema version, a real entry with a forged header
 * (random tags, unusable tags, a wrong format byte), random bytes, truncations. Whatever is there,
 * a read never serves another key's value as `fresh`; a bad entry is a miss, and after the read
 * the key holds a correct entry again (the next read is a `fresh` hit with the right value).
 * Checked through `get`, `getMany` and a lease waiter's polling read.
 */
import { type Cache, createRedisCache, type EntityCache, paramKey } from '@cachefront/cache';
import { forgeEntryTags } from '@cachefront/cache/testing';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../support/env.js';
import { invalidTag } from '../support/hostile.js';
import { propertyFamily } from '../support/property.js';
import { randomNamespace } from '../support/redis.js';

const family = propertyFamily('cache-poison');

interface Item {
  readonly entity: string;
  readonly id: number;
  readonly body: string;
}
type Params = { id: number };

/** The current binary header, or the previous JSON one (still read), forged. */
type HeaderFormat = 'binary' | 'legacy';
const headerFormat = fc.constantFrom<HeaderFormat>('binary', 'legacy');

type Forgery =
  | { kind: 'other-key' }
  | { kind: 'other-entity' }
  | { kind: 'other-version' }
  | { kind: 'tags'; tags: Record<string, string | null>; format: HeaderFormat }
  | { kind: 'bad-tag'; tag: string; format: HeaderFormat }
  | { kind: 'format-byte'; byte: number }
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'truncated'; at: number };

const forgery: fc.Arbitrary<Forgery> = fc.oneof(
  fc.constant({ kind: 'other-key' as const }),
  fc.constant({ kind: 'other-entity' as const }),
  fc.constant({ kind: 'other-version' as const }),
  fc.record({
    kind: fc.constant('tags' as const),
    tags: fc.dictionary(
      fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.constantFrom('item:1', '__proto__')),
      fc.option(fc.string({ maxLength: 8 }), { nil: null }),
      {
        maxKeys: 3,
      },
    ),
    format: headerFormat,
  }),
  fc.record({
    kind: fc.constant('bad-tag' as const),
    tag: fc.oneof(fc.constantFrom('', '\ud800', 'a\udfffb', 'x'.repeat(1025)), invalidTag),
    format: headerFormat,
  }),
  fc.record({ kind: fc.constant('format-byte' as const), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ kind: fc.constant('truncated' as const), at: fc.nat() }),
);

const readPath = fc.oneof(
  { weight: 4, arbitrary: fc.constant('get' as const) },
  { weight: 2, arbitrary: fc.constant('many' as const) },
  { weight: 1, arbitrary: fc.constant('waiter' as const) },
);
/** Small bodies, and large repetitive ones that are stored deflated. */
const body = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ minLength: 1, maxLength: 8 }).map((s) => s.repeat(1000)),
);

describe('cache-poison: raw entries never serve another key, and are overwritten', () => {
  let cache: Cache;
  let raw: Redis;
  let items: EntityCache<Params, Item>;
  let items2: EntityCache<Params, Item>;
  let others: EntityCache<Params, Item>;
  beforeAll(() => {
    // Lease waits are short and timeouts generous: this test is about bytes, not a slow machine.
    cache = createRedisCache({ redis: REDIS_URL, namespace: randomNamespace('cfp'), commandTimeoutMs: 2000, leaseWaitMs: 6, leasePollMs: 2 });
    raw = new Redis(REDIS_URL);
    items = cache.entity<Params, Item>({ name: 'item', version: 1, ttlMs: 60_000, tags: ({ id }) => [`item:${id}`] });
    items2 = cache.entity<Params, Item>({ name: 'item', version: 2, ttlMs: 60_000, tags: ({ id }) => [`item:${id}`] });
    others = cache.entity<Params, Item>({ name: 'other', version: 1, ttlMs: 60_000, tags: ({ id }) => [`item:${id}`] });
  });
  afterAll(async () => {
    raw.disconnect();
    await cache.close();
  });

  const loaderOf =
    (entity: string, body: string) =>
    async ({ id }: Params): Promise<Item> => ({ entity, id, body });

  it('every forged entry is a miss or the right value, and the key holds a correct entry afterwards', async () => {
    let next = 0;
    await fc.assert(
      fc.asyncProperty(forgery, readPath, body, async (forged, path, body) => {
        family.tick();
        next += 2;
        const a = { id: next };
        const b = { id: next + 1 };
        const keyA = items.keys.value(paramKey(a));
        const load = loaderOf('item', body);
        const expected: Item = { entity: 'item', id: a.id, body };
        // The real entries the forgeries are made of.
        await items.get(a, load);
        const real = (await raw.getBuffer(keyA)) as Buffer;
        expect(real).not.toBeNull();
        let bytes: Buffer;
        switch (forged.kind) {
          case 'other-key':
            await items.get(b, load);
            bytes = (await raw.getBuffer(items.keys.value(paramKey(b)))) as Buffer;
            break;
          case 'other-entity':
            await others.get(a, loaderOf('other', body));
            bytes = (await raw.getBuffer(others.keys.value(paramKey(a)))) as Buffer;
            break;
          case 'other-version':
            await items2.get(a, loaderOf('item-v2', body));
            bytes = (await raw.getBuffer(items2.keys.value(paramKey(a)))) as Buffer;
            break;
          case 'tags':
            bytes = forgeEntryTags(real, forged.tags, forged.format);
            break;
          case 'bad-tag':
            bytes = forgeEntryTags(real, { [forged.tag]: null, [`item:${a.id}`]: null }, forged.format);
            break;
          case 'format-byte':
            bytes = Buffer.concat([Buffer.from([forged.byte]), real.subarray(1)]);
            break;
          case 'random':
            bytes = Buffer.from(forged.bytes);
            break;
          case 'truncated':
            bytes = real.subarray(0, forged.at % real.length);
            break;
        }
        expect(bytes).not.toBeNull();
        await raw.set(keyA, bytes, 'PX', 60_000);

        const first =
          path === 'get'
            ? await items.get(a, load)
            : path === 'many'
              ? ((await items.getMany([a, b], async (list) => Promise.all(list.map(load))))[0] as { value: Item; status: string })
              : await waiterRead(a, load);
        // Never another key's value; a forged header over the real payload may be served (it is a's value).
        expect(first.value).toEqual(expected);
        const stillReal = bytes.equals(real);
        if (forged.kind === 'other-key' || forged.kind === 'other-entity' || forged.kind === 'other-version' || forged.kind === 'bad-tag') {
          expect(first.status).toBe('miss');
        } else if (stillReal) {
          expect(first.status).toBe('fresh');
        }
        // Overwritten: the next read is a fresh hit with the right value, without a load.
        const second = await items.get(a, async () => {
          throw new Error('the entry was not overwritten');
        });
        expect(second).toEqual({ status: 'fresh', value: expected });
      }),
      { numRuns: family.runs(1000) },
    );
    expect(cache.stats()).toMatchObject({ errors: 0, timeouts: 0, bypasses: 0 });
  });

  /** A read that finds the key leased by another process, waits, and polls until the lease is released. */
  async function waiterRead(params: Params, load: (params: Params) => Promise<Item>) {
    const leaseKey = items.keys.lease(paramKey(params));
    await raw.set(leaseKey, 'someone-else', 'PX', 3);
    return items.get(params, load);
  }
});
