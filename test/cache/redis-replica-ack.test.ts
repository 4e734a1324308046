/**
 * A single Redis with a replica (ElastiCache with a replica and automatic failover): an
 * invalidation returns only once the replica has it too, since a failover to a replica without it
 * would bring the tag's old token back. A replica that does not acknowledge in time fails the
 * invalidation (pending, never dropped silently); with `replicaAckMs: 0` (the control) the master's
 * word is enough. The cluster's case, with a master killed, is in redis-cluster-failover.test.ts.
 */
import { CacheUnavailableError, createRedisCache } from '@cachefront/cache';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/net.js';
import { randomNamespace, startAuxRedis, stopAuxRedis } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

describe('an invalidation on a Redis with a replica', () => {
  let primaryPort: number;
  let replicaPort: number;
  let primary: Redis;
  let replica: Redis;
  let replicaPid: number;

  beforeAll(async () => {
    primaryPort = await freePort();
    replicaPort = await freePort();
    await startAuxRedis(primaryPort);
    await startAuxRedis(replicaPort);
    primary = new Redis({ port: primaryPort });
    replica = new Redis({ port: replicaPort });
    await replica.call('REPLICAOF', '127.0.0.1', String(primaryPort));
    await waitFor(async () => /master_link_status:up/.test(await replica.info('replication')), { timeoutMs: 10_000, message: 'the replica in sync' });
    replicaPid = Number(/process_id:(\d+)/.exec(await replica.info('server'))?.[1]);
  });
  afterAll(async () => {
    primary.disconnect();
    replica.disconnect();
    await stopAuxRedis(replicaPort);
    await stopAuxRedis(primaryPort);
  });

  it('returns once the replica acknowledged it, and fails, pending, while the replica does not answer', async () => {
    const namespace = randomNamespace('cfra');
    const cache = createRedisCache({ redis: { port: primaryPort }, namespace, commandTimeoutMs: 200, replicaAckMs: 100 });
    try {
      const waitsBefore = Number(/cmdstat_wait:calls=(\d+)/.exec(await primary.info('commandstats'))?.[1] ?? 0);
      await cache.invalidate(['product:1', 'product:2']);
      const waitsAfter = Number(/cmdstat_wait:calls=(\d+)/.exec(await primary.info('commandstats'))?.[1] ?? 0);
      expect(waitsAfter - waitsBefore).toBe(1);

      const products = cache.entity<{ id: number }, { id: number }>({ name: 'product', ttlMs: 60_000, tags: ({ id }) => [`product:${id}`] });
      await products.get({ id: 9 }, async ({ id }) => ({ id }));
      const opened: unknown[] = [];
      cache.on('circuit-open', (event) => opened.push(event));
      process.kill(replicaPid, 'SIGSTOP');
      let error: unknown;
      let read: unknown;
      try {
        error = await cache.invalidate(['product:1']).catch((e: unknown) => e);
        // More of them than the breaker's threshold: Redis answers, only a replica is slow, so
        // the breaker stays closed and reads are still hits.
        for (let i = 0; i < 4; i += 1) await cache.invalidate([`product:${i + 2}`]).catch(() => undefined);
        read = await products.get({ id: 9 }, async ({ id }) => ({ id }));
      } finally {
        process.kill(replicaPid, 'SIGCONT');
      }
      expect(error).toBeInstanceOf(CacheUnavailableError);
      expect(error).toMatchObject({ tags: ['product:1'], cause: { code: 'E_REPLICA_ACK' } });
      expect(read).toEqual({ value: { id: 9 }, status: 'fresh' });
      expect(opened).toEqual([]);
      expect(JSON.stringify(error)).not.toContain(namespace);
      // Back once the replica answers again.
      await waitFor(() => cache.invalidate(['product:1']).then(() => true), { timeoutMs: 5000, message: 'an acknowledged invalidation' });
    } finally {
      await cache.close();
    }
  });

  it('control: with replicaAckMs 0 the master’s word is enough, even while the replica does not answer', async () => {
    const cache = createRedisCache({ redis: { port: primaryPort }, namespace: randomNamespace('cfra'), commandTimeoutMs: 200, replicaAckMs: 0 });
    process.kill(replicaPid, 'SIGSTOP');
    try {
      await expect(cache.invalidate(['product:1'])).resolves.toBeUndefined();
    } finally {
      process.kill(replicaPid, 'SIGCONT');
      await cache.close();
    }
  });
});
