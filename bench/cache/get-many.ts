/**
 * Scenario 3: a batch of `size` keys of which half are cached and half are not; the loader answers
 * after `dbDelayMs`, as a `WHERE id IN (...)` would. Every batch has new missing keys (the warm half
 * stays the same), batches run one after another. Each approach is the closest equivalent a peer
 * offers:
 *
 * - cachefront: `entity.getMany(params, loadMany)`.
 * - raw ioredis: `MGET`, one loader call for the misses, a pipeline of `SET … PX` (no leases).
 * - cache-manager: `mget(keys)`, one loader call for the misses, `mset(list)`.
 * - bentocache: no batch read (issue #78): `Promise.all` of one `getOrSet` per key, so one factory
 *   call per missing key.
 */
import { performance } from 'node:perf_hooks';
import { createRedisCache } from '@cachefront/cache';
import { createKeyv } from '@keyv/redis';
import { BentoCache, bentostore } from 'bentocache';
import { redisDriver } from 'bentocache/drivers/redis';
import { createCache } from 'cache-manager';
import { Redis } from 'ioredis';
import { ENTRY_TTL_MS, type ProductRow, productRow, productTag, REDIS_HOST, REDIS_PORT, REDIS_URL, sleep } from './fixtures.js';
import { median, quantile } from './measure.js';
import { type CommandsPerOp, perOp, type RedisAdmin } from './redis-admin.js';

export interface GetManyPlan {
  readonly size: number;
  readonly dbDelayMs: number;
  readonly warmupBatches: number;
  /** Batches run under MONITOR to count Redis commands (not timed). */
  readonly countedBatches: number;
  readonly batches: number;
}

export const DEFAULT_GET_MANY_PLAN: GetManyPlan = { size: 100, dbDelayMs: 2, warmupBatches: 5, countedBatches: 5, batches: 40 };

export type BatchApproachName = 'ioredis' | 'cachefront' | 'bentocache' | 'cache-manager';

export const BATCH_APPROACHES: readonly BatchApproachName[] = ['ioredis', 'cachefront', 'bentocache', 'cache-manager'];

export const BATCH_LABELS: Readonly<Record<BatchApproachName, string>> = {
  ioredis: 'raw ioredis MGET + loader + pipeline SET',
  cachefront: 'cachefront entity.getMany',
  bentocache: 'bentocache: 100 × getOrSet in parallel',
  'cache-manager': 'cache-manager mget + loader + mset',
};

export interface GetManyResult {
  readonly name: BatchApproachName;
  readonly medianBatchMs: number;
  readonly p99BatchMs: number;
  readonly loaderCallsPerBatch: number;
  readonly rowsLoadedPerBatch: number;
  readonly commandsPerBatch: CommandsPerOp;
}

/** The database: one call answers many ids after `delayMs`, and counts calls and rows. */
class FakeDatabase {
  calls = 0;
  rows = 0;
  constructor(private readonly delayMs: number) {}
  async load(ids: readonly number[]): Promise<ProductRow[]> {
    this.calls += 1;
    this.rows += ids.length;
    await sleep(this.delayMs);
    return ids.map(productRow);
  }
}

interface BatchReader {
  /** Returns a row per id, in order. */
  read(ids: readonly number[]): Promise<readonly unknown[]>;
  close(): Promise<void>;
}

