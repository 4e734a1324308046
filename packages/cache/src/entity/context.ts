import type { EntityKeys } from '../keys/keys.js';
import type { ResolvedEntityOptions } from '../options.js';
import type { CacheRuntime } from '../runtime/runtime.js';
import type { CacheResult } from '../types.js';
import type { TagHints } from './tag-hints.js';
import type { Wakeups } from './wakeups.js';

/**
 * What the steps of one entity's reads (read.ts, leases.ts, fill.ts, settle.ts) share: the cache's
 * runtime, the entity's resolved options and keys, its tag hints and its wake-ups. Flat, so a hit
 * reads each field in one step.
 */
export interface EntityContext<P, T> extends ResolvedEntityOptions<P, T> {
  readonly runtime: CacheRuntime;
  readonly keys: EntityKeys;
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
  /** The tags from the parameters, valid (keys/tags.ts). */
  readonly tags: readonly string[];
  stale: { value: unknown } | undefined;
  result: CacheResult<unknown> | undefined;
}

/** The entries of `entries` that have no result yet. */
export const unsettled = <P>(entries: readonly Pending<P>[]): Pending<P>[] => entries.filter((entry) => entry.result === undefined);
