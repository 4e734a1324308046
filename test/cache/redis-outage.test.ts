/**
 * Redis trouble never takes reads down (invariant 6), on a real redis-server that the test kills
 * and restarts (scripts/redis-aux.sh, its own port; the shared Redis is never touched): reads keep
 * answering from the loader, quickly once the breaker is open; an invalidation that cannot reach
 * Redis is surfaced with its tags; once the server is back, caching resumes.
 */
import net from 'node:net';
import { type Cache, type CacheEventName, CacheUnavailableError, createRedisCache, type EntityCache } from '@cachefront/cache';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auxRedisPort, randomNamespace, startAuxRedis, stopAuxRedis } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

const COMMAND_TIMEOUT_MS = 300;
const BREAKER_OPEN_MS = 1000;

let port: number;

beforeAll(async () => {
  port = await auxRedisPort();
  await startAuxRedis(port);
});

afterAll(async () => {
  await stopAuxRedis(port);
});

/** The server's pid, from INFO, through a short-lived connection of its own. */
async function serverPid(): Promise<number> {
  const admin = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await admin.connect();
    const info = await admin.info('server');
    const pid = /process_id:(\d+)/.exec(info)?.[1];
    if (!pid) throw new Error('INFO has no process_id');
    return Number(pid);
  } finally {
    admin.disconnect();
  }
}

/** Whether something accepts TCP connections on the port. (A SIGKILLed daemon can linger as a zombie, so its pid proves nothing.) */
const listening = (target: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(target, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('the cache while its Redis dies and comes back', () => {
  let cache: Cache;
  let products: EntityCache<{ id: number }, { id: number; price: string }>;
  const events: Array<{ event: CacheEventName; payload: unknown }> = [];
  let loads = 0;
  const load = async ({ id }: { id: number }) => {
    loads += 1;
    return { id, price: '19.90' };
  };
  /** A get, and how long it took. */
  const timedGet = async (id = 1) => {
    const started = performance.now();
    const result = await products.get({ id }, load);
    return { result, ms: performance.now() - started };
  };
  const count = (event: CacheEventName) => events.filter((e) => e.event === event).length;

  beforeAll(() => {
    cache = createRedisCache({
      redis: { host: '127.0.0.1', port: port },
      namespace: randomNamespace(),
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      breakerThreshold: 3,
      breakerOpenMs: BREAKER_OPEN_MS,
    });
    for (const event of ['hit', 'miss', 'fill', 'timeout', 'error', 'circuit-open', 'circuit-close', 'bypass'] as const) {
      cache.on(event, (payload) => events.push({ event, payload }));
    }
    products = cache.entity({ name: 'product', ttlMs: 60_000, tags: ({ id }) => [`product:${id}`] });
  });

  afterAll(async () => {
    await cache.close();
  });

  it('caches while Redis is up', async () => {
    expect((await timedGet()).result.status).toBe('miss');
    expect((await timedGet()).result.status).toBe('fresh');
    await cache.invalidate(['product:1']);
    expect((await timedGet()).result.status).toBe('miss');
    expect((await timedGet()).result).toMatchObject({ status: 'fresh', value: { price: '19.90' } });
    expect(loads).toBe(2);
    expect(count('error') + count('timeout') + count('bypass')).toBe(0);
  });

  it('keeps answering from the loader once Redis is killed, without waiting for Redis on every read', async () => {
    const pid = await serverPid();
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !(await listening(port)), { message: 'redis-server to stop listening' });
    const loadsBefore = loads;

    // Until the breaker opens, each read fails (a connection error, or the command timeout) and falls through to the loader.
    const untilOpen: number[] = [];
    while (count('circuit-open') === 0) {
      const { result, ms } = await timedGet();
      expect(result).toMatchObject({ status: 'miss', value: { id: 1, price: '19.90' } });
      untilOpen.push(ms);
      if (untilOpen.length > 10) throw new Error('the breaker did not open after 10 failed reads');
    }
    expect(untilOpen.length).toBeLessThanOrEqual(3); // breakerThreshold
    for (const ms of untilOpen) expect(ms).toBeLessThan(COMMAND_TIMEOUT_MS + 250);
    expect(count('circuit-open')).toBe(1);
    expect(count('error') + count('timeout')).toBeGreaterThanOrEqual(3);

    // Open breaker: reads skip Redis at once. 50 reads take far less than one command timeout.
    const bypassesBefore = cache.stats().bypasses;
    const started = performance.now();
    for (let id = 1; id <= 50; id += 1) {
      const { result } = await timedGet(id);
      expect(result).toMatchObject({ status: 'miss', value: { id, price: '19.90' } });
    }
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(COMMAND_TIMEOUT_MS);
    expect(cache.stats().bypasses - bypassesBefore).toBe(50);
    expect(loads - loadsBefore).toBe(untilOpen.length + 50);
  });

  it('refuses an invalidation it cannot deliver, naming the pending tags', async () => {
    const started = performance.now();
    const error = await cache.invalidate(['product:1', 'category:tools']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheUnavailableError);
    expect(error).toMatchObject({ code: 'E_CACHE_UNAVAILABLE', tags: ['product:1', 'category:tools'] });
    // Bounded by the command timeout, even though the breaker is open (an invalidation always tries).
    expect(performance.now() - started).toBeLessThan(COMMAND_TIMEOUT_MS + 250);
    expect(cache.stats().invalidations).toBe(1); // only the one made while Redis was up
  });

  it('resumes caching once Redis is back on the same port: a fill, then a fresh hit', async () => {
    await startAuxRedis(port);
    const fillsBefore = cache.stats().fills;
    // The breaker lets a trial through after breakerOpenMs, and ioredis reconnects on its own backoff.
    await waitFor(
      async () => {
        await products.get({ id: 7 }, load);
        return cache.stats().fills > fillsBefore;
      },
      { timeoutMs: 15_000, intervalMs: 50, message: 'a fill after the restart' },
    );
    expect(count('circuit-close')).toBeGreaterThanOrEqual(1);
    const loadsBefore = loads;
    expect(await products.get({ id: 7 }, load)).toMatchObject({ status: 'fresh', value: { id: 7, price: '19.90' } });
    expect(loads).toBe(loadsBefore);
    // Invalidations reach Redis again.
    await cache.invalidate(['product:7']);
    expect((await products.get({ id: 7 }, load)).status).toBe('miss');
    expect((await products.get({ id: 7 }, load)).status).toBe('fresh');
  });
});
