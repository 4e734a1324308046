import { bypassOf } from '../runtime/failures.js';
import { randomToken } from '../tokens.js';
import type { GetOptions, LoadMany } from '../types.js';
import { type EntityContext, type Pending, unsettled } from './context.js';
import { loadAsHolder, loadEntries } from './fill.js';
import { waitForHolders } from './lease-wait.js';
import { acquireLeases } from './leases.js';
import { readEntries } from './read.js';
import { startRefreshes } from './refresh.js';
import type { TagTokens } from './tag-tokens.js';

/**
 * Gives every entry a result: from Redis when fresh, else from the lease holder or the loader.
 *
 * 1. Read (read.ts). Redis slow or down: the loader answers, and the `bypass` event says why.
 * 2. Take the leases of the misses: the holder loads and fills (fill.ts); every other caller
 *    waits for the holder's fill and reads it itself (lease-wait.ts).
 *    Fresh hits that refresh-ahead picked start their early reloads (refresh.ts).
 * 3. What the holders did not deliver in time is read again — with tokens read now, since the
 *    first read's may predate an invalidation made while waiting — and loaded by this caller,
 *    under a lease when it can take one.
 */
export async function settle<P, T>(ctx: EntityContext<P, T>, pending: readonly Pending<P>[], loadMany: LoadMany<P, T>, options: GetOptions): Promise<void> {
  const tokens: TagTokens = new Map();
  try {
    await readEntries(ctx, pending, tokens);
  } catch (error) {
    // Redis is slow or down: the caller still gets its data, from the loader.
    ctx.runtime.events.emit('bypass', bypassOf(ctx.keys.entity, 'read', error));
    await loadEntries(ctx, pending, tokens, undefined, loadMany, options);
    return;
  }
  startRefreshes(ctx, pending, tokens, loadMany, options);
  let missing = unsettled(pending);
  if (missing.length === 0) return;
  const token = randomToken();
  const leased = await acquireLeases(ctx, missing, token);
  const waiting = missing.filter((entry) => !leased.has(entry));
  await Promise.all([
    leased.size > 0 ? loadAsHolder(ctx, [...leased], tokens, token, loadMany, options) : undefined,
    waiting.length > 0 ? waitForHolders(ctx, waiting, loadMany, options) : undefined,
  ]);
  missing = unsettled(waiting);
  if (missing.length === 0) return;
  // The holders did not deliver in time and there is nothing stale to take: load ourselves.
  const fresh: TagTokens = new Map();
  try {
    await readEntries(ctx, missing, fresh);
  } catch {
    await loadEntries(ctx, missing, fresh, undefined, loadMany, options);
    return;
  }
  missing = unsettled(missing);
  if (missing.length === 0) return;
  const retryToken = randomToken();
  const retried = await acquireLeases(ctx, missing, retryToken);
  await Promise.all([
    retried.size > 0 ? loadAsHolder(ctx, [...retried], fresh, retryToken, loadMany, options) : undefined,
    loadEntries(
      ctx,
      missing.filter((entry) => !retried.has(entry)),
      fresh,
      undefined,
      loadMany,
      options,
    ),
  ]);
}
