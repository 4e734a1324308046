import { randomBytes } from 'node:crypto';
import type { Cache } from './cache.js';
import type { EntityKeys } from './keys.js';
import type { CacheResult } from './types.js';

/**
 * What the steps of one entity's reads (entity-read.ts, entity-fill.ts, entity-cache.ts) share:
 * the cache, the entity's keys and options, and its tag hints. Internal: never part of the public
 * surface.
 */
export interface EntityContext<P, T> {
  readonly cache: Cache;
  readonly keys: EntityKeys;
  readonly ttlMs: number;
  readonly graceMs: number;
  readonly valueTags: ((value: T, params: P) => readonly string[]) | undefined;
  readonly validate: ((value: unknown) => T) | undefined;
  readonly hints: TagHints;
}

/**
 * One parameter set being read. Its keys and tags are built and checked before any I/O
 * (`EntityCache`), so nothing that goes to Redis afterwards can fail for a key reason.
 */
export interface Pending<P> {
  readonly params: P;
  readonly key: string;
  readonly leaseKey: string;
  /** The tags from the parameters, valid (tags.ts). */
  readonly tags: readonly string[];
  stale: { value: unknown } | undefined;
  result: CacheResult<unknown> | undefined;
}

const MAX_TAG_HINTS = 10_000;

/**
 * Tags learnt from earlier values of a key, so the next read fetches their tokens in its first
 * round trip. Bounded (oldest out first). Only tags that follow the tag rules are ever given to it:
 * a tag from a header is checked when the header is decoded, a value tag before the fill.
 */
export class TagHints {
  readonly #hints = new Map<string, readonly string[]>();

  get(key: string): readonly string[] {
    return this.#hints.get(key) ?? [];
  }

  remember(key: string, tags: readonly string[]): void {
    if (tags.length === 0) return;
    if (this.#hints.size >= MAX_TAG_HINTS && !this.#hints.has(key)) {
      const oldest = this.#hints.keys().next().value;
      if (oldest !== undefined) this.#hints.delete(oldest);
    }
    this.#hints.set(key, tags);
  }
}

export const randomToken = (): string => randomBytes(12).toString('base64url');

/** An invalidation token is `<epoch ms>.<random>`: unique, and it says when the tag was last invalidated. */
export function invalidatedAt(token: string | null | undefined): number | undefined {
  if (!token) return undefined;
  const at = Number.parseInt(token, 10);
  return Number.isFinite(at) ? at : undefined;
}
