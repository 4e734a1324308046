/**
 * A Cluster client that reads from replicas (`scaleReads: 'slave'`), on the project's cluster (a
 * replica per master). Replication is asynchronous: a replica may not have applied an invalidation
 * that already returned, so a tag token read there could make an invalidated entry look fresh.
 * The driver therefore reads tag tokens with a script, which ioredis never sends to a replica, and
 * only values from the replicas; a value read there is judged against the masters' tokens, so it
 * is served only while no invalidation has happened since it was loaded.
 *
 * Proved by the servers' own command counts: the replicas answer the values' MGETs and no tag
 * read; the control shows that a plain GET of a tag key through the same client is answered by a
 * replica.
 */
import { createRedisCache, tagKey } from '@cachefront/cache';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { primeTags, REDIS_CLUSTER_PORTS, randomNamespace, ready } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

/** Calls of each command so far, per node (INFO commandstats). */
async function commandCounts(node: Redis): Promise<Map<string, number>> {
  const text = await node.info('commandstats');
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts.set(match[1] as string, Number(match[2]));
  return counts;
}

describe('a Cluster client that reads from replicas', () => {
  const namespace = randomNamespace('cfsr');
  const nodes = REDIS_CLUSTER_PORTS.map((port) => new Redis({ host: '127.0.0.1', port }));
  let client: Cluster;
  let cache: ReturnType<typeof createRedisCache>;
  let products: ReturnType<typeof productsOf>;
  const productsOf = (of: ReturnType<typeof createRedisCache>) =>
    of.entity<{ id: number }, { id: number; name: string }>({ name: 'product', ttlMs: 60_000, tags: ({ id }) => [`product:${id}`] });
  let replicas: Redis[] = [];
  let masters: Redis[] = [];

  beforeAll(async () => {
    // A replica is in the slot table (CLUSTER SLOTS) only once it has replicated something: a
    // fresh cluster's replicas are not, and a client that read the table then would use none.
    await waitFor(
      async () => {
        await nodes[0]?.call('CLUSTER', 'SLOTS'); // answering
        const cluster = new Cluster(REDIS_CLUSTER_PORTS.map((port) => ({ host: '127.0.0.1', port })));
        try {
          await ready(cluster);
          await Promise.all(Array.from({ length: 30 }, (_, i) => cluster.set(`${namespace}:warm:${i}`, '1', 'PX', 60_000)));
        } finally {
          cluster.disconnect();
        }
        const slots = (await nodes[0]?.call('CLUSTER', 'SLOTS')) as unknown[][];
        return slots.every((range) => range.length >= 4); // from, to, the master, a replica
      },
      { timeoutMs: 10_000, message: 'every replica in the slot table' },
    );
    client = new Cluster(
      REDIS_CLUSTER_PORTS.map((port) => ({ host: '127.0.0.1', port })),
      { scaleReads: 'slave', enableAutoPipelining: true },
    );
    cache = createRedisCache({ redis: client, namespace });
    products = productsOf(cache);
    await ready(client);
    // And in this client's own table, which it read when it connected.
    await waitFor(
      () => {
        if (client.slots.every((owners) => owners.length >= 2)) return true;
        client.refreshSlotsCache();
        return false;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: "a replica for every slot in the client's table" },
    );
    const roles = await Promise.all(nodes.map(async (node) => ((await node.call('ROLE')) as [string])[0]));
    replicas = nodes.filter((_, i) => roles[i] === 'slave');
    masters = nodes.filter((_, i) => roles[i] === 'master');
    expect(replicas.length).toBeGreaterThan(0);
    await primeTags(
      client,
      namespace,
      Array.from({ length: 20 }, (_, id) => `product:${id}`),
    );
  });
  afterAll(async () => {
    await cache.close();
    client.disconnect();
    for (const node of nodes) node.disconnect();
  });

  /** What `work` made each group of nodes do: the calls of each command, summed over the group. */
  async function countsDuring(work: () => Promise<void>) {
    const before = await Promise.all(nodes.map(commandCounts));
    await work();
    const after = await Promise.all(nodes.map(commandCounts));
    const sum = (group: readonly Redis[], command: string) =>
      group.reduce((total, node) => {
        const i = nodes.indexOf(node);
        return total + ((after[i] as Map<string, number>).get(command) ?? 0) - ((before[i] as Map<string, number>).get(command) ?? 0);
      }, 0);
    return { replicas: (command: string) => sum(replicas, command), masters: (command: string) => sum(masters, command) };
  }

  it('reads values from the replicas and every tag token from the masters', async () => {
    const load = async ({ id }: { id: number }) => ({ id, name: `p${id}` });
    for (let id = 0; id < 20; id += 1) await products.get({ id }, load);
    // The fills reach the replicas a moment later (until then a read there is a miss, never a wrong hit).
    await waitFor(async () => (await Promise.all(Array.from({ length: 20 }, (_, id) => products.get({ id }, load)))).every((r) => r.status === 'fresh'));
    const counts = await countsDuring(async () => {
      for (let round = 0; round < 5; round += 1) {
        const results = await Promise.all(Array.from({ length: 20 }, (_, id) => products.get({ id }, load)));
        expect(results.every((result) => result.status === 'fresh')).toBe(true);
      }
    });
    expect(counts.replicas('mget')).toBeGreaterThanOrEqual(100);
    expect(counts.masters('mget')).toBe(0);
    // The tag tokens: read by script on the masters, never by a GET on a replica.
    expect(counts.replicas('get')).toBe(0);
    expect(counts.replicas('evalsha') + counts.replicas('eval')).toBe(0);
    expect(counts.masters('evalsha')).toBeGreaterThanOrEqual(100);
  });

  it('serves nothing invalidated: a read after an invalidation misses, whatever a replica holds', async () => {
    const loads: number[] = [];
    const load = async ({ id }: { id: number }) => {
      loads.push(id);
      return { id, name: `v${loads.length}` };
    };
    await products.get({ id: 7 }, load);
    await waitFor(async () => (await products.get({ id: 7 }, load)).status === 'fresh');
    for (let i = 0; i < 20; i += 1) {
      await cache.invalidate(['product:7']);
      // At once, with no wait for replication: the masters' token no longer matches the entry.
      const after = await products.get({ id: 7 }, load);
      expect(after.status).toBe('miss');
      expect(after.value.name).toBe(`v${loads.length}`);
    }
  });

  it('control: a plain GET of a tag key through that client is answered by a replica', async () => {
    const counts = await countsDuring(async () => {
      for (let id = 0; id < 20; id += 1) await client.get(tagKey(namespace, `product:${id}`));
    });
    expect(counts.replicas('get')).toBe(20);
  });
});
