import diagnostics from 'node:diagnostics_channel';
import type { z } from 'zod';
import { InvalidationPendingError, issuesOf, LoadedValueError, RepositoryError, UNREADABLE, ValidationError } from './errors.js';
import type { CachePort, CacheResultPort, DatabasePort, DeadlineSource, EntityPort, LoadContextPort, SqlRunner, StatementBuilder } from './ports.js';
import { declaredKey } from './schema-paths.js';

/** A repository as defined: schemas, keys, tags, TTLs and loaders. It runs once bound to a data layer. */
export interface RepositoryDefinition<PS extends z.ZodType, VS extends z.ZodType, Db> {
  /** Entity name: part of every cache key. */
  readonly name: string;
  /** Schema version: bump it when the value's shape changes, so old entries are never read. @default 1 */
  readonly version?: number;
  readonly params: PS;
  readonly value: VS;
  readonly ttlMs: number;
  /** How long past its TTL a value may still be served, flagged stale, when the database is unavailable. @default 0 */
  readonly graceMs?: number;
  /**
   * Also serve a value inside its grace period (flagged `stale`) to a read that waited `leaseWaitMs`
   * for another container's load of it, while the database is healthy. Off by default: `stale` is
   * then served only when the database is unavailable. Needs `graceMs`.
   * @default false
   */
  readonly staleWhileWaiting?: boolean;
  /** Tags known from the parameters. */
  readonly tags?: (params: z.output<PS>) => readonly string[];
  /** Tags known from the loaded value (e.g. the product's category). */
  readonly valueTags?: (value: z.output<VS>, params: z.output<PS>) => readonly string[];
  /** Loads one value on a miss. */
  readonly load: (db: Db, params: z.output<PS>, context: LoadContextPort) => Promise<z.input<VS>>;
  /** Loads many at once (e.g. one `WHERE id IN (...)`), in the order given. Without it, `getMany` calls `load` per miss. */
  readonly loadMany?: (db: Db, params: readonly z.output<PS>[], context: LoadContextPort) => Promise<readonly z.input<VS>[]>;
}

/** Identity with inference: write a repository once, bind it to a layer with `layer.repository(def)`. */
export function defineRepository<PS extends z.ZodType, VS extends z.ZodType, Db>(
  definition: RepositoryDefinition<PS, VS, Db>,
): RepositoryDefinition<PS, VS, Db> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(definition.name)) throw new RepositoryError('A repository name must be 1-64 characters of A-Z, a-z, 0-9, _ and -.');
  return definition;
}

export interface Repository<P, T> {
  readonly name: string;
  /** The value for `params`, validated before any I/O. */
  get(params: P): Promise<T>;
  /** The value with its freshness: `fresh`, `stale` (inside grace, the database unavailable) or `miss` (loaded). */
  read(params: P): Promise<CacheResultPort<T>>;
  getMany(list: readonly P[]): Promise<T[]>;
  /** Invalidates the tags of these parameters (e.g. after a write outside `layer.write`). */
  invalidate(params: P): Promise<void>;
}

/** A repository whose writes go through its data layer (the transaction's type comes from the database). */
export interface WritableRepository<P, T, Tx> extends Repository<P, T> {
  /**
   * Runs `work` in a transaction; after COMMIT invalidates this entry's tags (plus `also`, e.g. the
   * lists it belongs to), then refills it through the loader (`warm`, default true): write-through.
   */
  write<R>(params: P, work: (tx: Tx) => Promise<R>, options?: { also?: readonly string[] | ((result: R) => readonly string[]); warm?: boolean }): Promise<R>;
}

export interface WriteOptions<R> {
  /** Tags to invalidate after COMMIT: a list, or a function of the transaction's result. */
  readonly tags: readonly string[] | ((result: R) => readonly string[]);
  /**
   * Write-through: refill the cache with the new value once the tags are invalidated, e.g.
   * `(order) => products.get({ id: order.productId })`. The value is loaded by the repository's own
   * loader, through the same leases and tag checks as any miss, so a concurrent write can never be
   * overwritten by this one's older value (a direct SET of the caller's value could). Awaited
   * before `write()` returns; its failure is not the write's (the data is committed).
   */
  readonly warm?: (result: R) => Promise<unknown>;
}

