import { Cache, MemoryDriver } from '@cachefront/cache';
import { type Connector, type MysqlDatabase, mysqlDatabase, type Transaction } from '@cachefront/mysql';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createDataLayer } from './data-layer.js';
import { InvalidationPendingError, LoadedValueError, ValidationError } from './errors.js';
import { withDataLayer } from './lambda.js';
import type { CachePort, DatabasePort, OutboxStore } from './ports.js';
import { defineRepository, type Repository } from './repository.js';

/** A tiny database: a product table and an outbox, with transactions that roll back on throw. */
class FakeDb implements DatabasePort<FakeDb, FakeDb> {
  products = new Map<number, { id: number; name: string; price: string; category: string }>();
  /** The outbox table's rows: id → tags as stored. */
  outboxRows = new Map<number, string>();
  queries = 0;
  ends = 0;
  down = false;
  /** The outbox's table cannot be read (the database half of a drain fails). */
  outboxDown = false;
  /** The next COMMIT lands, but its answer is lost: the transaction throws a may-have-committed error. */
  loseNextCommitAnswer = false;
  #nextOutbox = 1;
  readonly client = this;

  readonly outbox: OutboxStore<FakeDb> = {
    record: async (_tx, tags) => {
      this.#check();
      const id = this.#nextOutbox++;
      this.outboxRows.set(id, JSON.stringify(tags));
      return id;
    },
    page: async (after, limit) => {
      this.#check();
      this.queries += 1;
      if (this.outboxDown) throw Object.assign(new Error('Lost connection'), { code: 'E_CONNECTION_LOST' });
      return [...this.outboxRows]
        .filter(([id]) => id > after)
        .sort(([a], [b]) => a - b)
        .slice(0, limit)
        .map(([id, tags]) => ({ id, tags }));
    },
    forget: async (ids) => {
      this.#check();
      for (const id of ids) this.outboxRows.delete(id);
    },
    migrate: async () => {},
  };

  isUnavailable(error: unknown): boolean {
    return (error as { code?: unknown } | null)?.code === 'E_CONNECTION_LIMIT';
  }

  mayHaveCommitted(error: unknown): boolean {
    return (error as { mayHaveCommitted?: unknown } | null)?.mayHaveCommitted === true;
  }

  async transaction<T>(work: (tx: FakeDb) => Promise<T>): Promise<T> {
    this.#check();
    const products = new Map(this.products);
    const outbox = new Map(this.outboxRows);
    let result: T;
    try {
      result = await work(this);
    } catch (error) {
      this.products = products;
      this.outboxRows = outbox;
      throw error;
    }
    if (this.loseNextCommitAnswer) {
      this.loseNextCommitAnswer = false;
      throw Object.assign(new Error('The connection was lost during COMMIT'), { code: 'E_TRANSACTION_FAILED', mayHaveCommitted: true });
    }
    return result;
  }

  async end(): Promise<void> {
    this.ends += 1;
  }

  /** What a loader's SELECT returns. */
  async find(id: number): Promise<{ id: number; name: string; price: string; category: string } | undefined> {
    this.#check();
    this.queries += 1;
    const row = this.products.get(id);
    return row && { ...row };
  }

  /** What an UPDATE does. */
  setPrice(id: number, price: string): void {
    const row = this.products.get(id);
    if (!row) throw new Error(`no product ${id}`);
    this.products.set(id, { ...row, price });
  }

  #check(): void {
    if (this.down) throw Object.assign(new Error('Too many connections'), { code: 'E_CONNECTION_LIMIT' });
  }
}

/** Makes the cache's invalidations fail as an unreachable Redis would, until `back()`. */
function unreachableRedis(cache: Cache): { back(): void } {
  const invalidate = cache.invalidate.bind(cache);
  let down = true;
  cache.invalidate = async (tags) => {
    if (down) throw Object.assign(new Error('Redis unreachable'), { code: 'E_CACHE_UNAVAILABLE' });
    return invalidate(tags);
  };
  return {
    back: () => {
      down = false;
    },
  };
}

const Product = z.object({ id: z.number().int(), name: z.string(), price: z.string().regex(/^\d+\.\d{2}$/), category: z.string() });

