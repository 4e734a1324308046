/**
 * One process of the cold-key stampede. Forked by stampede.ts with the task as its argument: it
 * sets up its library, warms its connection on another key, says `ready`, and on `go` fires
 * `requests` concurrent reads of the one cold key. The loader INCRs a counter in Redis (so calls
 * are counted across processes) and answers after `loaderMs`.
 */

import { createRedisCache } from '@cachefront/cache';
import { createKeyv } from '@keyv/redis';
import { BentoCache, bentostore } from 'bentocache';
import { redisDriver } from 'bentocache/drivers/redis';
import { createCache } from 'cache-manager';
import { Redis } from 'ioredis';
import { ENTRY_TTL_MS, type ProductRow, productRow, productTag, REDIS_HOST, REDIS_PORT, REDIS_URL, sleep } from './fixtures.js';
import type { ParentMessage, StampedeTask, WorkerMessage } from './stampede-protocol.js';

interface Reader {
  /** Reads one id through the cache; resolves to cachefront's status, or 'value' for the peers. */
  read(id: number, load: (id: number) => Promise<ProductRow>): Promise<string>;
  close(): Promise<void>;
}

function createReader(task: StampedeTask): Reader {
  switch (task.library) {
    case 'cachefront': {
      const cache = createRedisCache({ redis: REDIS_URL, namespace: task.prefix });
      const products = cache.entity<{ id: number }, ProductRow>({ name: 'productcold', ttlMs: ENTRY_TTL_MS, tags: ({ id }) => [productTag(id)] });
      return {
        async read(id, load) {
          const { status } = await products.get({ id }, ({ id: only }) => load(only));
          return status;
        },
        close: () => cache.close(),
      };
    }
    case 'bentocache': {
      const bento = new BentoCache({
        default: 'redis',
        prefix: `${task.prefix}-bentocold`,
        stores: { redis: bentostore().useL2Layer(redisDriver({ connection: { host: REDIS_HOST, port: REDIS_PORT } })) },
      });
      return {
        async read(id, load) {
          await bento.getOrSet<ProductRow>({ key: `product:${id}`, ttl: ENTRY_TTL_MS, factory: () => load(id) });
          return 'value';
        },
        close: () => bento.disconnectAll(),
      };
    }
    case 'cache-manager': {
      const cache = createCache({ stores: [createKeyv(REDIS_URL, { namespace: `${task.prefix}-cmcold` })] });
      return {
        async read(id, load) {
          await cache.wrap(`product:${id}`, () => load(id), ENTRY_TTL_MS);
          return 'value';
        },
        close: () => cache.disconnect(),
      };
    }
  }
}

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '') as StampedeTask;
  const counter = new Redis(REDIS_URL);
  const reader = createReader(task);
  const load = async (id: number): Promise<ProductRow> => {
    await counter.incr(task.counterKey);
    await sleep(task.loaderMs);
    return productRow(id);
  };
  // Connect, load scripts and warm the code path on a key of its own (not counted).
  await reader.read(task.id + 1 + (process.pid % 1000) * 10, async (id) => productRow(id));
  await counter.ping();

  const go = new Promise<void>((resolve) => {
    process.once('message', (message: ParentMessage) => {
      if (message.type === 'go') resolve();
    });
  });
  send({ type: 'ready', resolvedCache: import.meta.resolve('@cachefront/cache') });
  await go;

  const started = performance.now();
  const settled = await Promise.allSettled(Array.from({ length: task.requests }, () => reader.read(task.id, load)));
  const elapsedMs = performance.now() - started;
  const statuses: Record<string, number> = {};
  let firstError: string | undefined;
  for (const outcome of settled) {
    if (outcome.status === 'fulfilled') {
      if (task.library === 'cachefront') statuses[outcome.value] = (statuses[outcome.value] ?? 0) + 1;
    } else {
      firstError ??= outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
    }
  }
  const ok = settled.filter((outcome) => outcome.status === 'fulfilled').length;
  send({ type: 'done', elapsedMs, ok, failed: settled.length - ok, firstError, statuses });
  await reader.close();
  await counter.quit();
  process.disconnect?.();
}

await main();
