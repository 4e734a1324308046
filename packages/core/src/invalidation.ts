import diagnostics from 'node:diagnostics_channel';
import { InvalidationPendingError } from './errors.js';
import type { CachePort, DatabasePort, OutboxStore } from './ports.js';

/** An outbox row `drain()` could not apply: left alone (unreadable) or removed (its tags can never be cached), never in the way. */
export interface SkippedOutboxRow {
  readonly id: number;
  /** `unreadable`: not a JSON list of strings, kept for a person to look at. `invalid-tags`: some tags could never be cached; the others were invalidated. */
  readonly reason: 'unreadable' | 'invalid-tags';
}

export interface DrainResult {
  /** Distinct tags invalidated. */
  readonly tags: number;
  /** Outbox rows applied and removed. */
  readonly rows: number;
  readonly skipped: readonly SkippedOutboxRow[];
}

/** `node:diagnostics_channel` on which `drain()` reports each row it skipped (`{ id, reason }`, never the row's content). */
export const OUTBOX_SKIP_CHANNEL = 'cachefront:core:outbox-skip';
const outboxSkip = diagnostics.channel(OUTBOX_SKIP_CHANNEL);

/** Outbox rows read per round trip by `drain()`. */
const OUTBOX_PAGE = 500;

/** Time kept back from the invocation's deadline when a write retries its invalidation. */
const DEADLINE_MARGIN_MS = 250;

/**
 * The invalidation half of a data layer: writes that invalidate after COMMIT, the outbox and what
 * is still pending, and `drain()`. Internal to core (`DataLayer` is the public face).
 */
export class Invalidations<Tx> {
  readonly #cache: CachePort;
  readonly #database: DatabasePort<unknown, Tx>;
  readonly #outbox: OutboxStore<Tx> | undefined;
  readonly #retryMs: number;
  /** Tags committed but not yet invalidated, kept in memory when there is no outbox. */
  readonly #pending = new Set<string>();
  /**
   * Set when Redis gave trouble or its connection came back: the next cached read first replays
   * pending invalidations. Not set at start, so a cache hit never needs a database connection; a
   * container that died between COMMIT and its invalidation leaves outbox rows for `drain()`.
   */
  #drainBeforeRead = false;
  /** The invocation's deadline (epoch ms), from `useContext`. */
  deadline: number | undefined;

  constructor(cache: CachePort, database: DatabasePort<unknown, Tx>, retryMs: number) {
    this.#cache = cache;
    this.#database = database;
    this.#outbox = database.outbox;
    this.#retryMs = retryMs;
    // Redis gave trouble, or its connection came back (an invalidation sent meanwhile may be lost,
    // and a writer elsewhere may have left some pending): replay the outbox before trusting it again.
    const trouble = () => {
      this.#drainBeforeRead = true;
    };
    for (const event of ['bypass', 'timeout', 'error', 'reconnect'] as const) cache.on(event, trouble);
  }

  /**
   * Runs `work` in one transaction; after COMMIT, and only then, invalidates the tags `tagsOf`
   * gives for its result (checked before COMMIT, recorded in the outbox in the same transaction).
   * See `DataLayer.write` for what the caller may rely on.
   */
  async write<R>(work: (tx: Tx) => Promise<R>, tagsOf: (result: R) => readonly string[]): Promise<R> {
    let tags: readonly string[] = [];
    let outboxId: number | undefined;
    let result: R;
    try {
      result = await this.#database.transaction(async (tx) => {
        const value = await work(tx);
        tags = [...new Set(tagsOf(value))];
        // Before COMMIT: a tag that could never be invalidated rolls the write back, and never reaches the outbox.
        this.#cache.validateTags(tags);
        if (this.#outbox && tags.length > 0) outboxId = await this.#outbox.record(tx, tags);
        return value;
      });
    } catch (error) {
      // The COMMIT went unanswered: it may have landed. Invalidating an unchanged row is harmless; not invalidating a changed one is not.
      if (this.#database.mayHaveCommitted(error) && tags.length > 0) await this.#afterCommit(tags, outboxId, 'unknown');
      throw error;
    }
    if (tags.length > 0) await this.#afterCommit(tags, outboxId, true);
    return result;
  }