export interface DataLayerOptions<S, Db extends DatabasePort<S, SqlRunner<S>>> {
  readonly cache: CachePort;
  readonly db: Db;
  /** The statement builder of the database package: `sql` from `@cachefront/mysql`. */
  readonly sql: StatementBuilder<S>;
  /**
   * Table recording each write's tags in the write's own transaction, removed once they are
   * invalidated. Tags whose invalidation failed stay there, and any layer invalidates them before
   * it reads the cache again. `false` keeps them in memory only. Create it with `layer.migrate()`.
   * @default 'cachefront_outbox'
   */
  readonly outboxTable?: string | false;
  /**
   * How long a write keeps retrying its invalidation after COMMIT (Redis restarting, a failover)
   * before it gives up with `InvalidationPendingError`; never past the invocation's deadline
   * (`useContext`). The write returns only once its invalidation is delivered, or throws.
   * @default 2000
   */
  readonly invalidationRetryMs?: number;
}

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

/** An error that says its transaction may have committed (`TransactionError.mayHaveCommitted` of `@cachefront/mysql`). */
function mayHaveCommitted(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { mayHaveCommitted?: unknown }).mayHaveCommitted === true;
}

/** The transaction object a database hands to `transaction(work)`: `Transaction` for `@cachefront/mysql`. */
export type TransactionOf<Db> = Db extends { transaction(work: (tx: infer Tx) => Promise<unknown>): Promise<unknown> } ? Tx : never;

const DATABASE_UNAVAILABLE = new Set(['E_CONNECTION_LIMIT', 'E_CONNECT_FAILED', 'E_CONNECTION_LOST', 'E_DEADLINE_EXCEEDED']);

