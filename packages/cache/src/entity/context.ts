import type { CacheEvents } from '../events.js';
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
  /** Keys with an early reload running in this process (refresh.ts): one at a time per key. */
  readonly refreshing: Set<string>;
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
  /** Why a stale answer was given (for the event of each caller it answers). */
  staleReason?: StaleReason;
  /** Whether this read waited for a loader: its own, or a lease holder's. */
  waited?: boolean;
  /** A fresh hit that refresh-ahead's draw picked for an early reload (refresh.ts). */
  refresh?: boolean;
  /** An early reload itself: nobody waits for its answer, so it is never counted as a read. */
  background?: boolean;
}

type StaleReason = CacheEvents['stale']['reason'];

/**
 * Gives an entry its answer, and counts it: every answer is one of a hit, a stale answer or a
 * miss, counted and reported once — here, wherever in the read it was found.
 */
export function answer<P, T>(ctx: EntityContext<P, T>, entry: Pending<P>, result: CacheResult<unknown>, staleReason?: StaleReason): void {
  entry.result = result;
  if (staleReason !== undefined) entry.staleReason = staleReason;
  count(ctx, entry);
}

/**
 * Counts the answer of `entry`: when it is given, and once more for each caller in this process
 * that shared its attempt (flights.ts, with `waited` saying whether that caller waited for a
 * loader), so the counters and events say how many reads were answered, each once.
 */
export function count<P, T>(ctx: EntityContext<P, T>, entry: Pending<P>, waited = entry.waited === true): void {
  if (entry.background) return;
  const { stats, events } = ctx.runtime;
  const entity = ctx.keys.entity;
  if (waited) stats.loaderWaits += 1;
  switch (entry.result?.status) {
    case 'fresh':
      stats.hits += 1;
      if (events.wants('hit')) events.emit('hit', { entity });
      break;
    case 'stale':
      stats.stale += 1;
      events.emit('stale', { entity, reason: entry.staleReason ?? 'lease-wait' });
      break;
    case 'miss':
      stats.misses += 1;
      events.emit('miss', { entity });
      break;
    default:
      break;
  }
}

/** Marks an entry as waiting for a loader (its own or a lease holder's). */
export function waitsForLoader<P>(entry: Pending<P>): void {
  entry.waited = true;
}

/** The entries of `entries` that have no result yet. */
export const unsettled = <P>(entries: readonly Pending<P>[]): Pending<P>[] => entries.filter((entry) => entry.result === undefined);
