/**
 * The load and fill steps of an entity: leases, the loader call, and the tag-checked fill. A value
 * that cannot be cached (invalid value tags, a value the codec refuses, too large) is still served;
 * it is only not stored, and says so in a `fill-rejected` or `oversize` event. None of that counts
 * toward the circuit breaker: only the driver calls do.
 */
import type { FillRequest } from './drivers/driver.js';
import { type EntityContext, invalidatedAt, type Pending } from './entity-context.js';
import { initAbsentTags } from './entity-read.js';
import { encodeEntry } from './entry.js';
import type { CacheEvents } from './events.js';
import { tagKey } from './keys.js';
import { assertTags } from './tags.js';
import type { GetOptions, LoadMany } from './types.js';

/** Takes the leases it can; the entries whose lease `token` now holds. Redis trouble: none. */
export async function acquireLeases<P, T>(ctx: EntityContext<P, T>, entries: readonly Pending<P>[], token: string): Promise<Set<Pending<P>>> {
  const { cache } = ctx;
  const leaseKeys = entries.map((entry) => entry.leaseKey);
  try {
    const taken = await cache.call('lease', () => cache.driver.acquireLeases(leaseKeys, token, cache.options.leaseTtlMs));
    return new Set(entries.filter((_, i) => taken[i]));
  } catch {
    return new Set();
  }
}

export async function releaseLeases<P, T>(ctx: EntityContext<P, T>, entries: readonly Pending<P>[], token: string): Promise<void> {
  const { cache } = ctx;
  const leaseKeys = entries.map((entry) => entry.leaseKey);
  try {
    await cache.call('lease', () => cache.driver.releaseLeases(leaseKeys, token));
  } catch {
    // The lease expires by itself.
  }
}

/**
 * Runs the loader for entries and, when `token` holds their leases, fills them with the tag tokens
 * read before the load, so a write that commits and invalidates meanwhile voids the fill.
 */
export async function loadEntries<P, T>(
  ctx: EntityContext<P, T>,
  entries: readonly Pending<P>[],
  tokens: ReadonlyMap<string, string | null>,
  token: string | undefined,
  loadMany: LoadMany<P, T>,
  options: GetOptions,
): Promise<void> {
  if (entries.length === 0) return;
  const { cache } = ctx;
  const loadStart = cache.options.now();
  let lastInvalidatedAt: number | undefined;
  for (const entry of entries) {
    for (const tag of entry.tags) {
      const at = invalidatedAt(tokens.get(tag));
      if (at !== undefined && (lastInvalidatedAt === undefined || at > lastInvalidatedAt)) lastInvalidatedAt = at;
    }
  }
  let values: readonly T[];
  try {
    cache.count('loads');
    values = await loadMany(
      entries.map((entry) => entry.params),
      { lastInvalidatedAt },
    );
  } catch (error) {
    if (token) await releaseLeases(ctx, entries, token);
    const failSafe = typeof options.failSafe === 'function' ? options.failSafe(error) : options.failSafe === true;
    if (failSafe && entries.every((entry) => entry.stale)) {
      for (const entry of entries) {
        entry.result = { value: entry.stale?.value, status: 'stale' };
        cache.count('stale');
        cache.emit('stale', { entity: ctx.keys.entity, reason: 'loader-error' });
      }
      return;
    }
    throw error;
  }
  entries.forEach((entry, i) => {
    entry.result = { value: values[i] as T, status: 'miss' };
  });
  if (token) await fillEntries(ctx, entries, values, tokens, token, loadStart);
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
  ctx.cache.count('fillsRejected');
  ctx.cache.emit('fill-rejected', { entity: ctx.keys.entity, reason });
}

async function fillEntries<P, T>(
  ctx: EntityContext<P, T>,
  entries: readonly Pending<P>[],
  values: readonly T[],
  tokens: ReadonlyMap<string, string | null>,
  token: string,
  loadStart: number,
): Promise<void> {
  const { cache, keys } = ctx;
  const { namespace, compressAboveBytes, maxValueBytes, clockSkewMs } = cache.options;
  const ttlMs = ctx.ttlMs;
  const graceMs = ctx.graceMs;
  const valueTags = valueTagsOf(ctx, entries, values);
  // Value tags not read before the load: read now, and give up the fill if one was invalidated while the loader ran.
  const late = [...new Set(valueTags.flatMap((tags) => tags ?? []))].filter((tag) => !tokens.has(tag));
  const lateTokens = new Map<string, string | null>();
  const newTags = new Set<string>();
  if (late.length > 0) {
    const lateKeys = late.map((tag) => tagKey(namespace, tag));
    try {
      const read = await cache.call('read', () => cache.driver.read([], lateKeys));
      late.forEach((tag, i) => {
        lateTokens.set(tag, read.tags[i] ?? null);
      });
      // A value tag with no token at all: never invalidated, or invalidated during the load and then
      // lost (a restart, a FLUSHALL). On one store the fill's lease would have been lost with it, and
      // the fill fails its lease check; on a cluster the tag lives elsewhere, nothing tells which, so
      // the fill is dropped there. Either way the tag gets a token, so the next load can fill.
      if (!cache.driver.sharedFate) for (const tag of late) if (lateTokens.get(tag) === null) newTags.add(tag);
      await initAbsentTags(ctx, lateTokens);
    } catch {
      await releaseLeases(ctx, entries, token);
      return;
    }
  }
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
    ctx.hints.remember(entry.key, tags);
    // No prototype: a tag named `__proto__` is a tag like any other.
    const header: Record<string, string | null> = Object.create(null);
    for (const tag of tags) {
      const known = tokens.has(tag);
      const value = known ? (tokens.get(tag) ?? null) : (lateTokens.get(tag) ?? null);
      const at = invalidatedAt(value);
      if (!known && at !== undefined && at >= loadStart - clockSkewMs) {
        reject(ctx, 'raced-value-tag');
        abandoned.push(entry);
        return;
      }
      if (newTags.has(tag)) {
        reject(ctx, 'new-value-tag');
        abandoned.push(entry);
        return;
      }
      header[tag] = value;
    }
    let bytes: Buffer;
    try {
      bytes = encodeEntry(
        { key: entry.key, freshUntil: loadStart + ttlMs, staleUntil: loadStart + ttlMs + graceMs, tags: header },
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
      cache.count('oversize');
      cache.emit('oversize', { entity: keys.entity, bytes: bytes.length, maxValueBytes });
      abandoned.push(entry);
      return;
    }
    requests.push({
      key: entry.key,
      leaseKey: entry.leaseKey,
      value: bytes,
      ttlMs: Math.max(1, loadStart + ttlMs + graceMs - cache.options.now()),
      expectTags: tags.map((tag) => [tagKey(namespace, tag), header[tag] ?? null] as const),
    });
  });
  if (abandoned.length > 0) await releaseLeases(ctx, abandoned, token);
  if (requests.length === 0) return;
  try {
    const stored = await cache.call('fill', () => cache.driver.fill(requests, token));
    stored.forEach((ok, i) => {
      if (ok) {
        cache.count('fills');
        cache.emit('fill', { entity: keys.entity, bytes: requests[i]?.value.length ?? 0 });
      } else {
        reject(ctx, 'stale-fill');
      }
    });
  } catch {
    // The value was served; caching it failed. The lease expires by itself.
  }
}
