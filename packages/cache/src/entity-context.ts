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
  readonly wakeups: Wakeups;
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

/**
 * Wake-ups for callers of this process waiting on another caller's load of the same key: a waiter
 * sleeps until the poll interval passes or a load of one of its keys in this process finished,
 * then reads Redis itself. It is never handed the loader's value (see `EntityCache.get`).
 */
export class Wakeups {
  readonly #waiting = new Map<string, Set<() => void>>();

  /** Resolves after `ms`, or earlier when `wake()` is called for one of `keys`. */
  wait(keys: readonly string[], ms: number, sleep: (ms: number) => Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        for (const key of keys) {
          const set = this.#waiting.get(key);
          set?.delete(finish);
          if (set?.size === 0) this.#waiting.delete(key);
        }
        resolve();
      };
      for (const key of keys) {
        let set = this.#waiting.get(key);
        if (!set) {
          set = new Set();
          this.#waiting.set(key, set);
        }
        set.add(finish);
      }
      void sleep(ms).then(finish);
    });
  }

  wake(key: string): void {
    const set = this.#waiting.get(key);
    if (!set) return;
    for (const finish of [...set]) finish();
  }
}

export const randomToken = (): string => randomBytes(12).toString('base64url');

/** An invalidation token is `<epoch ms>.<random>`: unique, and it says when the tag was last invalidated. */
export function invalidatedAt(token: string | null | undefined): number | undefined {
  if (!token) return undefined;
  const at = Number.parseInt(token, 10);
  return Number.isFinite(at) ? at : undefined;
}
