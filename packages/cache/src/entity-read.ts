/**
 * The read step of an entity: entries and tag tokens in one round trip, each entry judged fresh,
 * stale or absent. An entry is trusted only when its header decodes, names this very key, and
 * carries only valid tags; anything else is a miss, counted, that the next fill overwrites.
 */

import { type EntityContext, type Pending, randomToken } from './entity-context.js';
import { decodeHeader, decodePayload, type ReadHeader } from './entry.js';
import { tagKey } from './keys.js';

interface Read {
  readonly bytes: Buffer;
  readonly header: ReadHeader;
}

type Judged<T> = { kind: 'fresh'; value: T } | { kind: 'stale'; value: T } | { kind: 'none' };

/**
 * Reads entries and tag tokens (into `tokens`, tag → token) in one round trip; settles the fresh
 * entries, remembers stale ones. Throws only when Redis fails (every key is built before the call).
 */
export async function readEntries<P, T>(ctx: EntityContext<P, T>, entries: readonly Pending<P>[], tokens: Map<string, string | null>): Promise<void> {
  const { cache, keys, hints } = ctx;
  const namespace = cache.options.namespace;
  const tags = new Set<string>();
  for (const entry of entries) {
    for (const tag of entry.tags) tags.add(tag);
    for (const tag of hints.get(entry.key)) tags.add(tag);
  }
  for (const tag of tokens.keys()) tags.delete(tag);
  const tagList = [...tags];
  const valueKeys = entries.map((entry) => entry.key);
  const tagKeys = tagList.map((tag) => tagKey(namespace, tag));
  const read = await cache.call('read', () => cache.driver.read(valueKeys, tagKeys));
  tagList.forEach((tag, i) => {
    tokens.set(tag, read.tags[i] ?? null);
  });
  const decoded = entries.map((entry, i) => ({ entry, read: trusted(ctx, entry.key, read.values[i] ?? null) }));
  // Tags the entries carry that we did not know to read (value tags): a second round trip, then remembered.
  const unknown = new Set<string>();
  for (const { entry, read } of decoded) {
    if (!read) continue;
    const carried = Object.keys(read.header.tags);
    for (const tag of carried) if (!tokens.has(tag)) unknown.add(tag);
    hints.remember(entry.key, carried);
  }
  if (unknown.size > 0) {
    const extra = [...unknown];
    const extraKeys = extra.map((tag) => tagKey(namespace, tag));
    const more = await cache.call('read', () => cache.driver.read([], extraKeys));
    extra.forEach((tag, i) => {
      tokens.set(tag, more.tags[i] ?? null);
    });
  }
  await initAbsentTags(ctx, tokens);
  for (const { entry, read } of decoded) {
    const judged = judge(ctx, read, tokens);
    if (judged.kind === 'fresh') {
      entry.result = { value: judged.value, status: 'fresh' };
      cache.count('hits');
      if (cache.wants('hit')) cache.emit('hit', { entity: keys.entity });
    } else {
      if (judged.kind === 'stale') entry.stale = { value: judged.value };
      if (entry.result === undefined) {
        cache.count('misses');
        cache.emit('miss', { entity: keys.entity });
      }
    }
  }
}

/**
 * Gives a token to every tag of `tokens` that has none, so no snapshot ever holds "absent". Without
 * it, a tag key lost after an invalidation (a restart, a FLUSHALL, an eviction) would be absent
 * again, and a fill that read "absent" before that invalidation would pass its check. An entry
 * carrying such a tag is not fresh anyway (its header holds the old token), so this costs a round
 * trip only on the way to a load.
 */
export async function initAbsentTags<P, T>(ctx: EntityContext<P, T>, tokens: Map<string, string | null>): Promise<void> {
  const absent = [...tokens].filter(([, token]) => token === null).map(([tag]) => tag);
  if (absent.length === 0) return;
  const { cache } = ctx;
  const keys = absent.map((tag) => tagKey(cache.options.namespace, tag));
  const given = await cache.call('read', () => cache.driver.initTags(keys, initialToken(), cache.options.tagTtlMs));
  absent.forEach((tag, i) => {
    tokens.set(tag, given[i] ?? null);
  });
}

/** The token of a tag that was never invalidated: no time in it, so `lastInvalidatedAt` ignores it. */
const initialToken = () => `i.${randomToken()}`;

/** The entry's header when the cache can trust it: it decodes (tags valid) and names `key`. */
function trusted<P, T>(ctx: EntityContext<P, T>, key: string, bytes: Buffer | null): Read | undefined {
  if (bytes === null) return undefined;
  let header: ReadHeader;
  try {
    header = decodeHeader(bytes);
  } catch {
    decodeError(ctx);
    return undefined;
  }
  if (header.key !== key) {
    // Another key's entry copied here (another parameter set, entity or version): never served.
    ctx.cache.count('mismatches');
    ctx.cache.emit('mismatch', { entity: ctx.keys.entity });
    return undefined;
  }
  return { bytes, header };
}

function decodeError<P, T>(ctx: EntityContext<P, T>): void {
  ctx.cache.count('decodeErrors');
  ctx.cache.emit('decode-error', { entity: ctx.keys.entity });
}

/** Fresh when inside its TTL and every tag still holds the token it had before the load; stale inside grace. */
function judge<P, T>(ctx: EntityContext<P, T>, read: Read | undefined, tokens: ReadonlyMap<string, string | null>): Judged<T> {
  if (!read) return { kind: 'none' };
  const { header, bytes } = read;
  const now = ctx.cache.options.now();
  if (now >= header.staleUntil) return { kind: 'none' };
  let current = now < header.freshUntil;
  for (const [tag, token] of Object.entries(header.tags)) {
    // A header never legitimately holds "absent" (every snapshot has a token): such an entry is not fresh.
    if (token === null || tokens.get(tag) !== token) current = false;
  }
  // Without an opted-in grace period, an entry that is not fresh is not served at all.
  if (!current && header.staleUntil <= header.freshUntil) return { kind: 'none' };
  let value: T;
  try {
    const raw = decodePayload(bytes, header);
    value = ctx.validate ? ctx.validate(raw) : (raw as T);
  } catch {
    // An older deploy's shape, or corruption: a miss, counted; the next fill overwrites it.
    decodeError(ctx);
    return { kind: 'none' };
  }
  return current ? { kind: 'fresh', value } : { kind: 'stale', value };
}
