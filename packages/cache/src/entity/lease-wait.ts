import { randomToken } from '../tokens.js';
import type { GetOptions, LoadMany } from '../types.js';
import { answer, type EntityContext, type Pending, unsettled, waitsForLoader } from './context.js';
import { loadAsHolder } from './fill.js';
import { acquireLeases, releaseLeases } from './leases.js';
import { readEntries } from './read.js';
import type { TagTokens } from './tag-tokens.js';

/**
 * Waits for the lease holders' fills: reads again every `leasePollMs`, or as soon as a holder in
 * this process finished, until each entry is fresh or `leaseWaitMs` passes. Each round reads the
 * tag tokens anew, so an invalidation made while waiting counts; a round that finds a lease free
 * (its holder gave up, its fill was rejected) takes it and loads at once. Past `leaseWaitMs`, a
 * value inside its grace period is taken (status `stale`) only when the entity opted into
 * `staleWhileWaiting`; otherwise the caller loads itself (settle.ts).
 */
export async function waitForHolders<P, T>(
  ctx: EntityContext<P, T>,
  entries: readonly Pending<P>[],
  loadMany: LoadMany<P, T>,
  options: GetOptions,
): Promise<void> {
  const { runtime, wakeups } = ctx;
  const { now, sleep, leaseWaitMs, leasePollMs } = runtime.options;
  const started = now();
  runtime.stats.leaseWaits += entries.length;
  for (const entry of entries) waitsForLoader(entry);
  let open = unsettled(entries);
  while (open.length > 0 && now() - started < leaseWaitMs) {
    await wakeups.wait(
      open.map((entry) => entry.key),
      leasePollMs,
      sleep,
    );
    const tokens: TagTokens = new Map();
    try {
      await readEntries(ctx, open, tokens);
    } catch {
      break;
    }
    open = unsettled(open);
    if (open.length === 0) break;
    const token = randomToken();
    const freed = [...(await acquireLeases(ctx, open, token))];
    if (freed.length > 0) {
      // The holder may have filled and let go between our read and our lease: read once more
      // before loading, so a finished load is not repeated by every waiter of the round.
      const again: TagTokens = new Map();
      try {
        await readEntries(ctx, freed, again);
      } catch {
        await releaseLeases(ctx, freed, token);
        break;
      }
      const filled = freed.filter((entry) => entry.result !== undefined);
      if (filled.length > 0) await releaseLeases(ctx, filled, token);
      const toLoad = unsettled(freed);
      if (toLoad.length > 0) await loadAsHolder(ctx, toLoad, again, token, loadMany, options);
      open = unsettled(open);
    }
  }
  const waitedMs = now() - started;
  for (const entry of entries) {
    runtime.events.emit('lease-wait', { entity: ctx.keys.entity, waitedMs, outcome: entry.result ? 'value' : 'timeout' });
    if (entry.result === undefined && entry.stale && ctx.staleWhileWaiting) {
      answer(ctx, entry, { value: entry.stale.value, status: 'stale' }, 'lease-wait');
    }
  }
}