function setup(options: { graceMs?: number; invalidationRetryMs?: number } = {}) {
  const clock = { now: 1_000_000 };
  // A memory store that can report a Redis reconnect, as the Redis driver does when its connection comes back.
  const reconnectListeners = new Set<() => void>();
  const store = Object.assign(new MemoryDriver({ now: () => clock.now }), {
    onReconnect: (listener: () => void) => {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
  });
  const reconnect = () => {
    for (const listener of reconnectListeners) listener();
  };
  const cache = new Cache(store, { now: () => clock.now, namespace: 'core' });
  const db = new FakeDb();
  db.products.set(1, { id: 1, name: 'Hammer', price: '19.90', category: 'tools' });
  db.products.set(2, { id: 2, name: 'Saw', price: '24.50', category: 'tools' });
  const layer = createDataLayer({ cache, database: db, invalidationRetryMs: options.invalidationRetryMs ?? 0 });
  let loads = 0;
  const products = layer.repository(
    defineRepository({
      name: 'product',
      params: z.object({ id: z.coerce.number().int().positive() }),
      value: Product,
      ttlMs: 60_000,
      graceMs: options.graceMs ?? 0,
      tags: ({ id }) => [`product:${id}`],
      valueTags: (product) => [`category:${product.category}`],
      load: async (database: FakeDb, { id }) => {
        loads += 1;
        const row = await database.find(id);
        if (!row) throw new Error('not found');
        return row;
      },
    }),
  );
  return { clock, cache, db, layer, products, loads: () => loads, reconnect };
}

describe('repositories', () => {
  it('validate parameters before any I/O, with a typed error that names the field', async () => {
    const { products, db, cache } = setup();
    const error = await products.get({ id: -3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code: 'E_INVALID_PARAMS', repository: 'product' });
    expect((error as ValidationError).issues[0]?.path).toBe('id');
    expect(db.queries).toBe(0);
    expect(cache.stats()).toMatchObject({ hits: 0, misses: 0 });
  });

  it('answer from the cache after the first load, typed as the schema says', async () => {
    const { products, loads } = setup();
    const first = await products.read({ id: 1 });
    const second = await products.read({ id: '1' }); // coerced by the schema: the same key
    expect([first.status, second.status]).toEqual(['miss', 'fresh']);
    expect(second.value).toEqual({ id: 1, name: 'Hammer', price: '19.90', category: 'tools' });
    expect(loads()).toBe(1);
  });

  it('refuse a loaded value that fails the schema, and do not cache it', async () => {
    const { products, db, cache } = setup();
    db.products.set(3, { id: 3, name: 'Glue', price: '3.1', category: 'craft' });
    await expect(products.get({ id: 3 })).rejects.toBeInstanceOf(LoadedValueError);
    expect(cache.stats().fills).toBe(0);
  });

  it('getMany loads all misses with one loadMany call when there is one', async () => {
    const { cache, layer } = setup();
    const calls: number[][] = [];
    const repo = layer.repository(
      defineRepository({
        name: 'product-batch',
        params: z.object({ id: z.number() }),
        value: Product,
        ttlMs: 60_000,
        load: async () => {
          throw new Error('use loadMany');
        },
        loadMany: async (database: FakeDb, list) => {
          calls.push(list.map((p) => p.id));
          return list.map(({ id }) => database.products.get(id) as z.input<typeof Product>);
        },
      }),
    );
    const values = await repo.getMany([{ id: 2 }, { id: 1 }]);
    expect(values.map((v) => v.name)).toEqual(['Saw', 'Hammer']);
    expect(calls).toEqual([[2, 1]]);
    expect(cache.stats().fills).toBe(2);
  });

  it('serve a value inside its grace period as stale when the database is unavailable, and only then', async () => {
    const { products, db, clock } = setup({ graceMs: 300_000 });
    await products.get({ id: 1 });
    clock.now += 61_000;
    db.down = true;
    expect(await products.read({ id: 1 })).toMatchObject({ status: 'stale', value: { name: 'Hammer' } });
    clock.now += 300_000;
    await expect(products.get({ id: 1 })).rejects.toMatchObject({ code: 'E_CONNECTION_LIMIT' });
  });
});

describe('writes', () => {
  it('invalidate after COMMIT, so the next read sees the write', async () => {
    const { products, layer, db } = setup();
    expect((await products.get({ id: 1 })).price).toBe('19.90');
    const result = await layer.write(
      async () => {
        db.setPrice(1, '17.00');
        return { id: 1 };
      },
      { tags: ({ id }) => [`product:${id}`] },
    );
    expect(result).toEqual({ id: 1 });
    expect(await products.read({ id: 1 })).toMatchObject({ status: 'miss', value: { price: '17.00' } });
    expect(db.outboxRows.size).toBe(0); // recorded in the transaction, removed once invalidated
  });

  it('write through: refill the cache with the committed value through the loader', async () => {
    const { products, layer, db, cache } = setup();
    await products.get({ id: 1 });
    await layer.write(
      async () => {
        db.setPrice(1, '15.00');
        return 1;
      },
      { tags: (id) => [`product:${id}`], refill: (id) => products.get({ id }) },
    );
    const fills = cache.stats().fills;
    expect(await products.read({ id: 1 })).toMatchObject({ status: 'fresh', value: { price: '15.00' } });
    expect(cache.stats().fills).toBe(fills);
  });

  it('write through even when the write has no tags to invalidate', async () => {
    const { layer, db } = setup();
    const refilled: number[] = [];
    await layer.write(
      async () => {
        db.setPrice(2, '23.00');
        return 2;
      },
      {
        tags: [],
        refill: async (id) => {
          refilled.push(id);
        },
      },
    );
    expect(refilled).toEqual([2]);
  });

  it('repo.write validates first, invalidates its own tags and the extra ones, and writes through', async () => {
    const { products, db, cache } = setup();
    await products.get({ id: 2 });
    await expect(products.write({ id: 0 }, async () => db.setPrice(2, '1.00'))).rejects.toBeInstanceOf(ValidationError);
    expect(db.products.get(2)?.price).toBe('24.50'); // nothing written
    await products.write({ id: 2 }, async () => db.setPrice(2, '22.00'), { also: ['category:tools'] });
    const invalidations = cache.stats().invalidations;
    expect(invalidations).toBe(1);
    expect(await products.read({ id: 2 })).toMatchObject({ status: 'fresh', value: { price: '22.00' } });
  });

  it('invalidate nothing when the transaction rolls back', async () => {
    const { products, layer, db, cache } = setup();
    await products.get({ id: 1 });
    await expect(
      layer.write(
        async () => {
          db.setPrice(1, '1.00');
          throw new Error('out of stock');
        },
        { tags: ['product:1'] },
      ),
    ).rejects.toThrow('out of stock');
    expect(cache.stats().invalidations).toBe(0);
    expect(await products.read({ id: 1 })).toMatchObject({ status: 'fresh', value: { price: '19.90' } });
  });

  it('report a committed write whose invalidation failed, keep the tags, and replay them before the next cached read', async () => {
    const { products, layer, db, cache } = setup();
    await products.get({ id: 2 });
    const redis = unreachableRedis(cache);
    const error = await layer
      .write(
        async () => {
          db.setPrice(2, '20.00');
        },
        { tags: ['product:2'] },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidationPendingError);
    expect(error).toMatchObject({ committed: true, tags: ['product:2'], code: 'E_INVALIDATION_PENDING' });
    expect(db.products.get(2)?.price).toBe('20.00');
    expect([...db.outboxRows.values()]).toEqual(['["product:2"]']);
    redis.back();
    // Redis is back: the first read replays the outbox before it trusts the cache.
    expect(await products.read({ id: 2 })).toMatchObject({ status: 'miss', value: { price: '20.00' } });
    expect(db.outboxRows.size).toBe(0);
  });

  it('retry an invalidation that fails while Redis comes back, and return only once it is delivered', async () => {
    const { products, layer, db, cache } = setup({ invalidationRetryMs: 5000 });
    await products.get({ id: 2 });
    const invalidate = cache.invalidate.bind(cache);
    let failures = 3;
    cache.invalidate = async (tags) => {
      if (failures > 0) {
        failures -= 1;
        throw Object.assign(new Error('Redis reconnecting'), { code: 'E_CACHE_UNAVAILABLE' });
      }
      return invalidate(tags);
    };
    await layer.write(
      async () => {
        db.setPrice(2, '21.00');
      },
      { tags: ['product:2'] },
    );
    expect(failures).toBe(0);
    expect(db.outboxRows.size).toBe(0);
    expect(await products.read({ id: 2 })).toMatchObject({ status: 'miss', value: { price: '21.00' } });
  });

  it('invalidate after a COMMIT whose answer was lost, before throwing: if it did commit, no later read sees the old row', async () => {
    const { products, layer, db, cache } = setup();
    await products.get({ id: 1 });
    db.loseNextCommitAnswer = true;
    const error = await layer
      .write(
        async () => {
          db.setPrice(1, '11.00');
        },
        { tags: ['product:1'] },
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ mayHaveCommitted: true });
    expect(cache.stats().invalidations).toBe(1);
    expect(await products.read({ id: 1 })).toMatchObject({ status: 'miss', value: { price: '11.00' } });
  });

  it('keep the tags pending when even that invalidation fails: InvalidationPendingError with committed "unknown"', async () => {
    const { products, layer, db, cache } = setup();
    await products.get({ id: 1 });
    unreachableRedis(cache);
    db.loseNextCommitAnswer = true;
    const error = await layer
      .write(
        async () => {
          db.setPrice(1, '12.00');
        },
        { tags: ['product:1'] },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidationPendingError);
    expect(error).toMatchObject({ committed: 'unknown', tags: ['product:1'], outboxId: 1 });
  });

  it('answer from the database, not the cache, while pending invalidations cannot be replayed', async () => {
    const { products, layer, db, cache } = setup();
    await products.get({ id: 2 });
    const redis = unreachableRedis(cache);
    await expect(
      layer.write(
        async () => {
          db.setPrice(2, '22.00');
        },
        { tags: ['product:2'] },
      ),
    ).rejects.toBeInstanceOf(InvalidationPendingError);
    // Redis is back but the outbox cannot be read: the cached old row must not be trusted.
    redis.back();
    db.outboxDown = true;
    expect(await products.read({ id: 2 })).toMatchObject({ status: 'miss', value: { price: '22.00' } });
    expect(await products.read({ id: 2 })).toMatchObject({ status: 'miss', value: { price: '22.00' } });
    // Once the outbox can be read, the tags are replayed and the cache is trusted again.
    db.outboxDown = false;
    expect(await products.read({ id: 2 })).toMatchObject({ status: 'miss', value: { price: '22.00' } });
    expect(await products.read({ id: 2 })).toMatchObject({ status: 'fresh', value: { price: '22.00' } });
    expect(db.outboxRows.size).toBe(0);
  });

  it('replay the outbox after the cache reports a Redis reconnect: another container’s pending write is honoured', async () => {
    const { products, db, reconnect } = setup();
    await products.get({ id: 1 });
    // Another container committed and could not invalidate: its tags wait in the outbox.
    db.setPrice(1, '13.00');
    db.outboxRows.set(7, JSON.stringify(['product:1']));
    expect((await products.read({ id: 1 })).status).toBe('fresh'); // nothing told this layer yet
    reconnect(); // what the Redis driver reports when its connection comes back
    expect(await products.read({ id: 1 })).toMatchObject({ status: 'miss', value: { price: '13.00' } });
    expect(db.outboxRows.size).toBe(0);
  });

  it('drain() replays outbox rows left by a container that died between COMMIT and invalidation', async () => {
    const { products, layer, db } = setup();
    await products.get({ id: 1 });
    db.setPrice(1, '9.99');
    db.outboxRows.set(99, JSON.stringify(['product:1'])); // committed with the write, never invalidated
    expect(await layer.drain()).toEqual({ tags: 1, rows: 1, skipped: [] });
    expect(db.outboxRows.size).toBe(0);
    expect((await products.get({ id: 1 })).price).toBe('9.99');
  });

  it('drain() pages through every row, and a row it cannot apply never wedges the ones behind it', async () => {
    const { products, layer, db } = setup();
    await products.get({ id: 1 });
    db.setPrice(1, '1.11');
    db.outboxRows.set(1, 'not json');
    db.outboxRows.set(2, JSON.stringify(['product:7', '\ud800']));
    for (let id = 3; id < 1203; id += 1) db.outboxRows.set(id, JSON.stringify([`product:${id}`]));
    db.outboxRows.set(1203, JSON.stringify(['product:1']));
    const result = await layer.drain();
    expect(result.skipped).toEqual([
      { id: 1, reason: 'unreadable' },
      { id: 2, reason: 'invalid-tags' },
    ]);
    expect(result.rows).toBe(1202);
    expect([...db.outboxRows.keys()]).toEqual([1]); // the unreadable row stays for a person to look at
    expect((await products.get({ id: 1 })).price).toBe('1.11');
  });
});

