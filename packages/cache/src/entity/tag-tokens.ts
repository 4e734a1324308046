import { initialToken, readTokens } from '../tokens.js';
import type { EntityContext } from './context.js';

/**
 * A read's snapshot of tag tokens: tag → the token it held when read. Null only until
 * `initAbsentTags` gave the tag one: no snapshot that a load or a judgement uses holds "absent".
 */
export type TagTokens = Map<string, string | null>;

/**
 * The values at `valueKeys` and the tokens of `tags` (into `tokens`) in one round trip, through the
 * runtime (timeout, breaker). Throws only when Redis fails (every key is built before the call).
 */
export function readWithTokens<P, T>(
  ctx: EntityContext<P, T>,
  valueKeys: readonly string[],
  tags: readonly string[],
  tokens: TagTokens,
): Promise<ReadonlyArray<Buffer | null>> {
  const { runtime } = ctx;
  return readTokens((values, tagKeys) => runtime.call('read', (driver) => driver.read(values, tagKeys)), valueKeys, tags, runtime.tagKey, tokens);
}

/** Whether a tag of `tokens` has no token yet (then `initAbsentTags`; a hit never awaits it). */
export function hasAbsentTags(tokens: TagTokens): boolean {
  for (const token of tokens.values()) if (token === null) return true;
  return false;
}

/**
 * Gives a token to every tag of `tokens` that has none, so no snapshot ever holds "absent". Without
 * it, a tag key lost after an invalidation (a restart, a FLUSHALL, an eviction) would be absent
 * again, and a fill that read "absent" before that invalidation would pass its check. An entry
 * carrying such a tag is not fresh anyway (its header holds the old token), so this costs a round
 * trip only on the way to a load.
 */
export async function initAbsentTags<P, T>(ctx: EntityContext<P, T>, tokens: TagTokens): Promise<void> {
  const absent = [...tokens].filter(([, token]) => token === null).map(([tag]) => tag);
  if (absent.length === 0) return;
  const { runtime } = ctx;
  const keys = absent.map(runtime.tagKey);
  const token = initialToken(await runtime.clock.now());
  const given = await runtime.call('read', (driver) => driver.initTags(keys, token, runtime.options.tagTtlMs));
  absent.forEach((tag, i) => {
    tokens.set(tag, given[i] ?? null);
  });
}
