/**
 * The load and fill steps of an entity: the loader call, and the tag-checked fill. A value
 * that cannot be cached (invalid value tags, a value the codec refuses, too large) is still served;
 * it is only not stored, and says so in a `fill-rejected` or `oversize` event. None of that counts
 * toward the circuit breaker: only the driver calls do.
 */
import type { FillRequest } from '../drivers/driver.js';
import { encodeEntry } from '../entry/entry.js';
import type { CacheEvents } from '../events.js';
import { assertTags } from '../keys/tags.js';
import { givenAt, invalidatedAt, positionOf } from '../tokens.js';
import type { GetOptions, LoadContext, LoadMany } from '../types.js';
import { answer, type EntityContext, type Pending, waitsForLoader } from './context.js';
import { releaseLeases } from './leases.js';
import { initAbsentTags, readWithTokens, type TagTokens } from './tag-tokens.js';

/**
 * Runs the loader for entries and, when `token` holds their leases, fills them with the tag tokens
 * read before the load, so a write that commits and invalidates meanwhile voids the fill.
 */
export async function loadEntries<P, T>(
  ctx: EntityContext<P, T>,
  entries: readonly Pending<P>[],
  tokens: TagTokens,
  token: string | undefined,
  loadMany: LoadMany<P, T>,
  options: GetOptions,
): Promise<void> {
  if (entries.length === 0) return;
  const { runtime } = ctx;
  const loadStart = runtime.options.now();
  const context = await loadContext(ctx, entries, tokens);
  let values: readonly T[];
  for (const entry of entries) waitsForLoader(entry);
  try {
    runtime.stats.loads += 1;
    values = await loadMany(
      entries.map((entry) => entry.params),
      context,
    );
  } catch (error) {
    if (token) await releaseLeases(ctx, entries, token);
    const failSafe = typeof options.failSafe === 'function' ? options.failSafe(error) : options.failSafe === true;
    if (failSafe && entries.every((entry) => entry.stale)) {
      for (const entry of entries) answer(ctx, entry, { value: entry.stale?.value, status: 'stale' }, 'loader-error');
      return;
    }
    throw error;
  }
  // Loaded: a miss, counted once here, whatever the read went through before (polls, a bypass).
  entries.forEach((entry, i) => {
    answer(ctx, entry, { value: values[i] as T, status: 'miss' });
  });
  if (token) await fillEntries(ctx, entries, values, tokens, token, loadStart);
}

/**
 * What the loader is told of its entries' tags: their newest invalidation, in this process's clock
 * (tokens carry the store's), and the replication positions their invalidations recorded. A tag
 * given its first token counts as invalidated then, with no position: its token may have been lost
 * after an invalidation (a restart, a FLUSHALL), and nothing tells how recent that was.
 */
async function loadContext<P, T>(ctx: EntityContext<P, T>, entries: readonly Pending<P>[], tokens: TagTokens): Promise<LoadContext> {
  let newest: number | undefined;
  let newestUnpositioned: number | undefined;
  let invalidationsKnown = true;
  const positions = new Set<string>();
  for (const entry of entries) {
    for (const tag of entry.tags) {
      // A tag whose token was not read (Redis bypassed): what was invalidated is unknown.
      if (!tokens.has(tag)) invalidationsKnown = false;
      const token = tokens.get(tag);
      const at = invalidatedAt(token) ?? givenAt(token);
      if (at === undefined) continue;
      if (newest === undefined || at > newest) newest = at;
      const position = positionOf(token);
      if (position !== undefined) positions.add(position);
      else if (newestUnpositioned === undefined || at > newestUnpositioned) newestUnpositioned = at;
    }
  }
  if (newest === undefined) return { lastInvalidatedAt: undefined, positions: [], lastUnpositionedAt: undefined, invalidationsKnown };
  const offset = await ctx.runtime.clock.offset();
  return {
    lastInvalidatedAt: newest - offset,
    positions: [...positions],
    lastUnpositionedAt: newestUnpositioned === undefined ? undefined : newestUnpositioned - offset,
    invalidationsKnown,
  };
}

/** Loads and fills as the lease holder, then wakes this process's callers waiting for these keys. */
export async function loadAsHolder<P, T>(
  ctx: EntityContext<P, T>,
  entries: readonly Pending<P>[],
  tokens: TagTokens,
  token: string,
  loadMany: LoadMany<P, T>,
  options: GetOptions,
): Promise<void> {
  try {
    await loadEntries(ctx, entries, tokens, token, loadMany, options);
  } finally {
    for (const entry of entries) ctx.wakeups.wake(entry.key);
  }
}

/** The value tags of each entry, checked; undefined where the function threw or gave an invalid tag. */
function valueTagsOf<P, T>(ctx: EntityContext<P, T>, entries: readonly Pending<P>[], values: readonly T[]): Array<readonly string[] | undefined> {
  const valueTags = ctx.valueTags;
  if (!valueTags) return entries.map(() => []);
  return entries.map((entry, i) => {
    try {
      return assertTags(valueTags(values[i] as T, entry.params));
    } catch {
      return undefined;
    }
  });
}

