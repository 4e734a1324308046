import type { z } from 'zod';
import { RepositoryError } from './errors.js';
import { type DrainResult, Invalidations } from './invalidation.js';
import type { CachePort, DatabasePort, DeadlineSource } from './ports.js';
import { bindRepository, type RepositoryDefinition, type RepositoryHost, type WritableRepository } from './repository.js';

export interface WriteOptions<R> {
  /** Tags to invalidate after COMMIT: a list, or a function of the transaction's result. */
  readonly tags: readonly string[] | ((result: R) => readonly string[]);
  /**
   * Write-through: refill the cache once the tags are invalidated, e.g.
   * `(order) => products.get({ id: order.productId })`. The value is loaded by the repository's own
   * loader, through the same leases and tag checks as any miss, so a concurrent write can never be
   * overwritten by this one's older value (a direct SET of the caller's value could). Awaited
   * before `write()` returns; its failure is not the write's (the data is committed).
   */
  readonly refill?: (result: R) => Promise<unknown>;
}

export interface DataLayerOptions<Client, Tx> {
  readonly cache: CachePort;
  /** The database, as core needs it: `mysqlDatabase(connector)` from `@cachefront/mysql`. */
  readonly database: DatabasePort<Client, Tx>;
  /**
   * How long a write keeps retrying its invalidation after COMMIT (Redis restarting, a failover)
   * before it gives up with `InvalidationPendingError`; never past the invocation's deadline
   * (`useContext`). The write returns only once its invalidation is delivered, or throws.
   * @default 2000
   */
  readonly invalidationRetryMs?: number;
}

/**
 * A cache in front of a database: typed repositories whose reads are answered from the cache, and
 * writes that invalidate after COMMIT. Create it in module scope (no I/O happens).
 */
export class DataLayer<Client, Tx> {
  readonly cache: CachePort;
  readonly database: DatabasePort<Client, Tx>;
  readonly #invalidations: Invalidations<Tx>;
  readonly #host: RepositoryHost<Client, Tx>;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(options: DataLayerOptions<Client, Tx>) {
    this.cache = options.cache;
    this.database = options.database;
    const retry = options.invalidationRetryMs ?? 2000;
    if (!(Number.isFinite(retry) && retry >= 0)) throw new RepositoryError('`invalidationRetryMs` must be a number ≥ 0.');
    this.#invalidations = new Invalidations(options.cache, options.database, retry);
    this.#host = {
      cache: options.cache,
      client: options.database.client,
      clientFor: (context) => (options.database.clientFor ? options.database.clientFor(context) : options.database.client),
      retryOnWriter: (client, error) => options.database.retryOnWriter?.(client, error) ?? false,
      isUnavailable: (error) => options.database.isUnavailable(error),
      beforeRead: () => this.#invalidations.beforeRead(),
      invalidate: (tags) => this.invalidate(tags),
      write: (work, tags, refill) => this.write(work, { tags, ...(refill ? { refill } : {}) }),
    };
  }

  /** Binds a repository definition to this layer's cache and database. */
  repository<PS extends z.ZodType, VS extends z.ZodType>(definition: RepositoryDefinition<PS, VS, Client>): WritableRepository<z.input<PS>, z.output<VS>, Tx> {
    return bindRepository(this.#host, definition);
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
  async write<R>(work: (tx: Tx) => Promise<R>, options: WriteOptions<R>): Promise<R> {
    const { tags } = options;
    if (typeof tags !== 'function') this.cache.validateTags(tags); // before BEGIN when they are known
    const result = await this.#invalidations.write(work, typeof tags === 'function' ? tags : () => tags);
    if (options.refill) await options.refill(result).catch(() => undefined);
    return result;
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
  drain(): Promise<DrainResult> {
    return this.#invalidations.drain();
  }

  /** Creates the outbox table if it does not exist. */
  async migrate(): Promise<void> {
    await this.database.outbox?.migrate();
  }

  /** Deadlines for this invocation, from a Lambda context: the database's, and the bound on a write's invalidation retries. */
  useContext(context: DeadlineSource): void {
    this.#invalidations.deadline = Date.now() + context.getRemainingTimeInMillis();
    this.database.useContext?.(context);
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
   * After an invocation: what was tracked is awaited, then the cache's background work (refresh-
   * ahead's reloads, which may use the database), then the database's housekeeping (`end()`).
   */
  async endInvocation(): Promise<void> {
    await this.settle();
    await this.cache.idle?.();
    await this.database.end();
  }
}

export function createDataLayer<Client, Tx>(options: DataLayerOptions<Client, Tx>): DataLayer<Client, Tx> {
  return new DataLayer(options);
}
