/**
 * The cache on a plain `rediss://` URL, as a Lambda on ElastiCache configures it: no `tls` options,
 * the server's CA trusted through Node's CA store (the test sets NODE_EXTRA_CA_CERTS, which Node
 * reads only at start, hence a process of its own). Run with tsx by redis-tls.test.ts; it fills,
 * hits and invalidates one entry and prints one JSON line with what it saw.
 *
 * Configuration comes as JSON in CF_REDISS_WORKER (see RedissWorkerConfig).
 */
import { Cache, type CacheEvents, type CacheStats, type Freshness, RedisDriver } from '@cachefront/cache';

export interface RedissWorkerConfig {
  url: string;
  namespace: string;
}

export interface RedissWorkerReport {
  statuses: Freshness[];
  loads: number;
  stats: CacheStats;
  connectionErrors: Array<CacheEvents['connection-error']>;
  invalidateError: string | undefined;
}

const config = JSON.parse(process.env['CF_REDISS_WORKER'] ?? '') as RedissWorkerConfig;
// What createRedisCache({ redis: url }) builds, with the driver at hand for the warm-up.
const driver = new RedisDriver(config.url);
const cache = new Cache(driver, { namespace: config.namespace, commandTimeoutMs: 200 });
const connectionErrors: RedissWorkerReport['connectionErrors'] = [];
cache.on('connection-error', (payload) => connectionErrors.push(payload));
const items = cache.entity<{ id: number }, { id: number }>({ name: 'item', ttlMs: 60_000, tags: ({ id }) => [`item:${id}`] });
let loads = 0;
const load = async ({ id }: { id: number }) => {
  loads += 1;
  return { id };
};

try {
  // Connected (or refused) before the first read, so a cold process's handshake is not what is timed.
  await driver.ttl(`${config.namespace}:warmup`).catch(() => undefined);
  const statuses: Freshness[] = [];
  statuses.push((await items.get({ id: 1 }, load)).status);
  statuses.push((await items.get({ id: 1 }, load)).status);
  let invalidateError: string | undefined;
  try {
    await cache.invalidate(['item:1']);
  } catch (error) {
    invalidateError = error instanceof Error ? error.name : String(error);
  }
  statuses.push((await items.get({ id: 1 }, load)).status);
  const report: RedissWorkerReport = { statuses, loads, stats: cache.stats(), connectionErrors, invalidateError };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  await cache.close();
}
