import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cache } from '../cache.js';
import { createMemoryCache } from '../create.js';
import { MemoryDriver } from '../drivers/memory-driver.js';
import { CacheKeyError } from '../errors.js';
import { entityKeys, paramKey, tagKey } from './keys.js';
import { isValidTag } from './tags.js';

/** The hash tag Redis Cluster computes for a key: what stands between the first `{` and the next `}`. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return open >= 0 && close > open + 1 ? key.slice(open + 1, close) : key;
}

describe('namespaces', () => {
  it('accept `:` and `.` (ElastiCache prefixes such as `shop:prod`), keeping one hash tag per entity and per tag', async () => {
    const cache = createMemoryCache({ namespace: 'shop:prod.eu' });
    const items = cache.entity<{ id: number }, string>({ name: 'item', ttlMs: 60_000, tags: ({ id }) => [`item:${id}`] });
    expect(items.keys.value(paramKey({ id: 1 }))).toBe('shop:prod.eu:{shop:prod.eu/item}:1:v:{"id":1}');
    expect(tagKey('shop:prod.eu', 'item:1')).toBe('shop:prod.eu:t:{shop:prod.eu#item%3A1}');
    expect((await items.get({ id: 1 }, async () => 'one')).status).toBe('miss');
    expect((await items.get({ id: 1 }, async () => 'one')).status).toBe('fresh');
    await cache.invalidate(['item:1']);
    expect((await items.get({ id: 1 }, async () => 'one')).status).toBe('miss');
  });

  it('refuse what would break the key layout or the hash tag: `{`, `}`, `/`, `#`, spaces, empty, over 64 characters', () => {
    for (const namespace of ['a{b', 'a}b', 'a/b', 'a#b', 'a b', '', 'x'.repeat(65), 'caf\u00e9']) {
      expect(() => new Cache(new MemoryDriver(), { namespace }), namespace).toThrow(CacheKeyError);
    }
  });

  it('keys stay injective across namespaces, entities, versions, parameters and tags, each with the hash tag of its entity or tag', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9_:.-]{1,12}$/);
    const entity = fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/);
    const source: fc.Arbitrary<Source> = fc.oneof(
      fc.record({
        kind: fc.constantFrom('value', 'lease'),
        namespace: segment,
        entity,
        version: fc.nat(3),
        id: fc.oneof(fc.nat(3), fc.string({ maxLength: 4 })),
      }),
      fc.record({ kind: fc.constant('tag'), namespace: segment, tag: fc.string({ minLength: 1, maxLength: 8 }).filter(isValidTag) }),
    );
    fc.assert(
      fc.property(source, source, (a, b) => {
        const [left, right] = [describeSource(a), describeSource(b)];
        expect(left.key === right.key).toBe(JSON.stringify(a) === JSON.stringify(b));
        for (const { key, slot } of [left, right]) expect(hashTag(key)).toBe(slot);
      }),
      { numRuns: 3000 },
    );
  });
});

type Source =
  | { kind: 'value' | 'lease'; namespace: string; entity: string; version: number; id: number | string }
  | { kind: 'tag'; namespace: string; tag: string };

/** A key and the hash tag it must have: `ns/entity` for an entity's keys, `ns#<encoded tag>` for a tag. */
function describeSource(source: Source): { key: string; slot: string } {
  if (source.kind === 'tag') return { key: tagKey(source.namespace, source.tag), slot: `${source.namespace}#${encodeURIComponent(source.tag)}` };
  const keys = entityKeys(source.namespace, source.entity, source.version);
  const pk = paramKey({ id: source.id });
  return { key: source.kind === 'value' ? keys.value(pk) : keys.lease(pk), slot: `${source.namespace}/${source.entity}` };
}