  /**
   * The writer's replication position after the COMMIT, for the readers' position waits. Unknown
   * (no readers, the connection lost): none, and fills after this invalidation read the writer for
   * the lag window instead.
   */
  async #position(): Promise<string | undefined> {
    try {
      return await this.#database.writePosition?.();
    } catch {
      return undefined;
    }
  }

  /** Delivers a committed write's invalidation (with retries), then forgets its outbox row; else keeps it pending and throws. */
  async #afterCommit(tags: readonly string[], outboxId: number | undefined, committed: true | 'unknown'): Promise<void> {
    try {
      await this.#deliver(tags, await this.#position());
    } catch (error) {
      if (!this.#outbox) for (const tag of tags) this.#pending.add(tag);
      this.#drainBeforeRead = true;
      throw new InvalidationPendingError(tags, error, { committed, outboxId });
    }
    if (outboxId !== undefined) await this.#forget([outboxId]);
  }

  /**
   * `cache.invalidate(tags)`, tried again with a short backoff while Redis cannot be reached (a
   * restart, a failover, a reconnect in progress), for up to `invalidationRetryMs` and never past
   * the invocation's deadline. Rethrows the last failure.
   */
  async #deliver(tags: readonly string[], position: string | undefined): Promise<void> {
    const started = Date.now();
    // A deadline already past is an earlier invocation's (a long-running process): not this write's.
    const deadline = this.deadline !== undefined && this.deadline > started ? this.deadline - DEADLINE_MARGIN_MS : Number.POSITIVE_INFINITY;
    const until = Math.min(started + this.#retryMs, deadline);
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.#cache.invalidate(tags, position === undefined ? {} : { position });
        return;
      } catch (error) {
        const delay = Math.min(100, 5 * 2 ** attempt);
        if (Date.now() + delay >= until) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /**
   * Replays every pending invalidation: the in-memory ones and every outbox row, a page at a time.
   * A row it cannot apply is skipped and reported (in the result and on `OUTBOX_SKIP_CHANNEL`),
   * never in the way of the rows behind it.
   */
  async drain(): Promise<DrainResult> {
    const skipped: SkippedOutboxRow[] = [];
    let tagCount = 0;
    let rowCount = 0;
    const memory = [...this.#pending];
    if (memory.length > 0) {
      await this.#cache.invalidate(memory);
      for (const tag of memory) this.#pending.delete(tag);
      tagCount += memory.length;
    }
    for (let after = 0; this.#outbox; ) {
      const page = await this.#outbox.page(after, OUTBOX_PAGE);
      const rows = page.filter((row) => row.id > after);
      if (rows.length === 0) break;
      after = Math.max(...rows.map((row) => row.id));
      const tags = new Set<string>();
      const applied: number[] = [];
      for (const row of rows) {
        const decoded = this.#decodeTags(row.tags);
        if (decoded === undefined) {
          skipped.push(skip(row.id, 'unreadable'));
          continue;
        }
        if (decoded.invalid > 0) skipped.push(skip(row.id, 'invalid-tags'));
        for (const tag of decoded.valid) tags.add(tag);
        applied.push(row.id);
      }
      if (tags.size > 0) await this.#cache.invalidate([...tags]);
      tagCount += tags.size;
      rowCount += applied.length;
      await this.#forget(applied);
      if (page.length < OUTBOX_PAGE) break;
    }
    return { tags: tagCount, rows: rowCount, skipped };
  }

  /**
   * Before a cached read after Redis trouble or a reconnect: replays pending invalidations. While
   * the outbox still had rows (another container's pending writes), the next read drains again.
   * Returns false when they could not be replayed: the cache is then not trusted for this read,
   * which goes to the loader alone, and the next read tries again.
   */
  async beforeRead(): Promise<boolean> {
    if (!this.#drainBeforeRead) return true;
    try {
      const drained = await this.drain();
      this.#drainBeforeRead = drained.rows > 0;
      return true;
    } catch {
      return false;
    }
  }

  /** An outbox row's tags: the ones the cache can store, and how many it cannot; undefined when the row is not a JSON list of strings. */
  #decodeTags(text: unknown): { valid: string[]; invalid: number } | undefined {
    let list: unknown;
    try {
      list = JSON.parse(String(text));
    } catch {
      return undefined;
    }
    if (!Array.isArray(list) || !list.every((tag) => typeof tag === 'string')) return undefined;
    const valid: string[] = [];
    let invalid = 0;
    for (const tag of list as string[]) {
      try {
        this.#cache.validateTags([tag]);
        valid.push(tag);
      } catch {
        invalid += 1;
      }
    }
    return { valid, invalid };
  }

  async #forget(ids: readonly number[]): Promise<void> {
    if (!this.#outbox || ids.length === 0) return;
    try {
      await this.#outbox.forget(ids);
    } catch {
      // Harmless: the row is replayed later, and invalidating a tag twice changes nothing.
    }
  }
}

function skip(id: number, reason: SkippedOutboxRow['reason']): SkippedOutboxRow {
  const row = { id, reason };
  if (outboxSkip.hasSubscribers) outboxSkip.publish(row);
  return row;
}
