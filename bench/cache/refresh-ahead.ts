/**
 * Scenario 5: hits that stay hits. A steady read load on a few hot keys with a short TTL, through
 * cachefront without and with refresh-ahead: `containers` Lambda containers (each a cache of its
 * own, with its own Redis connection, one invocation at a time), each invocation one read of one of
 * `hotKeys` keys, then `cache.idle()` as `withDataLayer` does at the end of an invocation; entries
 * are fresh for `ttlMs`, the loader answers after `loaderMs`; for `durationMs`. Without
 * refresh-ahead every expiry makes the key's readers wait for its reload; with it, a hit near the
 * expiry reloads the key (one container, under the lease) while every reader is answered from the
 * cache. Reported: the share of reads that waited for a loader (`loaderWaits` over reads, every
 * read counted once), the read's latency (what the handler waits for) and the invocation's (the
 * read and `idle()`: what the container is busy for), and the loader calls it took.
 */
import { performance } from 'node:perf_hooks';
import { type Cache, createRedisCache } from '@cachefront/cache';
import { REDIS_URL, sleep } from './fixtures.js';
import { quantile } from './measure.js';

export interface RefreshPlan {
  readonly hotKeys: number;
  readonly ttlMs: number;
  readonly loaderMs: number;
  readonly containers: number;
  readonly durationMs: number;
}

export const DEFAULT_REFRESH_PLAN: RefreshPlan = { hotKeys: 8, ttlMs: 500, loaderMs: 20, containers: 16, durationMs: 8000 };

export type RefreshVariant = 'off' | 'on';

export const REFRESH_VARIANTS: readonly RefreshVariant[] = ['off', 'on'];

export interface RefreshResult {
  readonly variant: RefreshVariant;
  readonly reads: number;
  /** Reads that waited for a loader (their own, a lease holder's, or the one they shared), over all reads. */
  readonly loaderWaitShare: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** The read and `idle()`: how long the invocation kept its container. */
  readonly invocationP99Ms: number;
  readonly loaderCalls: number;
  readonly refreshes: number;
}

export async function runRefreshAhead(variant: RefreshVariant, prefix: string, plan: RefreshPlan): Promise<RefreshResult> {
  let loaderCalls = 0;
  const load = async ({ id }: { id: number }) => {
    loaderCalls += 1;
    await sleep(plan.loaderMs);
    return { id, at: Date.now() };
  };
  const containers = Array.from({ length: plan.containers }, () => {
    const cache = createRedisCache({ redis: REDIS_URL, namespace: `${prefix}-ra${variant}` });
    const hot = cache.entity<{ id: number }, { id: number; at: number }>({
      name: 'hot',
      ttlMs: plan.ttlMs,
      tags: ({ id }) => [`hot:${id}`],
      ...(variant === 'on' ? { refreshAhead: true } : {}),
    });
    return { cache, hot };
  });
  try {
    const first = containers[0];
    if (first === undefined) throw new RangeError('at least one container');
    // Warm every key, then measure from a clean slate of counters.
    await Promise.all(Array.from({ length: plan.hotKeys }, (_, id) => first.hot.get({ id }, load)));
    await first.cache.idle();
    const reads = () => containers.reduce((sum, { cache }) => sum + cache.stats().hits + cache.stats().stale + cache.stats().misses, 0);
    const count = (pick: (stats: ReturnType<Cache['stats']>) => number) => containers.reduce((sum, { cache }) => sum + pick(cache.stats()), 0);
    const readsBefore = reads();
    const waitsBefore = count((s) => s.loaderWaits);
    const refreshesBefore = count((s) => s.refreshes);
    const callsBefore = loaderCalls;
    const latencies: number[] = [];
    const invocations: number[] = [];
    const until = performance.now() + plan.durationMs;
    let next = 0;
    const invoke = async ({ cache, hot }: (typeof containers)[number]) => {
      while (performance.now() < until) {
        const id = next++ % plan.hotKeys;
        const started = performance.now();
        await hot.get({ id }, load);
        latencies.push(performance.now() - started);
        await cache.idle();
        invocations.push(performance.now() - started);
      }
    };
    await Promise.all(containers.map(invoke));
    const total = reads() - readsBefore;
    const sorted = Float64Array.from(latencies).sort();
    return {
      variant,
      reads: total,
      loaderWaitShare: (count((s) => s.loaderWaits) - waitsBefore) / total,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      p999Ms: quantile(sorted, 0.999),
      invocationP99Ms: quantile(Float64Array.from(invocations).sort(), 0.99),
      loaderCalls: loaderCalls - callsBefore,
      refreshes: count((s) => s.refreshes) - refreshesBefore,
    };
  } finally {
    await Promise.all(containers.map(({ cache }) => cache.close()));
  }
}