function reject<P, T>(ctx: EntityContext<P, T>, reason: CacheEvents['fill-rejected']['reason']): void {
  ctx.runtime.stats.fillsRejected += 1;
  ctx.runtime.events.emit('fill-rejected', { entity: ctx.keys.entity, reason });
}

async function fillEntries<P, T>(
  ctx: EntityContext<P, T>,
  entries: readonly Pending<P>[],
  values: readonly T[],
  tokens: TagTokens,
  token: string,
  loadStart: number,
): Promise<void> {
  const { runtime, keys, ttlMs, graceMs } = ctx;
  const { compressAboveBytes, maxValueBytes, clockSkewMs } = runtime.options;
  // How long the load took: refresh-ahead starts earlier for entries that are slow to load.
  const loadMs = runtime.options.now() - loadStart;
  const valueTags = valueTagsOf(ctx, entries, values);
  // Value tags not read before the load: read now, and give up the fill if one was invalidated while the loader ran.
  const late = [...new Set(valueTags.flatMap((tags) => tags ?? []))].filter((tag) => !tokens.has(tag));
  const lateTokens: TagTokens = new Map();
  const newTags = new Set<string>();
  if (late.length > 0) {
    try {
      await readWithTokens(ctx, [], late, lateTokens);
      // A value tag with no token at all: never invalidated, or invalidated during the load and then
      // lost (a restart, a FLUSHALL). On one store the fill's lease would have been lost with it, and
      // the fill fails its lease check; on a cluster the tag lives elsewhere, nothing tells which, so
      // the fill is dropped there. Either way the tag gets a token, so the next load can fill.
      if (!runtime.sharedFate) for (const tag of late) if (lateTokens.get(tag) === null) newTags.add(tag);
      await initAbsentTags(ctx, lateTokens);
    } catch {
      await releaseLeases(ctx, entries, token);
      return;
    }
  }
  // Late tokens carry the store's clock; the load started on this process's.
  const storeLoadStart = [...lateTokens.values()].some((value) => invalidatedAt(value) !== undefined) ? loadStart + (await runtime.clock.offset()) : loadStart;
  const requests: FillRequest[] = [];
  const abandoned: Pending<P>[] = [];
  entries.forEach((entry, i) => {
    const extra = valueTags[i];
    if (extra === undefined) {
      reject(ctx, 'invalid-tag');
      abandoned.push(entry);
      return;
    }
    const tags = [...new Set([...entry.tags, ...extra])];
    ctx.hints.remember(entry.key, tags, entry.tags);
    const snapshot: Array<string | null> = [];
    for (const tag of tags) {
      const known = tokens.has(tag);
      const value = known ? (tokens.get(tag) ?? null) : (lateTokens.get(tag) ?? null);
      const at = invalidatedAt(value);
      if (!known && at !== undefined && at >= storeLoadStart - clockSkewMs) {
        reject(ctx, 'raced-value-tag');
        abandoned.push(entry);
        return;
      }
      if (newTags.has(tag)) {
        reject(ctx, 'new-value-tag');
        abandoned.push(entry);
        return;
      }
      snapshot.push(value);
    }
    let bytes: Buffer;
    try {
      bytes = encodeEntry(
        { key: entry.key, freshUntil: loadStart + ttlMs, staleUntil: loadStart + ttlMs + graceMs, loadMs, tags, tokens: snapshot },
        values[i],
        compressAboveBytes,
      );
    } catch {
      // A value the codec refuses (a function, a cycle): served, not cached.
      reject(ctx, 'uncacheable');
      abandoned.push(entry);
      return;
    }
    if (bytes.length > maxValueBytes) {
      runtime.stats.oversize += 1;
      runtime.events.emit('oversize', { entity: keys.entity, bytes: bytes.length, maxValueBytes });
      abandoned.push(entry);
      return;
    }
    requests.push({
      key: entry.key,
      leaseKey: entry.leaseKey,
      value: bytes,
      ttlMs: Math.max(1, loadStart + ttlMs + graceMs - runtime.options.now()),
      expectTags: tags.map((tag, t) => [runtime.tagKey(tag), snapshot[t] ?? null] as const),
    });
  });
  if (abandoned.length > 0) await releaseLeases(ctx, abandoned, token);
  if (requests.length === 0) return;
  try {
    const stored = await runtime.call('fill', (driver) => driver.fill(requests, token));
    stored.forEach((ok, i) => {
      if (ok) {
        runtime.stats.fills += 1;
        runtime.events.emit('fill', { entity: keys.entity, bytes: requests[i]?.value.length ?? 0 });
      } else {
        reject(ctx, 'stale-fill');
      }
    });
  } catch {
    // The value was served; caching it failed. The lease expires by itself.
  }
}
