/**
 * The read step of an entity: entries and tag tokens in one round trip, each entry judged fresh,
 * stale or absent. An entry is trusted only when its header decodes, names this very key, and
 * carries only valid tags; anything else is a miss, counted, that the next fill overwrites.
 */

import { decodeHeader, decodePayload, type ReadHeader } from '../entry/entry.js';
import { answer, type EntityContext, type Pending } from './context.js';
import { wantsRefresh } from './refresh.js';
import { hasAbsentTags, initAbsentTags, readWithTokens, type TagTokens } from './tag-tokens.js';

interface Read {
  readonly bytes: Buffer;
  readonly header: ReadHeader;
}

type Judged<T> = { kind: 'fresh'; value: T; refresh: boolean } | { kind: 'stale'; value: T } | { kind: 'none' };

/**
 * Reads entries and tag tokens (into `tokens`) in one round trip; settles the fresh entries (a
 * hit, counted), remembers stale ones. An entry left without a result is counted by whatever gives
 * it one (fill.ts, lease-wait.ts): a read is one of hit, stale or miss, however often it polled.
 * Throws only when Redis fails (every key is built before the call).
 */
export async function readEntries<P, T>(ctx: EntityContext<P, T>, entries: readonly Pending<P>[], tokens: TagTokens): Promise<void> {
  const values = await readWithTokens(
    ctx,
    entries.map((entry) => entry.key),
    tagsToRead(ctx, entries, tokens),
    tokens,
  );
  await judgeEntries(ctx, entries, values, tokens);
}

/** The tags whose tokens a read of `entries` fetches: theirs and those remembered from their last headers, but those in `tokens`. */
export function tagsToRead<P, T>(ctx: EntityContext<P, T>, entries: readonly Pending<P>[], tokens: TagTokens): string[] {
  const { hints } = ctx;
  const tags = new Set<string>();
  for (const entry of entries) {
    for (const tag of entry.tags) tags.add(tag);
    for (const tag of hints.get(entry.key)) tags.add(tag);
  }
  for (const tag of tokens.keys()) tags.delete(tag);
  return [...tags];
}

/**
 * Judges the entries read (`values`, in order) against `tokens`, answering the fresh ones. In the
 * same reaction as the read when the entries carry no tag it did not read and every tag has a
 * token — every hit —, so a hit costs no further step; else (undefined returned otherwise) the
 * promise of the round trips that fetch or give the missing tokens first.
 */
export function judgeEntries<P, T>(
  ctx: EntityContext<P, T>,
  entries: readonly Pending<P>[],
  values: ReadonlyArray<Buffer | null>,
  tokens: TagTokens,
): Promise<void> | undefined {
  const reads = entries.map((entry, i) => trusted(ctx, entry.key, values[i] ?? null));
  // Tags the entries carry that we did not know to read (value tags): a second round trip, then remembered.
  const unknown = new Set<string>();
  entries.forEach((entry, i) => {
    const read = reads[i];
    if (!read) return;
    const carried = read.header.tags;
    for (const tag of carried) if (!tokens.has(tag)) unknown.add(tag);
    ctx.hints.remember(entry.key, carried, entry.tags);
  });
  if (unknown.size === 0 && !hasAbsentTags(tokens)) {
    answerEntries(ctx, entries, reads, tokens);
    return undefined;
  }
  return (async () => {
    if (unknown.size > 0) await readWithTokens(ctx, [], [...unknown], tokens);
    if (hasAbsentTags(tokens)) await initAbsentTags(ctx, tokens);
    answerEntries(ctx, entries, reads, tokens);
  })();
}

function answerEntries<P, T>(ctx: EntityContext<P, T>, entries: readonly Pending<P>[], reads: ReadonlyArray<Read | undefined>, tokens: TagTokens): void {
  entries.forEach((entry, i) => {
    const judged = judge(ctx, reads[i], tokens);
    if (judged.kind === 'fresh') {
      answer(ctx, entry, { value: judged.value, status: 'fresh' });
      if (judged.refresh) entry.refresh = true;
    } else if (judged.kind === 'stale') {
      entry.stale = { value: judged.value };
    }
  });
}

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
    ctx.runtime.stats.mismatches += 1;
    ctx.runtime.events.emit('mismatch', { entity: ctx.keys.entity });
    return undefined;
  }
  return { bytes, header };
}

function decodeError<P, T>(ctx: EntityContext<P, T>): void {
  ctx.runtime.stats.decodeErrors += 1;
  ctx.runtime.events.emit('decode-error', { entity: ctx.keys.entity });
}

/** Fresh when inside its TTL and every tag still holds the token it had before the load; stale inside grace. */
function judge<P, T>(ctx: EntityContext<P, T>, read: Read | undefined, tokens: TagTokens): Judged<T> {
  if (!read) return { kind: 'none' };
  const { header, bytes } = read;
  const now = ctx.runtime.options.now();
  if (now >= header.staleUntil) return { kind: 'none' };
  let current = now < header.freshUntil;
  for (let i = 0; i < header.tags.length; i += 1) {
    const token = header.tokens[i];
    // A header never legitimately holds "absent" (every snapshot has a token): such an entry is not fresh.
    if (token === null || token === undefined || tokens.get(header.tags[i] as string) !== token) current = false;
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
  return current ? { kind: 'fresh', value, refresh: wantsRefresh(ctx, header, now) } : { kind: 'stale', value };
}
