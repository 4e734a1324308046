/**
 * One "container" of the multi-process lease test (leases-multiprocess.test.ts), run with tsx in its
 * own Node process. It connects, says it is ready (INCR of the ready key), blocks until the test
 * releases every worker at once (BLPOP of the go key), then runs `gets` concurrent `get`s of one
 * cold key whose loader counts its calls in Redis (INCR) and takes `loadMs`. It prints one JSON line
 * with what every get returned, its cache stats and when it started.
 *
 * Configuration comes as JSON in CF_LEASE_WORKER (see WorkerConfig).
 */
import { Cache, type CacheResult, type CacheStats, type EntityCache, RedisDriver } from '@cachefront/cache';
import { Redis } from 'ioredis';

export interface WorkerConfig {
  redisUrl: string;
  namespace: string;
  counterKey: string;
  readyKey: string;
  goKey: string;
  /** Concurrent gets in this process. */
  gets: number;
  /** How long the loader takes. */
  loadMs: number;
  leaseWaitMs: number;
  /** 'shared': every get through one entity view (they share attempts that began after them); 'separate': one view per get, each its own lease contender. */
  mode: 'shared' | 'separate';
}

export interface Loaded {
  /** The loader call's number, from INCR: 1 for the first call across all processes. */
  n: number;
  pid: number;
  loadedAt: number;
}

export interface WorkerReport {
  pid: number;
  startedAt: number;
  results: Array<CacheResult<Loaded>>;
  stats: CacheStats;
  leaseWaits: Array<{ waitedMs: number; outcome: string }>;
}

const config = JSON.parse(process.env['CF_LEASE_WORKER'] ?? '') as WorkerConfig;
const control = new Redis(config.redisUrl);
const blocker = new Redis(config.redisUrl);
// What createRedisCache() builds, with the driver at hand for the warm-up.
const driver = new RedisDriver(config.redisUrl);
const cache = new Cache(driver, { namespace: config.namespace, leaseWaitMs: config.leaseWaitMs, commandTimeoutMs: 1000 });
const leaseWaits: WorkerReport['leaseWaits'] = [];
cache.on('lease-wait', ({ waitedMs, outcome }) => leaseWaits.push({ waitedMs, outcome }));

const view = (): EntityCache<{ id: number }, Loaded> => cache.entity<{ id: number }, Loaded>({ name: 'cold', ttlMs: 60_000, tags: ({ id }) => [`cold:${id}`] });

const load = async (): Promise<Loaded> => {
  const n = await control.incr(config.counterKey);
  await new Promise((resolve) => setTimeout(resolve, config.loadMs)); // the database query
  return { n, pid: process.pid, loadedAt: Date.now() };
};

try {
  // Connected before the start: the cache's own connection (one PTTL, past the cache's timeout and breaker) and both control connections.
  await Promise.all([driver.ttl(`${config.namespace}:warmup`), control.ping(), blocker.ping()]);
  await control.incr(config.readyKey);
  await blocker.blpop(config.goKey, 0);
  const startedAt = Date.now();
  const shared = view();
  const results = await Promise.all(Array.from({ length: config.gets }, () => (config.mode === 'shared' ? shared : view()).get({ id: 1 }, load)));
  const report: WorkerReport = { pid: process.pid, startedAt, results, stats: cache.stats(), leaseWaits };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await cache.close();
  control.disconnect();
  blocker.disconnect();
}