describe('withDataLayer', () => {
  it('sets the deadline, awaits tracked work and ends the connection even when the handler throws', async () => {
    const { layer, db } = setup();
    const contexts: number[] = [];
    (db as FakeDb & { useContext: (c: { getRemainingTimeInMillis(): number }) => void }).useContext = (context) => {
      contexts.push(context.getRemainingTimeInMillis());
    };
    let tracked = false;
    const handler = withDataLayer(layer, async (event: { fail: boolean }) => {
      void layer.track(
        new Promise<void>((resolve) =>
          setTimeout(() => {
            tracked = true;
            resolve();
          }, 20),
        ),
      );
      if (event.fail) throw new Error('handler failed');
      return 'ok';
    });
    const context = { getRemainingTimeInMillis: () => 3000 };
    expect(await handler({ fail: false }, context)).toBe('ok');
    expect(tracked).toBe(true);
    tracked = false;
    await expect(handler({ fail: true }, context)).rejects.toThrow('handler failed');
    expect(tracked).toBe(true);
    expect(db.ends).toBe(2);
    expect(contexts).toEqual([3000, 3000]);
  });
});

describe('withDataLayer and refresh-ahead', () => {
  it("returns only once a hit's early reload has filled, and before the database's housekeeping", async () => {
    const clock = { now: 1_000_000 };
    const cache = new Cache(new MemoryDriver({ now: () => clock.now }), { now: () => clock.now, namespace: 'core', random: () => 1e-9 });
    const db = new FakeDb();
    db.products.set(1, { id: 1, name: 'Hammer', price: '19.90', category: 'tools' });
    const layer = createDataLayer({ cache, database: db });
    const order: string[] = [];
    const end = db.end.bind(db);
    db.end = async () => {
      order.push('end');
      return end();
    };
    let loads = 0;
    const products = layer.repository(
      defineRepository({
        name: 'product',
        params: z.object({ id: z.number() }),
        value: Product,
        ttlMs: 1000,
        refreshAhead: true,
        load: async (database: FakeDb, { id }) => {
          loads += 1;
          // The first load takes 50 ms on the clock (refresh-ahead weighs by it); the reload waits on a real timer.
          if (loads === 1) clock.now += 50;
          else await new Promise((resolve) => setTimeout(resolve, 20));
          const row = await database.find(id);
          if (loads > 1) order.push('reloaded');
          return { ...(row as NonNullable<typeof row>), name: `Hammer ${loads}` };
        },
      }),
    );
    const handler = withDataLayer(layer, async () => (await products.get({ id: 1 })).name);
    const context = { getRemainingTimeInMillis: () => 3000 };
    expect(await handler({}, context)).toBe('Hammer 1');
    clock.now += 1000 - 50 - 10;
    order.length = 0;
    // The reader is answered from the cache; the wrapper returns after the reload, then the database's end().
    expect(await handler({}, context)).toBe('Hammer 1');
    expect(order).toEqual(['reloaded', 'end']);
    expect(await products.get({ id: 1 })).toMatchObject({ name: 'Hammer 2' });
    expect(cache.stats()).toMatchObject({ refreshes: 1, loads: 2, misses: 1, hits: 2 });
  });
});

describe('types', () => {
  it('repo.get returns z.infer of the value schema, and the real packages fit the ports', () => {
    const { products } = setup();
    expectTypeOf(products.get).returns.resolves.toEqualTypeOf<z.infer<typeof Product>>();
    expectTypeOf(products).toExtend<Repository<{ id: unknown }, z.infer<typeof Product>>>();
    expectTypeOf<Cache>().toExtend<CachePort>();
    // The mysql package's database fits the port, loaders get the connector, a write's work the transaction.
    expectTypeOf<MysqlDatabase>().toExtend<DatabasePort<Connector, Transaction>>();
    expectTypeOf(mysqlDatabase).returns.toEqualTypeOf<MysqlDatabase>();
    // A write's callback gets the database's own transaction object, fully typed.
    expectTypeOf<Parameters<MysqlDatabase['transaction']>[0]>().toEqualTypeOf<(tx: Transaction) => Promise<unknown>>();
  });
});
