/**
 * The benchmark's own Redis Cluster (scripts/redis-cluster.sh with its ports and directory): three
 * masters with a replica each, a master to kill, and the wait for its replica's promotion.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/redis-cluster.sh', import.meta.url));

export interface BenchCluster {
  readonly ports: readonly number[];
  /** The port of the master that owns `slot`, as a node still up sees it. */
  ownerOf(slot: number): Promise<number | undefined>;
  slotOf(key: string): Promise<number>;
  /** SIGKILL, as a crash. */
  kill(port: number): Promise<void>;
  /** Resolves once a live master other than `dead` owns `slot` and every node still up says cluster_state:ok. */
  waitForOwner(slot: number, dead: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(ports: readonly number[], dir: string): Promise<BenchCluster> {
  const env = { ...process.env, CACHEFRONT_REDIS_CLUSTER_PORTS: ports.join(' '), CACHEFRONT_REDIS_CLUSTER_DIR: dir };
  const script = (...args: string[]) => run('bash', [SCRIPT, ...args], { env });
  await script('start');
  const dead = new Set<number>();
  const admins = new Map(
    ports.map((port) => {
      const admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
      admin.on('error', () => {});
      return [port, admin] as const;
    }),
  );
  const live = () => {
    const port = ports.find((p) => !dead.has(p));
    const admin = port === undefined ? undefined : admins.get(port);
    if (!admin) throw new Error('every node of the cluster is down');
    return admin;
  };
  const ownerOf = async (slot: number) => {
    const text = String(await live().call('CLUSTER', 'NODES'));
    for (const line of text.trim().split('\n')) {
      // <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slot>...
      const [, address = '', flags = '', , , , , , ...ranges] = line.split(' ');
      if (!flags.includes('master') || flags.includes('fail')) continue;
      const owns = ranges.some((range) => {
        const [from, to = from] = range.split('-').map(Number) as [number, number?];
        return slot >= from && slot <= to;
      });
      if (owns) return Number(/:(\d+)@/.exec(address)?.[1]);
    }
    return undefined;
  };
  return {
    ports,
    ownerOf,
    async slotOf(key) {
      return Number(await live().call('CLUSTER', 'KEYSLOT', key));
    },
    async kill(port) {
      dead.add(port);
      admins.get(port)?.disconnect();
      await script('kill-node', String(port));
    },
    async waitForOwner(slot, deadPort, timeoutMs) {
      const until = performance.now() + timeoutMs;
      for (;;) {
        const owner = await ownerOf(slot).catch(() => undefined);
        if (owner !== undefined && owner !== deadPort) {
          const states = await Promise.all(ports.filter((p) => !dead.has(p)).map(async (p) => String(await admins.get(p)?.call('CLUSTER', 'INFO')))).catch(
            () => [],
          );
          if (states.length > 0 && states.every((info) => /^cluster_state:ok/m.test(info))) return;
        }
        if (performance.now() > until) throw new Error(`no live master owned slot ${slot} within ${timeoutMs} ms of the kill`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async stop() {
      for (const admin of admins.values()) admin.disconnect();
      await script('stop');
    },
  };
}