function createReader(name: BatchApproachName, prefix: string, db: FakeDatabase): BatchReader {
  switch (name) {
    case 'ioredis': {
      const redis = new Redis(REDIS_URL);
      const keyOf = (id: number) => `${prefix}:rawmany:product:${id}`;
      return {
        async read(ids) {
          const cached = await redis.mget(ids.map(keyOf));
          const out: unknown[] = cached.map((text) => (text === null ? undefined : (JSON.parse(text) as unknown)));
          const missing = ids.filter((_, i) => cached[i] === null);
          if (missing.length > 0) {
            const rows = await db.load(missing);
            const pipeline = redis.pipeline();
            rows.forEach((row, i) => {
              pipeline.set(keyOf(missing[i] ?? 0), JSON.stringify(row), 'PX', ENTRY_TTL_MS);
            });
            await pipeline.exec();
            const byId = new Map(rows.map((row) => [row.id, row]));
            ids.forEach((id, i) => {
              if (out[i] === undefined) out[i] = byId.get(id);
            });
          }
          return out;
        },
        async close() {
          await redis.quit();
        },
      };
    }
    case 'cachefront': {
      const cache = createRedisCache({ redis: REDIS_URL, namespace: prefix });
      const products = cache.entity<{ id: number }, ProductRow>({ name: 'productmany', ttlMs: ENTRY_TTL_MS, tags: ({ id }) => [productTag(id)] });
      return {
        async read(ids) {
          const results = await products.getMany(
            ids.map((id) => ({ id })),
            (params) => db.load(params.map(({ id }) => id)),
          );
          return results.map((result) => result.value);
        },
        async close() {
          await cache.close();
        },
      };
    }
    case 'bentocache': {
      const bento = new BentoCache({
        default: 'redis',
        prefix: `${prefix}-bentomany`,
        stores: { redis: bentostore().useL2Layer(redisDriver({ connection: { host: REDIS_HOST, port: REDIS_PORT } })) },
      });
      return {
        read: (ids) =>
          Promise.all(
            ids.map((id) =>
              bento.getOrSet<ProductRow>({
                key: `product:${id}`,
                ttl: ENTRY_TTL_MS,
                factory: async () => (await db.load([id]))[0] as ProductRow,
              }),
            ),
          ),
        async close() {
          await bento.disconnectAll();
        },
      };
    }
    case 'cache-manager': {
      const cache = createCache({ stores: [createKeyv(REDIS_URL, { namespace: `${prefix}-cmmany` })] });
      const keyOf = (id: number) => `product:${id}`;
      return {
        async read(ids) {
          const out: unknown[] = await cache.mget<ProductRow>(ids.map(keyOf));
          const missing = ids.filter((_, i) => out[i] === undefined);
          if (missing.length > 0) {
            const rows = await db.load(missing);
            await cache.mset(rows.map((row) => ({ key: keyOf(row.id), value: row, ttl: ENTRY_TTL_MS })));
            const byId = new Map(rows.map((row) => [row.id, row]));
            ids.forEach((id, i) => {
              if (out[i] === undefined) out[i] = byId.get(id);
            });
          }
          return out;
        },
        async close() {
          await cache.disconnect();
        },
      };
    }
  }
}

export async function runGetMany(name: BatchApproachName, prefix: string, admin: RedisAdmin, plan: GetManyPlan): Promise<GetManyResult> {
  const db = new FakeDatabase(plan.dbDelayMs);
  const reader = createReader(name, prefix, db);
  const half = plan.size >> 1;
  const warmIds = Array.from({ length: half }, (_, i) => i + 1);
  let nextCold = 1_000_000;
  /** Warm ids interleaved with ids never read before. */
  const batch = (): number[] => warmIds.flatMap((id) => [id, nextCold++]).slice(0, plan.size);
  try {
    await reader.read(warmIds);
    for (let b = 0; b < plan.warmupBatches; b += 1) await reader.read(batch());
    const counts = await admin.countCommands(prefix, async () => {
      for (let b = 0; b < plan.countedBatches; b += 1) await reader.read(batch());
    });
    const calls = db.calls;
    const rows = db.rows;
    const times: number[] = [];
    for (let b = 0; b < plan.batches; b += 1) {
      const ids = batch();
      const started = performance.now();
      const values = await reader.read(ids);
      times.push(performance.now() - started);
      if (values.length !== ids.length || values.some((value) => value === undefined)) throw new Error(`${name}: a batch came back incomplete`);
    }
    const commandsPerBatch = perOp(counts, plan.countedBatches);
    return {
      name,
      medianBatchMs: median(times),
      p99BatchMs: quantile(
        [...times].sort((a, b) => a - b),
        0.99,
      ),
      loaderCallsPerBatch: (db.calls - calls) / plan.batches,
      rowsLoadedPerBatch: (db.rows - rows) / plan.batches,
      commandsPerBatch,
    };
  } finally {
    await reader.close();
  }
}
