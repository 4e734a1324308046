import { describe, expect, it } from 'vitest';
import { clusterLike, failing, type Product, productEntity, setup, stalled, table } from '../cache.fixture.js';
import { Cache } from '../cache.js';
import { CacheKeyError, CacheUnavailableError } from '../errors.js';
import { tagKey } from '../keys/keys.js';
import type { LoadContext } from '../types.js';

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
    // The slow reader: reads the row, then stalls before returning it.
    const slow = stalled(async ({ id }: { id: number }) => structuredClone(db.rows.get(id) as Product));
    const reader = readerView.get({ id: 1 }, slow.load);
    await slow.hasRead;
    // The writer commits, then invalidates (after COMMIT).
    db.rows.set(1, { ...(db.rows.get(1) as Product), price: '17.00' });
    await b.invalidate(['product:1']);
    slow.resume();
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
    const slow = stalled(db.load);
    const reader = products.get({ id: 3 }, slow.load);
    await slow.hasRead;
    db.rows.set(3, { ...(db.rows.get(3) as Product), price: '4.20' });
    await a.invalidate(['product:3']);
    // The tag key is lost after the invalidation, the lease survives (a tag on another node, say).
    await store.delete([tagKey('t', 'product:3')]);
    slow.resume();
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

  it('tells the loader when the entry was last invalidated (to read from the writer after a write), a tag given its first token counting as one', async () => {
    const { a, clock, store } = setup();
    const products = productEntity(a);
    const seen: Array<number | undefined> = [];
    const db = table();
    const load = async (params: { id: number }, context: LoadContext) => {
      seen.push(context.lastInvalidatedAt);
      return db.load(params);
    };
    // The tag has no token: it is given one now, and since a token may have been lost after an
    // invalidation (a restart, a FLUSHALL), that counts as an invalidation with no position.
    const given = clock.now;
    await products.get({ id: 1 }, load);
    clock.now += 1000;
    const at = clock.now;
    await a.invalidate(['product:1']);
    clock.now += 1000;
    await products.get({ id: 1 }, load);
    // A token of an older release (`i.<random>`) says nothing of when it was given.
    await store.setTags([tagKey('t', 'product:2')], 'i.older-release', 60_000);
    await products.get({ id: 2 }, load);
    expect(seen).toEqual([given, at, undefined]);
  });

  it('takes invalidation times on the store’s clock, so a container with a skewed clock does not shift them', async () => {
    const { clock, store } = setup();
    // Container a's clock runs 5 s ahead of the store's and of container b's.
    const a = new Cache(store, { namespace: 't', now: () => clock.now + 5000 });
    const b = new Cache(store, { namespace: 't', now: () => clock.now });
    const db = table();
    const seen: Array<[string, number | undefined]> = [];
    const loadFor = (who: string) => async (params: { id: number }, context: LoadContext) => {
      seen.push([who, context.lastInvalidatedAt]);
      return db.load(params);
    };
    const at = clock.now;
    await a.invalidate(['product:1']);
    await productEntity(b).get({ id: 1 }, loadFor('b'));
    await a.invalidate(['product:2']);
    await productEntity(a).get({ id: 2 }, loadFor('a'));
    // Each loader is told the time in its own clock: "just now", not 5 s in the future or the past.
    expect(seen).toEqual([
      ['b', at],
      ['a', at + 5000],
    ]);
  });

  it('tells the loader the replication positions the invalidations recorded, and which invalidation had none', async () => {
    const { a, clock } = setup();
    const products = productEntity(a);
    const db = table();
    const contexts: LoadContext[] = [];
    const load = async (params: { id: number }, context: LoadContext) => {
      contexts.push(context);
      return db.load(params);
    };
    const given = clock.now;
    await products.get({ id: 1 }, load);
    await a.invalidate(['product:1'], { position: '0-1-42' });
    await products.get({ id: 1 }, load);
    clock.now += 10;
    await a.invalidate(['product:1']);
    await products.get({ id: 1 }, load);
    expect(contexts.map(({ positions, lastUnpositionedAt, invalidationsKnown }) => ({ positions, lastUnpositionedAt, invalidationsKnown }))).toEqual([
      { positions: [], lastUnpositionedAt: given, invalidationsKnown: true },
      { positions: ['0-1-42'], lastUnpositionedAt: undefined, invalidationsKnown: true },
      { positions: [], lastUnpositionedAt: clock.now, invalidationsKnown: true },
    ]);
  });

  it('refuses a position that is not a replication position, before any I/O', async () => {
    const { a } = setup();
    for (const position of ['', '0-1-1; DROP TABLE t', 'a.b', 'x'.repeat(1001)]) {
      const error = await a.invalidate(['product:1'], { position }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CacheKeyError);
      expect(error).toMatchObject({ reason: 'invalid-position' });
      expect(String((error as Error).message)).not.toContain(position || '\u0000');
    }
    expect(a.stats().invalidations).toBe(0);
  });

  it('tells a loader whose tags could not be read (Redis bypassed) that the invalidations are unknown', async () => {
    const { a } = setup({}, (store) => failing(store, ['read']));
    const db = table();
    const contexts: LoadContext[] = [];
    await productEntity(a).get({ id: 1 }, async (params, context) => {
      contexts.push(context);
      return db.load(params);
    });
    expect(contexts.map((context) => context.invalidationsKnown)).toEqual([false]);
  });

  it('surfaces an invalidation that cannot reach Redis, naming the pending tags', async () => {
    const { a } = setup({}, (store) => failing(store, ['setTags']));
    const error = await a.invalidate(['product:1', 'category:tools']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheUnavailableError);
    expect(error).toMatchObject({ code: 'E_CACHE_UNAVAILABLE', tags: ['product:1', 'category:tools'] });
  });
});