/** Errors after which a value inside its grace period is better than no value. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && DATABASE_UNAVAILABLE.has(code);
}

export class DataLayer<S, Db extends DatabasePort<S, SqlRunner<S>>> {
  readonly cache: CachePort;
  readonly db: Db;
  readonly #sql: StatementBuilder<S>;
  readonly #outbox: string | undefined;
  /** Tags committed but not yet invalidated, kept in memory when there is no outbox (or it failed too). */
  readonly #pending = new Set<string>();
  /**
   * Set when Redis gave trouble: the next cached read first replays pending invalidations. Not set
   * at start, so a cache hit never needs a database connection; a container that died between
   * COMMIT and its invalidation leaves outbox rows for `drain()` (run it on a schedule too).
   */
  #drainBeforeRead = false;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #invalidationRetryMs: number;
  /** The invocation's deadline (epoch ms), from `useContext`. */
  #deadline: number | undefined;

  constructor(options: DataLayerOptions<S, Db>) {
    this.cache = options.cache;
    this.db = options.db;
    this.#sql = options.sql;
    const table = options.outboxTable ?? 'cachefront_outbox';
    if (table !== false && !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(table)) throw new RepositoryError('`outboxTable` must be a plain table name.');
    this.#outbox = table === false ? undefined : table;
    const retry = options.invalidationRetryMs ?? 2000;
    if (!(Number.isFinite(retry) && retry >= 0)) throw new RepositoryError('`invalidationRetryMs` must be a number ≥ 0.');
    this.#invalidationRetryMs = retry;
    // Redis gave trouble, or its connection came back (an invalidation sent meanwhile may be lost,
    // and a writer elsewhere may have left some pending): replay the outbox before trusting it again.
    const trouble = () => {
      this.#drainBeforeRead = true;
    };
    for (const event of ['bypass', 'timeout', 'error', 'reconnect'] as const) this.cache.on(event, trouble);
  }

  /** Binds a repository definition to this layer's cache and database. */
  repository<PS extends z.ZodType, VS extends z.ZodType>(
    definition: RepositoryDefinition<PS, VS, Db>,
  ): WritableRepository<z.input<PS>, z.output<VS>, TransactionOf<Db>> {
    type P = z.output<PS>;
    type T = z.output<VS>;
    const { name } = definition;
    const parseParams = (params: unknown): P => {
      let parsed: ReturnType<typeof definition.params.safeParse>;
      try {
        parsed = definition.params.safeParse(params);
      } catch {
        throw new ValidationError(name, [UNREADABLE]);
      }
      if (!parsed.success)
        throw new ValidationError(
          name,
          issuesOf(parsed.error, (path, depth) => declaredKey(definition.params, path, depth)),
        );
      return parsed.data;
    };
    const parseList = (list: unknown): P[] => {
      let items: unknown[];
      try {
        if (!Array.isArray(list)) throw new TypeError('not an array');
        items = [...list];
      } catch {
        throw new ValidationError(name, [{ path: '(root)', message: 'getMany() takes an array of parameter sets.' }]);
      }
      return items.map(parseParams);
    };
    const checkLoaded = (value: unknown): T => {
      const parsed = definition.value.safeParse(value);
      if (!parsed.success)
        throw new LoadedValueError(
          name,
          issuesOf(parsed.error, (path, depth) => declaredKey(definition.value, path, depth)),
        );
      return parsed.data;
    };
    /**
     * Tags of parameters for a write or an invalidation, checked at the edge: a tag the cache could
     * never store is a typed error before any I/O. (A read gets the same typed error from the cache.)
     */
    const tagsOf = (parsed: P): readonly string[] => {
      const tags = definition.tags?.(parsed) ?? [];
      this.cache.validateTags(tags);
      return tags;
    };
    const entity: EntityPort<P, T> = this.cache.entity<P, T>({
      name,
      ...(definition.version === undefined ? {} : { version: definition.version }),
      ttlMs: definition.ttlMs,
      ...(definition.graceMs === undefined ? {} : { graceMs: definition.graceMs }),
      ...(definition.tags ? { tags: definition.tags } : {}),
      ...(definition.valueTags ? { valueTags: definition.valueTags } : {}),
      ...(definition.staleWhileWaiting ? { staleWhileWaiting: true } : {}),
      // A cached value from an older deploy that no longer parses is a miss, and is overwritten.
      validate: (value) => definition.value.parse(value) as T,
    });
    const options = { failSafe: isDatabaseUnavailable };
    const loadOne = async (p: P, context: LoadContextPort) => checkLoaded(await definition.load(this.db, p, context));
    const read = async (params: unknown): Promise<CacheResultPort<T>> => {
      const parsed = parseParams(params);
      // Pending invalidations that could not be replayed: the cache cannot be trusted for them, so the database answers.
      if (!(await this.#beforeRead())) return { value: await loadOne(parsed, { lastInvalidatedAt: undefined }), status: 'miss' };
      return entity.get(parsed, loadOne, options);
    };
    return {
      name,
      read,
      get: async (params) => (await read(params)).value,
      getMany: async (list) => {
        const parsed = parseList(list);
        const loadMany =
          definition.loadMany ??
          (async (db: Db, many: readonly P[], context: LoadContextPort) => Promise.all(many.map((p) => definition.load(db, p, context))));
        const loadChecked = async (many: readonly P[], context: LoadContextPort) => {
          const values = await loadMany(this.db, many, context);
          if (values.length !== many.length)
            throw new RepositoryError(`loadMany of ${name} returned ${values.length} values for ${many.length} parameter sets.`);
          return values.map(checkLoaded);
        };
        if (!(await this.#beforeRead())) return parsed.length === 0 ? [] : loadChecked(parsed, { lastInvalidatedAt: undefined });
        const results = await entity.getMany(parsed, loadChecked, options);
        return results.map((result) => result.value);
      },
      invalidate: async (params) => {
        await this.invalidate(tagsOf(parseParams(params)));
      },
      write: async (params, work, writeOptions = {}) => {
        // Before the transaction: a bad parameter, or a tag the cache could never store, writes nothing.
        const own = tagsOf(parseParams(params));
        const { also = [], warm = true } = writeOptions;
        return this.write(work, {
          tags: (result) => [...own, ...(typeof also === 'function' ? also(result) : also)],
          ...(warm ? { warm: () => read(params) } : {}),
        });
      },
    };
  }

  /**
   * Runs `work` in one transaction on the writer; after COMMIT, and only then, invalidates its tags,
   * retrying for up to `invalidationRetryMs` (within the invocation's deadline) while Redis cannot
   * be reached. With an outbox, the tags are recorded in the same transaction, so a container that
   * dies between COMMIT and the invalidation leaves them for the next layer to replay.
   *
   * What the caller can rely on:
   * - it returns: the write is committed and invalidated; no later read anywhere returns older data;
   * - `InvalidationPendingError`: committed, not yet invalidated; the tags are replayed by this
   *   layer before its next cached read, by any layer on Redis reconnect, and by `drain()`;
   * - an error with `mayHaveCommitted: true` (the connection was lost during COMMIT): the tags were
   *   invalidated anyway before it was thrown (harmless if it did not commit), so if it did commit,
   *   no later read returns older data; when even that invalidation fails, `InvalidationPendingError`
   *   with `committed: 'unknown'` is thrown instead;
   * - any other error: nothing was committed.
   */
  async write<R>(work: (tx: TransactionOf<Db>) => Promise<R>, options: WriteOptions<R>): Promise<R> {
    let tags: readonly string[] = [];
    let outboxId: number | undefined;
    if (typeof options.tags !== 'function') this.cache.validateTags(options.tags); // before BEGIN when they are known
    let result: R;
    try {
      result = await this.db.transaction(async (tx) => {
        // The port types the transaction loosely; it is the database's own transaction object.
        const value = await work(tx as unknown as TransactionOf<Db>);
        tags = [...new Set(typeof options.tags === 'function' ? options.tags(value) : options.tags)];
        // Before COMMIT: a tag that could never be invalidated rolls the write back, and never reaches the outbox.
        this.cache.validateTags(tags);
        if (this.#outbox && tags.length > 0) {
          const header = (await tx.execute(this.#sql.raw(`INSERT INTO ${this.#outbox} (tags) VALUES (?)`, [JSON.stringify(tags)]))) as { insertId?: number };
          outboxId = header.insertId;
        }
        return value;
      });
    } catch (error) {
      // The COMMIT went unanswered: it may have landed. Invalidating an unchanged row is harmless; not invalidating a changed one is not.
      if (mayHaveCommitted(error) && tags.length > 0) await this.#afterCommit(tags, outboxId, 'unknown');
      throw error;
    }
    if (tags.length > 0) await this.#afterCommit(tags, outboxId, true);
    if (options.warm) await options.warm(result).catch(() => undefined);
    return result;
  }

  /** Delivers a committed write's invalidation (with retries), then forgets its outbox row; else keeps it pending and throws. */
  async #afterCommit(tags: readonly string[], outboxId: number | undefined, committed: true | 'unknown'): Promise<void> {
    try {
      await this.#deliver(tags);
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
  async #deliver(tags: readonly string[]): Promise<void> {
    const started = Date.now();
    // A deadline already past is an earlier invocation's (a long-running process): not this write's.
    const deadline = this.#deadline !== undefined && this.#deadline > started ? this.#deadline - DEADLINE_MARGIN_MS : Number.POSITIVE_INFINITY;
    const until = Math.min(started + this.#invalidationRetryMs, deadline);
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.cache.invalidate(tags);
        return;
      } catch (error) {
        const delay = Math.min(100, 5 * 2 ** attempt);
        if (Date.now() + delay >= until) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** Invalidates tags now (no write). Throws when Redis cannot be reached. */
  async invalidate(tags: readonly string[]): Promise<void> {
    if (tags.length > 0) await this.cache.invalidate(tags);
  }

  /**
   * Replays every pending invalidation: the in-memory ones and every outbox row, a page at a time.
   * A row it cannot apply is skipped and reported (in the result and on `OUTBOX_SKIP_CHANNEL`),
   * never in the way of the rows behind it. Safe to run anywhere and any time (a scheduled function, say).
   */
  async drain(): Promise<DrainResult> {
    const skipped: SkippedOutboxRow[] = [];
    let tagCount = 0;
    let rowCount = 0;
    const memory = [...this.#pending];
    if (memory.length > 0) {
      await this.cache.invalidate(memory);
      for (const tag of memory) this.#pending.delete(tag);
      tagCount += memory.length;
    }
    for (let after = 0; this.#outbox; ) {
      const page = (await this.db.query(
        this.#sql.raw(`SELECT id, tags FROM ${this.#outbox} WHERE id > ? ORDER BY id LIMIT ?`, [after, OUTBOX_PAGE]),
      )) as Array<{ id: number | string; tags: unknown }>;
      const rows = page.filter((row) => Number(row.id) > after);
      if (rows.length === 0) break;
      after = Math.max(...rows.map((row) => Number(row.id)));
      const tags = new Set<string>();
      const applied: number[] = [];
      for (const row of rows) {
        const id = Number(row.id);
        const decoded = this.#decodeOutboxTags(row.tags);
        if (decoded === undefined) {
          skipped.push(this.#skip(id, 'unreadable'));
          continue;
        }
        if (decoded.invalid > 0) skipped.push(this.#skip(id, 'invalid-tags'));
        for (const tag of decoded.valid) tags.add(tag);
        applied.push(id);
      }
      if (tags.size > 0) await this.cache.invalidate([...tags]);
      tagCount += tags.size;
      rowCount += applied.length;
      await this.#forget(applied);
      if (page.length < OUTBOX_PAGE) break;
    }
    return { tags: tagCount, rows: rowCount, skipped };
  }

  /** An outbox row's tags: the ones the cache can store, and how many it cannot; undefined when the row is not a JSON list of strings. */
  #decodeOutboxTags(text: unknown): { valid: string[]; invalid: number } | undefined {
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
        this.cache.validateTags([tag]);
        valid.push(tag);
      } catch {
        invalid += 1;
      }
    }
    return { valid, invalid };
  }

  #skip(id: number, reason: SkippedOutboxRow['reason']): SkippedOutboxRow {
    const row = { id, reason };
    if (outboxSkip.hasSubscribers) outboxSkip.publish(row);
    return row;
  }

  /** Creates the outbox table if it does not exist. */
  async migrate(): Promise<void> {
    if (!this.#outbox) return;
    await this.db.execute(
      this.#sql.raw(
        `CREATE TABLE IF NOT EXISTS ${this.#outbox} (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, tags TEXT NOT NULL, created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB`,
      ),
    );
  }

  /** Deadlines for this invocation, from a Lambda context: the connector's, and the bound on a write's invalidation retries. */
  useContext(context: DeadlineSource): void {
    this.#deadline = Date.now() + context.getRemainingTimeInMillis();
    this.db.useContext?.(context);
  }

  /** Keeps a promise started in this invocation, so the handler wrapper awaits it before returning. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight.add(promise);
    void promise.then(
      () => this.#inFlight.delete(promise),
      () => this.#inFlight.delete(promise),
    );
    return promise;
  }

  /** Awaits everything tracked in this invocation (settled, never rejected). */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * Before a cached read after Redis trouble or a reconnect: replays pending invalidations. While
   * the outbox still had rows (another container's pending writes), the next read drains again.
   * Returns false when they could not be replayed: the cache is then not trusted for this read,
   * which goes to the loader alone, and the next read tries again.
   */
  async #beforeRead(): Promise<boolean> {
    if (!this.#drainBeforeRead) return true;
    try {
      const drained = await this.drain();
      this.#drainBeforeRead = drained.rows > 0;
      return true;
    } catch {
      return false;
    }
  }

  async #forget(ids: readonly number[]): Promise<void> {
    if (!this.#outbox || ids.length === 0) return;
    try {
      await this.db.execute(this.#sql.raw(`DELETE FROM ${this.#outbox} WHERE id IN (${ids.map(() => '?').join(', ')})`, ids));
    } catch {
      // Harmless: the row is replayed later, and invalidating a tag twice changes nothing.
    }
  }
}

export function createDataLayer<S, Db extends DatabasePort<S, SqlRunner<S>>>(options: DataLayerOptions<S, Db>): DataLayer<S, Db> {
  return new DataLayer(options);
}
