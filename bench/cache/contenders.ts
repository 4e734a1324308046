/**
 * The read-through clients compared on the hit path, each set up as its documentation shows for a
 * Redis-only cache, each with its own connection and its own key prefix:
 *
 * - raw ioredis: `GET` + `JSON.parse`, ioredis defaults (the baseline); a second row with
 *   `enableAutoPipelining`, the option cachefront turns on for its own client.
 * - cachefront: `createRedisCache({ redis, namespace })`, defaults; an entity with one parameter tag,
 *   and a second row without tags.
 * - cachefront through core: `repo.get()` of a repository with zod schemas for its parameters and
 *   its value, on the same cache (the parameter parse, and what a hit costs on top of the entity).
 * - bentocache: `bentostore().useL2Layer(redisDriver({ connection }))` — no L1 memory tier, no bus;
 *   defaults otherwise (no grace, no timeouts); `getOrSet` without tags, and a second row with the
 *   same parameter tag cachefront gets.
 * - cache-manager: `createCache({ stores: [createKeyv(url, { namespace })] })` with @keyv/redis
 *   (node-redis underneath); `wrap(key, fn, ttl)`.
 */

import { createRedisCache } from '@cachefront/cache';
import { createDataLayer, defineRepository } from '@cachefront/core';
import { type Connector, createConnector, mysqlDatabase } from '@cachefront/mysql';
import { createKeyv } from '@keyv/redis';
import { BentoCache, bentostore } from 'bentocache';
import { redisDriver } from 'bentocache/drivers/redis';
import { createCache } from 'cache-manager';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { ENTRY_TTL_MS, type ProductRow, productRow, productTag, REDIS_HOST, REDIS_PORT, REDIS_URL } from './fixtures.js';

export interface Contender {
  readonly name: string;
  /** The options used, for the report. */
  readonly setup: string;
  /** Reads each id once through the cache, so it is cached (a miss and a fill each). */
  warm(ids: readonly number[]): Promise<void>;
  /** One read-through get; resolves to the row. */
  get(id: number): Promise<unknown>;
  /** Loader calls so far: 0 after warming means every measured read was a hit. */
  loads(): number;
  close(): Promise<void>;
}

export type ContenderName =
  | 'ioredis'
  | 'ioredis-autopipeline'
  | 'cachefront'
  | 'cachefront-notag'
  | 'cachefront-repo'
  | 'bentocache'
  | 'bentocache-tag'
  | 'cache-manager';

export const CONTENDER_NAMES: readonly ContenderName[] = [
  'ioredis',
  'ioredis-autopipeline',
  'cachefront',
  'cachefront-notag',
  'cachefront-repo',
  'bentocache',
  'bentocache-tag',
  'cache-manager',
];

export const CONTENDER_LABELS: Readonly<Record<ContenderName, string>> = {
  ioredis: 'raw ioredis GET + JSON.parse',
  'ioredis-autopipeline': 'raw ioredis GET + JSON.parse, autopipelining',
  cachefront: 'cachefront entity.get (1 tag)',
  'cachefront-notag': 'cachefront entity.get (no tag)',
  'cachefront-repo': 'cachefront repo.get (core, zod, 1 tag)',
  bentocache: 'bentocache getOrSet (L2 Redis only)',
  'bentocache-tag': 'bentocache getOrSet (L2 only, 1 tag)',
  'cache-manager': 'cache-manager wrap (@keyv/redis)',
};

/** Counts loader calls; the loader itself answers at once (hits never call it). */
class Loader {
  #calls = 0;
  readonly load = async (id: number): Promise<ProductRow> => {
    this.#calls += 1;
    return productRow(id);
  };
  get calls(): number {
    return this.#calls;
  }
}

async function inBatches(ids: readonly number[], each: (id: number) => Promise<unknown>): Promise<void> {
  const size = 64;
  for (let i = 0; i < ids.length; i += size) await Promise.all(ids.slice(i, i + size).map(each));
}

function rawIoredis(prefix: string, autoPipelining: boolean): Contender {
  const redis = new Redis(REDIS_URL, autoPipelining ? { enableAutoPipelining: true } : {});
  const loader = new Loader();
  const keyOf = (id: number) => `${prefix}:raw${autoPipelining ? 'ap' : ''}:product:${id}`;
  return {
    name: autoPipelining ? 'ioredis-autopipeline' : 'ioredis',
    setup: autoPipelining
      ? 'new Redis(url, { enableAutoPipelining: true }); value stored with SET … PX'
      : 'new Redis(url) (defaults); value stored with SET … PX',
    async warm(ids) {
      await inBatches(ids, async (id) => redis.set(keyOf(id), JSON.stringify(await loader.load(id)), 'PX', ENTRY_TTL_MS));
    },
    async get(id) {
      const text = await redis.get(keyOf(id));
      if (text === null) throw new Error(`raw ioredis: key of product ${id} is not warm`);
      return JSON.parse(text) as unknown;
    },
    loads: () => loader.calls,
    async close() {
      await redis.quit();
    },
  };
}

