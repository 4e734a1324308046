/**
 * Refresh-ahead: hits that stay hits. Without it an entry is fresh until its TTL and then every
 * reader misses at once; the lease makes that one loader call, but every reader waits for it. With
 * it, a fresh hit close to the end of the entry's freshness reloads the entry early, with a
 * probability that grows as the end nears and with how long the entry's last load took — XFetch
 * (Vattani, Chierichetti and Lowenstein, "Optimal Probabilistic Cache Stampede Prevention", VLDB
 * 2015): reload when `now - loadMs * beta * ln(U) >= freshUntil`, U uniform in (0, 1]. `-ln(U)` is
 * exponentially distributed, so a key read r times a second is reloaded about one load-time ahead
 * of its expiry, and a rarely read key hardly ever early.
 *
 * The reader is answered from the cache at once. The reload runs under the key's lease (one
 * process reloads; the others keep hitting the old entry) with the tag tokens of the reader's read,
 * so a write that invalidates meanwhile voids its fill as it voids any other; nobody waits for its
 * answer, so it is not counted as a read. A Lambda process is frozen once its handler returns, so
 * the reload is tracked (`Cache.idle()`, awaited by `withDataLayer`) and never outlives the invocation.
 */
import type { ReadHeader } from '../entry/entry.js';
import { randomToken } from '../tokens.js';
import type { GetOptions, LoadMany } from '../types.js';
import type { EntityContext, Pending } from './context.js';
import { loadAsHolder } from './fill.js';
import { acquireLeases } from './leases.js';
import type { TagTokens } from './tag-tokens.js';

/** XFetch's draw for a fresh hit: whether to reload its entry now. */
export function wantsRefresh<P, T>(ctx: EntityContext<P, T>, header: ReadHeader, now: number): boolean {
  const refresh = ctx.refreshAhead;
  // An entry whose load time is unknown (format 2, or a load under a millisecond) is never reloaded early.
  if (refresh === undefined || header.loadMs <= 0) return false;
  return now - header.loadMs * refresh.beta * Math.log(ctx.runtime.options.random()) >= header.freshUntil;
}

/** Starts the early reloads the read picked (`entry.refresh`), at most one per key in this process. */
export function startRefreshes<P, T>(
  ctx: EntityContext<P, T>,
  entries: readonly Pending<P>[],
  tokens: TagTokens,
  loadMany: LoadMany<P, T>,
  options: GetOptions,
): void {
  const refresh = ctx.refreshAhead;
  if (refresh === undefined) return;
  for (const entry of entries) {
    if (!entry.refresh) continue;
    entry.refresh = false;
    if (ctx.refreshing.has(entry.key)) continue;
    ctx.refreshing.add(entry.key);
    const reloading = reload(ctx, entry, new Map(tokens), loadMany, options).finally(() => {
      ctx.refreshing.delete(entry.key);
    });
    ctx.runtime.track(reloading, refresh.timeoutMs);
  }
}

/** Takes the key's lease and, when it is free, loads and fills as its holder. Never rejects. */
async function reload<P, T>(ctx: EntityContext<P, T>, hit: Pending<P>, tokens: TagTokens, loadMany: LoadMany<P, T>, options: GetOptions): Promise<void> {
  const { runtime, keys } = ctx;
  const entry: Pending<P> = { params: hit.params, key: hit.key, leaseKey: hit.leaseKey, tags: hit.tags, stale: undefined, result: undefined, background: true };
  const token = randomToken();
  const leased = await acquireLeases(ctx, [entry], token);
  if (!leased.has(entry)) {
    // Another process is reloading it (or Redis is in trouble): its fill will do.
    runtime.events.emit('refresh', { entity: keys.entity, outcome: 'skipped' });
    return;
  }
  runtime.stats.refreshes += 1;
  try {
    // No fail-safe: a reload that fails leaves the entry as it is, to expire as it would have.
    await loadAsHolder(ctx, [entry], tokens, token, loadMany, { ...options, failSafe: false });
    runtime.events.emit('refresh', { entity: keys.entity, outcome: 'loaded' });
  } catch {
    runtime.events.emit('refresh', { entity: keys.entity, outcome: 'failed' });
  }
}
