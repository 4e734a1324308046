/**
 * Redis helpers for the integration tests: where the throwaway cluster and standalone servers are,
 * the scripts that run them, random namespaces, and an inventory of a namespace's keys with their
 * TTLs (invariant 7). Nothing here flushes or scans beyond a test's own namespace.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEFAULT_CACHE_OPTIONS, tagKey } from '@cachefront/cache';
import { Cluster, type Redis } from 'ioredis';
import { freePort } from './net.js';

const run = promisify(execFile);

/**
 * Every node of the throwaway Redis Cluster that global setup starts (scripts/redis-cluster.sh):
 * three masters and a replica of each. Which port is a master is read from the cluster
 * (`masterPorts` in redis-cluster.ts), never assumed from the list.
 */
export const REDIS_CLUSTER_PORTS = (process.env['CACHEFRONT_REDIS_CLUSTER_PORTS'] ?? '7101 7102 7103 7104 7105 7106').trim().split(/\s+/).map(Number);

export const REDIS_CLUSTER_NODES = REDIS_CLUSTER_PORTS.map((port) => ({ host: '127.0.0.1', port }));

/**
 * A port for a throwaway standalone redis-server that a fault test starts, kills and restarts:
 * CACHEFRONT_REDIS_AUX_PORT if set, else a port the system has just handed out as free (so that
 * two runs at the same time do not kill each other's server).
 */
export async function auxRedisPort(): Promise<number> {
  const fixed = process.env['CACHEFRONT_REDIS_AUX_PORT'];
  if (fixed) return Number(fixed);
  return freePort();
}

const script = (name: string) => fileURLToPath(new URL(`../../scripts/${name}`, import.meta.url));

/**
 * scripts/redis-aux.sh start PORT: idempotent, resolves once the server answers PING. With
 * `tlsDir`, the server speaks only TLS, with the certificates scripts/tls-certs.sh makes there.
 */
export async function startAuxRedis(port: number, tlsDir?: string): Promise<void> {
  await run('bash', [script('redis-aux.sh'), 'start', String(port), ...(tlsDir ? [tlsDir] : [])]);
}

/** scripts/redis-aux.sh stop PORT: shuts the server down and removes its directory. */
export async function stopAuxRedis(port: number): Promise<void> {
  await run('bash', [script('redis-aux.sh'), 'stop', String(port)]);
}

/** A namespace no other test or run shares: `prefix` plus 10 random hex digits (a valid cache name). */
export function randomNamespace(prefix = 'cft'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/** A Cluster client on the throwaway cluster, auto-pipelined as the cache uses it. */
export function clusterClient(): Cluster {
  const client = new Cluster(REDIS_CLUSTER_NODES, { enableAutoPipelining: true });
  client.on('error', () => {});
  return client;
}

/** Every key matching `pattern` on every master (a cluster) or on the one server, via SCAN. */
export async function scanKeys(client: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys;
}

export interface KeyInventory {
  readonly key: string;
  /** PTTL: ms left, -1 without a TTL, -2 gone. */
  readonly pttl: number;
  /** On a cluster: the port of the master that holds the key. */
  readonly port: number | undefined;
}

/** The keys of a namespace (`ns:*`), with their PTTL and, on a cluster, the node that holds each. */
export async function inventory(client: Redis | Cluster, namespace: string): Promise<KeyInventory[]> {
  const out: KeyInventory[] = [];
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  for (const node of nodes) {
    const keys = await scanKeys(node, `${namespace}:*`);
    for (const key of keys) {
      out.push({ key, pttl: await node.pttl(key), port: client instanceof Cluster ? node.options.port : undefined });
    }
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * Where keys live on the cluster: a function from a key to the port of the master that owns its
 * slot (CLUSTER KEYSLOT, against the slot table read once).
 */
export async function slotOwners(client: Cluster): Promise<(key: string) => Promise<number>> {
  const ranges = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, ...unknown[]], ...unknown[]]>;
  return async (key) => {
    const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
    for (const [from, to, master] of ranges) if (slot >= from && slot <= to) return Number(master[1]);
    throw new Error(`no node owns slot ${slot}`);
  };
}

/** Resolves once the cluster client has read the slot table and connected. */
export async function ready(client: Cluster | Redis): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('end', () => reject(new Error('the Redis client ended before it was ready')));
  });
}

/**
 * Gives tags a token, as the tags of a running system have. On a cluster, a value tag with no token
 * at all makes the first load of an entry carrying it go unstored (nothing tells whether it was
 * invalidated and then lost on its node), so cluster tests that count fills prime the value tags they use.
 * Written with the test's own client (`SET NX`, with the cache's default tag TTL), not through a cache.
 */
export async function primeTags(client: Redis | Cluster, namespace: string, tags: readonly string[]): Promise<void> {
  await Promise.all(tags.map((tag) => client.set(tagKey(namespace, tag), 'i.primed', 'PX', DEFAULT_CACHE_OPTIONS.tagTtlMs, 'NX')));
}