function cachefront(prefix: string, withTag: boolean): Contender {
  const cache = createRedisCache({ redis: REDIS_URL, namespace: `${prefix}-cf${withTag ? '' : 'n'}` });
  const products = cache.entity<{ id: number }, ProductRow>({
    name: 'product',
    ttlMs: ENTRY_TTL_MS,
    ...(withTag ? { tags: ({ id }: { id: number }) => [productTag(id)] } : {}),
  });
  const loader = new Loader();
  const load = ({ id }: { id: number }) => loader.load(id);
  return {
    name: withTag ? 'cachefront' : 'cachefront-notag',
    setup: `createRedisCache({ redis: url, namespace }) (defaults); entity { name: 'product', ttlMs${withTag ? ", tags: ({ id }) => ['product:<id>']" : ''} }`,
    async warm(ids) {
      await inBatches(ids, (id) => products.get({ id }, load));
    },
    async get(id) {
      // A read that is not a hit (say, a Redis call past `commandTimeoutMs` falling through) calls the loader, which is counted.
      const { value } = await products.get({ id }, load);
      return value;
    },
    loads: () => loader.calls,
    async close() {
      await cache.close();
    },
  };
}

const ProductSchema = z.object({
  id: z.number(),
  sku: z.string(),
  name: z.string(),
  slug: z.string(),
  description: z.string(),
  categoryId: z.number(),
  brand: z.string(),
  price: z.string(),
  salePrice: z.string().nullable(),
  costPrice: z.string(),
  currency: z.string(),
  stock: z.number(),
  weightKg: z.string(),
  active: z.boolean(),
  rating: z.string(),
  createdAt: z.date(),
  updatedAt: z.date(),
});

function cachefrontRepository(prefix: string): Contender {
  const cache = createRedisCache({ redis: REDIS_URL, namespace: `${prefix}-cfr` });
  // No statement runs on a hit: the connector opens nothing until a loader or a write uses it, and this loader does not.
  const database = mysqlDatabase(createConnector({ connection: { host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'test' } }));
  const layer = createDataLayer({ cache, database });
  const loader = new Loader();
  const products = layer.repository(
    defineRepository({
      name: 'product',
      params: z.object({ id: z.number().int().positive() }),
      value: ProductSchema,
      ttlMs: ENTRY_TTL_MS,
      tags: ({ id }) => [productTag(id)],
      load: async (_db: Connector, { id }) => loader.load(id),
    }),
  );
  return {
    name: 'cachefront-repo',
    setup:
      "createDataLayer({ cache, database }); repository { params: z.object({ id }), value: a z.object of the row's 17 fields, ttlMs, tags: ({ id }) => ['product:<id>'] }; repo.get({ id })",
    async warm(ids) {
      await inBatches(ids, (id) => products.get({ id }));
    },
    get: (id) => products.get({ id }),
    loads: () => loader.calls,
    async close() {
      await cache.close();
      await database.end();
    },
  };
}

function bentocache(prefix: string, withTag: boolean): Contender {
  const bento = new BentoCache({
    default: 'redis',
    prefix: `${prefix}-bento${withTag ? 'tag' : ''}`,
    stores: { redis: bentostore().useL2Layer(redisDriver({ connection: { host: REDIS_HOST, port: REDIS_PORT } })) },
  });
  const loader = new Loader();
  const read = (id: number) =>
    bento.getOrSet<ProductRow>({
      key: `product:${id}`,
      ttl: ENTRY_TTL_MS,
      factory: () => loader.load(id),
      ...(withTag ? { tags: [productTag(id)] } : {}),
    });
  return {
    name: withTag ? 'bentocache-tag' : 'bentocache',
    setup: `new BentoCache({ default, prefix, stores: { redis: bentostore().useL2Layer(redisDriver({ connection: { host, port } })) } }) (defaults: no grace, no timeouts); getOrSet({ key, ttl, factory${withTag ? ", tags: ['product:<id>']" : ''} })`,
    async warm(ids) {
      await inBatches(ids, read);
    },
    get: read,
    loads: () => loader.calls,
    async close() {
      await bento.disconnectAll();
    },
  };
}

function cacheManager(prefix: string): Contender {
  const cache = createCache({ stores: [createKeyv(REDIS_URL, { namespace: `${prefix}-cm` })] });
  const loader = new Loader();
  const read = (id: number) => cache.wrap(`product:${id}`, () => loader.load(id), ENTRY_TTL_MS);
  return {
    name: 'cache-manager',
    setup: 'createCache({ stores: [createKeyv(url, { namespace })] }) (@keyv/redis defaults); wrap(key, fn, ttl)',
    async warm(ids) {
      await inBatches(ids, read);
    },
    get: read,
    loads: () => loader.calls,
    async close() {
      await cache.disconnect();
    },
  };
}

export function createContender(name: ContenderName, prefix: string): Contender {
  switch (name) {
    case 'ioredis':
      return rawIoredis(prefix, false);
    case 'ioredis-autopipeline':
      return rawIoredis(prefix, true);
    case 'cachefront':
      return cachefront(prefix, true);
    case 'cachefront-notag':
      return cachefront(prefix, false);
    case 'cachefront-repo':
      return cachefrontRepository(prefix);
    case 'bentocache':
      return bentocache(prefix, false);
    case 'bentocache-tag':
      return bentocache(prefix, true);
    case 'cache-manager':
      return cacheManager(prefix);
  }
}
