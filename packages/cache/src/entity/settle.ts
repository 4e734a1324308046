import { bypassOf } from '../runtime/failures.js';
import { randomToken, recordTokens } from '../tokens.js';
import type { GetOptions, LoadMany } from '../types.js';
import { type EntityContext, type Pending, unsettled } from './context.js';
import { loadAsHolder, loadEntries } from './fill.js';
import { waitForHolders } from './lease-wait.js';
import { acquireLeases } from './leases.js';
import { judgeEntries, readEntries, tagsToRead } from './read.js';
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
    await bypassed(ctx, pending, tokens, error, loadMany, options);
    return;
  }
  await afterRead(ctx, pending, tokens, loadMany, options);
}

/**
 * `settle` of one entry — every `get` — with its hit answered in the very reaction of the Redis
 * read: the steps `settle` awaits one by one (the read, the judgement, the rest) are taken only
 * when the read was not a hit. Resolves to the entry, answered.
 */
export function settleOne<P, T>(ctx: EntityContext<P, T>, entry: Pending<P>, loadMany: LoadMany<P, T>, options: GetOptions): Promise<Pending<P>> {
  const { runtime } = ctx;
  const tokens: TagTokens = new Map();
  const tags = tagsToRead(ctx, [entry], tokens);
  const tagKeys = tags.map(runtime.tagKey);
  const entries = [entry];
  return runtime
    .call('read', (driver) => driver.read([entry.key], tagKeys))
    .then(
      (result) => {
        const judging = judgeEntries(ctx, entries, recordTokens(tags, result, tokens), tokens);
        if (judging === undefined && entry.result !== undefined && !entry.refresh) return entry;
        // The read's further round trips (tokens to fetch or give) fail as the read does: a bypass.
        return Promise.resolve(judging).then(
          () => afterRead(ctx, entries, tokens, loadMany, options).then(() => entry),
          (error: unknown) => bypassed(ctx, entries, tokens, error, loadMany, options).then(() => entry),
        );
      },
      (error: unknown) => bypassed(ctx, entries, tokens, error, loadMany, options).then(() => entry),
    );
}

/** Redis is slow or down: the caller still gets its data, from the loader, and the `bypass` event says why. */
function bypassed<P, T>(
  ctx: EntityContext<P, T>,
  pending: readonly Pending<P>[],
  tokens: TagTokens,
  error: unknown,
  loadMany: LoadMany<P, T>,
  options: GetOptions,
): Promise<void> {
  ctx.runtime.events.emit('bypass', bypassOf(ctx.keys.entity, 'read', error));
  return loadEntries(ctx, pending, tokens, undefined, loadMany, options);
}

/** Steps 2 and 3, after the first read: refreshes, leases, loads, waits, and the read again of what the holders did not deliver. */
async function afterRead<P, T>(
  ctx: EntityContext<P, T>,
  pending: readonly Pending<P>[],
  tokens: TagTokens,
  loadMany: LoadMany<P, T>,
  options: GetOptions,
): Promise<void> {
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
