/**
 * The layout of a Redis Cluster as CLUSTER NODES gives it (which node is a master, which master a
 * replica follows, who owns a slot); a throwaway cluster of a test's own (scripts/redis-cluster.sh
 * on free ports, in its own directory): three masters with a replica each, whose masters a failover
 * test may kill without disturbing the shared cluster of the other test files; and a driver
 * wrapper that kills a master at the first call that needs it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { CacheDriver, FillRequest } from '@cachefront/cache';
import { Cluster, type ClusterOptions, Redis } from 'ioredis';
import { freePort } from './net.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../scripts/redis-cluster.sh', import.meta.url));

export interface ClusterNode {
  readonly id: string;
  readonly port: number;
  readonly role: 'master' | 'replica';
  /** The id of the master a replica follows; undefined for a master. */
  readonly masterId: string | undefined;
  /** Marked failed by the node asked (`fail`), or suspected by it (`fail?`). */
  readonly failed: boolean;
  /** The slot ranges a master owns, both ends included. */
  readonly slots: ReadonlyArray<readonly [number, number]>;
}

/** The cluster as `node` sees it (CLUSTER NODES). */
export async function clusterNodes(node: Redis): Promise<ClusterNode[]> {
  const text = String(await node.call('CLUSTER', 'NODES'));
  return text
    .trim()
    .split('\n')
    .map((line) => {
      // <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot>...
      const [id = '', address = '', flags = '', master = '', , , , , ...slots] = line.split(' ');
      const flagList = flags.split(',');
      return {
        id,
        port: Number(/:(\d+)@/.exec(address)?.[1]),
        role: flagList.includes('master') ? 'master' : 'replica',
        masterId: master === '-' ? undefined : master,
        failed: flagList.includes('fail') || flagList.includes('fail?'),
        // Importing or migrating slots (`[5-<-id]`) are not owned yet; the layouts here never have them.
        slots: slots
          .filter((range) => !range.startsWith('['))
          .map((range) => {
            const [from, to = from] = range.split('-').map(Number) as [number, number?];
            return [from, to] as const;
          }),
      } satisfies ClusterNode;
    });
}

/** The live master that owns `slot`, if any. */
export function ownerOf(nodes: readonly ClusterNode[], slot: number): ClusterNode | undefined {
  return nodes.find((node) => node.role === 'master' && !node.failed && node.slots.some(([from, to]) => slot >= from && slot <= to));
}

/** The ports of the masters that own slots, in port order: what "one X per master" loops over. */
export async function masterPorts(client: Cluster): Promise<number[]> {
  const [any] = client.nodes('master');
  if (!any) throw new Error('the cluster client knows no master yet (await ready(client) first)');
  return (await clusterNodes(any))
    .filter((node) => node.role === 'master' && !node.failed && node.slots.length > 0)
    .map((node) => node.port)
    .sort((a, b) => a - b);
}

/**
 * A free loopback port whose cluster bus port (port + 10000) is free and valid too: a cluster node
 * listens on both.
 */
async function freeClusterPort(taken: ReadonlySet<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && !taken.has(port) && !taken.has(port + 10_000) && (await isFree(port + 10_000))) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export interface ThrowawayCluster {
  /** Every node, masters first (as the script lays them out: the first three are the masters at start). */
  readonly ports: readonly number[];
  /** A Cluster client, auto-pipelined as the cache uses it; disconnected by `stop()`. */
  client(options?: ClusterOptions): Cluster;
  /** An admin connection to one node (no cluster routing), for CLUSTER NODES and INFO; closed by `stop()`. */
  admin(port: number): Redis;
  /** The layout, as a node that is still up sees it. */
  layout(): Promise<ClusterNode[]>;
  /** The slot of a key (CLUSTER KEYSLOT, asked of a node that is still up). */
  slotOf(key: string): Promise<number>;
  /** The node's process id (the script's pid file). */
  pidOf(port: number): Promise<number>;
  /** SIGKILLs one node, as a crash (scripts/redis-cluster.sh kill-node); resolves once its process is gone. */
  kill(port: number): Promise<void>;
  /**
   * Resolves once `slot` is owned by a live master again and every node still up says
   * cluster_state:ok: the failover is over. Returns the new owner.
   */
  failedOver(slot: number, timeoutMs?: number): Promise<ClusterNode>;
  /**
   * Starts a killed node again (empty: no persistence); it rejoins, takes its slots back from the
   * replica that was promoted, and that one follows it again: the layout of the start, for the next test.
   */
  revive(port: number): Promise<void>;
  /** Disconnects every client made here, stops the nodes and removes their state. */
  stop(): Promise<void>;
}

