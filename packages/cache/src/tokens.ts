import { randomBytes } from 'node:crypto';
import type { ReadResult } from './drivers/driver.js';

/**
 * The tokens the cache writes. A tag's token changes on every invalidation; an entry's header keeps
 * the tokens its tags had before its load, and is fresh only while they are current.
 *
 *   invalidation   `<epoch ms>.<random>[.<position>]`   unique, and it says when the tag was last
 *                  invalidated (the store's clock, store-clock.ts) and, when the write gave one, the
 *                  database's replication position after it (a GTID set), for fills from replicas
 *   initial        `i<epoch ms>.<random>`  a tag with no token yet: never invalidated, or its token was
 *                  lost (a restart, a FLUSHALL, an eviction) after an invalidation. The time is
 *                  when it was given (the store's clock); `invalidatedAt` does not read it.
 *   lease          `<random>`              who holds a lease
 */

/** 96 random bits, URL-safe: a lease's holder, or the unique part of a tag token. */
export const randomToken = (): string => randomBytes(12).toString('base64url');

/** The token an invalidation at `now` (the store's clock) gives its tags, with the write's replication position if any. */
export const invalidationToken = (now: number, position?: string): string =>
  position === undefined ? `${Math.round(now)}.${randomToken()}` : `${Math.round(now)}.${randomToken()}.${position}`;

/** A replication position as a token may carry it: GTIDs (MariaDB `0-1-42,1-2-7`, MySQL `uuid:1-42`), nothing else. */
export const POSITION = /^[0-9A-Za-z:,-]{1,1000}$/;

/** The token given at `now` (the store's clock) to a tag that has none; `invalidatedAt` ignores it. */
export const initialToken = (now: number): string => `i${Math.round(now)}.${randomToken()}`;

/** When an initial token was given (epoch ms); undefined for other tokens and for those of older releases (`i.<random>`). */
export function givenAt(token: string | null | undefined): number | undefined {
  if (!token?.startsWith('i')) return undefined;
  const at = Number.parseInt(token.slice(1), 10);
  return Number.isFinite(at) ? at : undefined;
}

/** When a tag holding `token` was last invalidated (epoch ms), if its token says. */
export function invalidatedAt(token: string | null | undefined): number | undefined {
  if (!token) return undefined;
  const at = Number.parseInt(token, 10);
  return Number.isFinite(at) ? at : undefined;
}

/** The replication position a tag's token carries, if its invalidation gave one. */
export function positionOf(token: string | null | undefined): string | undefined {
  if (!token) return undefined;
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  return second < 0 ? undefined : token.slice(second + 1);
}

/**
 * The one read of tag tokens — for the entities (entity/tag-tokens.ts) and for the cluster driver's
 * re-check before a fill: the values at `valueKeys` and the tokens of `tags` in one `read`. Each
 * tag's token (null where absent) is recorded in `into`; the values are returned, in order.
 */
export function readTokens<Tag>(
  read: (valueKeys: readonly string[], tagKeys: readonly string[]) => Promise<ReadResult>,
  valueKeys: readonly string[],
  tags: readonly Tag[],
  keyOf: (tag: Tag) => string,
  into: Map<Tag, string | null>,
): Promise<ReadResult['values']> {
  return read(valueKeys, tags.map(keyOf)).then((result) => recordTokens(tags, result, into));
}

/** Records each tag's token from a read's result (null where absent) in `into`; returns the values, in order. */
export function recordTokens<Tag>(tags: readonly Tag[], result: ReadResult, into: Map<Tag, string | null>): ReadResult['values'] {
  for (let i = 0; i < tags.length; i += 1) into.set(tags[i] as Tag, result.tags[i] ?? null);
  return result.values;
}