/** Starts a cluster of its own: 3 masters and 3 replicas on free ports, in a fresh directory. */
export async function startThrowawayCluster(): Promise<ThrowawayCluster> {
  const ports: number[] = [];
  while (ports.length < 6) ports.push(await freeClusterPort(new Set(ports.flatMap((port) => [port, port + 10_000]))));
  const dir = mkdtempSync(path.join(tmpdir(), 'cf-failover-cluster-'));
  const env = { ...process.env, CACHEFRONT_REDIS_CLUSTER_PORTS: ports.join(' '), CACHEFRONT_REDIS_CLUSTER_DIR: dir };
  const cluster = (...args: string[]) => run('bash', [script, ...args], { env });
  await cluster('start');
  const dead = new Set<number>();
  const clients: Array<Cluster | Redis> = [];
  const admins = new Map<number, Redis>();
  const admin = (port: number): Redis => {
    let connection = admins.get(port);
    if (!connection) {
      connection = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
      connection.on('error', () => {});
      admins.set(port, connection);
    }
    return connection;
  };
  const live = () => {
    const port = ports.find((p) => !dead.has(p));
    if (port === undefined) throw new Error('every node of the cluster was killed');
    return admin(port);
  };
  return {
    ports,
    client(options = {}) {
      const client = new Cluster(
        ports.map((port) => ({ host: '127.0.0.1', port })),
        { enableAutoPipelining: true, ...options },
      );
      client.on('error', () => {});
      clients.push(client);
      return client;
    },
    admin,
    layout: () => clusterNodes(live()),
    async slotOf(key) {
      return Number(await live().call('CLUSTER', 'KEYSLOT', key));
    },
    async pidOf(port) {
      return Number(
        await admin(port)
          .info('server')
          .then((info) => /process_id:(\d+)/.exec(info)?.[1]),
      );
    },
    async kill(port) {
      dead.add(port);
      admins.get(port)?.disconnect();
      admins.delete(port);
      await cluster('kill-node', String(port));
    },
    async failedOver(slot, timeoutMs = 15_000) {
      return waitFor(
        async () => {
          const owner = ownerOf(await clusterNodes(live()), slot);
          if (!owner || dead.has(owner.port)) return undefined;
          for (const port of ports.filter((p) => !dead.has(p))) {
            if (!/^cluster_state:ok/m.test(String(await admin(port).call('CLUSTER', 'INFO')))) return undefined;
          }
          return owner;
        },
        { timeoutMs, intervalMs: 10, message: `a live master to own slot ${slot}, and cluster_state:ok on every node still up` },
      );
    },
    async revive(port) {
      await cluster('restart-node', String(port));
      dead.delete(port);
    },
    async stop() {
      for (const client of [...clients, ...admins.values()]) client.disconnect();
      await cluster('stop');
      // The script's lock sits beside the directory (stop removes the directory): nobody holds it now.
      rmSync(`${dir}.lock`, { force: true });
    },
  };
}

/**
 * A driver that SIGKILLs `victim` just before the first call with a key in one of its slots, then
 * lets that call go: whatever runs on it (the driver contract) meets a master that has just died,
 * and its calls on that master's slots wait (the client's retries) until the replica is promoted.
 * It records when each call ran, and whether it touched the victim's slots.
 */
export class KillOnFirstTouch implements CacheDriver {
  readonly sharedFate: boolean;
  readonly calls: Array<{ readonly start: number; readonly end: number; readonly onVictim: boolean }> = [];
  /** When the victim was killed (performance.now()). */
  killedAt: number | undefined;
  /** When its slots had a live master again (performance.now()). */
  promoted: Promise<number> | undefined;
  readonly #cluster: ThrowawayCluster;
  readonly #inner: CacheDriver;
  readonly #victim: ClusterNode;

  constructor(cluster: ThrowawayCluster, inner: CacheDriver, victim: ClusterNode) {
    this.#cluster = cluster;
    this.#inner = inner;
    this.#victim = victim;
    this.sharedFate = inner.sharedFate;
  }

  async #call<R>(keys: readonly string[], run: () => Promise<R>): Promise<R> {
    const slots = await Promise.all(keys.map((key) => this.#cluster.slotOf(key)));
    const onVictim = slots.some((slot) => this.#victim.slots.some(([from, to]) => slot >= from && slot <= to));
    if (onVictim && this.killedAt === undefined) {
      await this.#cluster.kill(this.#victim.port);
      this.killedAt = performance.now();
      this.promoted = this.#cluster.failedOver(this.#victim.slots[0]?.[0] ?? 0).then(() => performance.now());
      this.promoted.catch(() => {}); // whoever reads `promoted` sees the failure
    }
    const start = performance.now();
    try {
      return await run();
    } finally {
      this.calls.push({ start, end: performance.now(), onVictim });
    }
  }

  read(keys: readonly string[], tagKeys: readonly string[]) {
    return this.#call([...keys, ...tagKeys], () => this.#inner.read(keys, tagKeys));
  }
  acquireLeases(leaseKeys: readonly string[], token: string, ttlMs: number) {
    return this.#call(leaseKeys, () => this.#inner.acquireLeases(leaseKeys, token, ttlMs));
  }
  releaseLeases(leaseKeys: readonly string[], token: string) {
    return this.#call(leaseKeys, () => this.#inner.releaseLeases(leaseKeys, token));
  }
  fill(requests: readonly FillRequest[], token: string) {
    const keys = requests.flatMap((request) => [request.key, request.leaseKey, ...request.expectTags.map(([key]) => key)]);
    return this.#call(keys, () => this.#inner.fill(requests, token));
  }
  setTags(tagKeys: readonly string[], token: string, ttlMs: number) {
    return this.#call(tagKeys, () => this.#inner.setTags(tagKeys, token, ttlMs));
  }
  initTags(tagKeys: readonly string[], token: string, ttlMs: number) {
    return this.#call(tagKeys, () => this.#inner.initTags(tagKeys, token, ttlMs));
  }
  delete(keys: readonly string[]) {
    return this.#call(keys, () => this.#inner.delete(keys));
  }
  ttl(key: string) {
    return this.#call([key], () => this.#inner.ttl(key));
  }
  close() {
    return this.#inner.close();
  }
}
