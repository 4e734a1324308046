import { NAME } from '@cachefront/common';
import type { z } from 'zod';
import { issuesOf, LoadedValueError, RepositoryError, UNREADABLE, ValidationError } from './errors.js';
import type { CachePort, CacheResultPort, EntityPort, LoadContextPort } from './ports.js';
import { declaredKey } from './schema-paths.js';

/** A repository as defined: schemas, keys, tags, TTLs and loaders. It runs once bound to a data layer. */
export interface RepositoryDefinition<PS extends z.ZodType, VS extends z.ZodType, Client> {
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
  /**
   * Reload a hot entry shortly before it expires, so its readers never wait for the loader
   * (XFetch; see the cache's `refreshAhead`). The reload runs in the invocation that drew it and
   * `withDataLayer` awaits it before returning. @default false
   */
  readonly refreshAhead?: boolean | { readonly beta?: number; readonly timeoutMs?: number };
  /** Tags known from the parameters. */
  readonly tags?: (params: z.output<PS>) => readonly string[];
  /** Tags known from the loaded value (e.g. the product's category). */
  readonly valueTags?: (value: z.output<VS>, params: z.output<PS>) => readonly string[];
  /** Loads one value on a miss; gets the database's client (the connector). */
  readonly load: (client: Client, params: z.output<PS>, context: LoadContextPort) => Promise<z.input<VS>>;
  /** Loads many at once (e.g. one `WHERE id IN (...)`), in the order given. Without it, `getMany` calls `load` per miss. */
  readonly loadMany?: (client: Client, params: readonly z.output<PS>[], context: LoadContextPort) => Promise<readonly z.input<VS>[]>;
}

/** Identity with inference: write a repository once, bind it to a layer with `layer.repository(def)`. */
export function defineRepository<PS extends z.ZodType, VS extends z.ZodType, Client>(
  definition: RepositoryDefinition<PS, VS, Client>,
): RepositoryDefinition<PS, VS, Client> {
  if (typeof definition.name !== 'string' || !NAME.test(definition.name)) {
    throw new RepositoryError('A repository name must be 1-64 characters of A-Z, a-z, 0-9, _ and -.');
  }
  return definition;
}

export interface Repository<P, T> {
  readonly name: string;
  /** The value for `params`, validated before any I/O. */
  get(params: P): Promise<T>;
  /** The value with its freshness: `fresh`, `stale` (inside grace, when the repository asked for it) or `miss` (loaded). */
  read(params: P): Promise<CacheResultPort<T>>;
  getMany(list: readonly P[]): Promise<T[]>;
  /** Invalidates the tags of these parameters (e.g. after a write outside `layer.write`). */
  invalidate(params: P): Promise<void>;
}

export interface RepositoryWriteOptions<R> {
  /** More tags to invalidate after COMMIT (e.g. the lists the entry belongs to): a list, or a function of the result. */
  readonly also?: readonly string[] | ((result: R) => readonly string[]);
  /** Refill the entry through its loader once the tags are invalidated (write-through). @default true */
  readonly warm?: boolean;
}

/** A repository whose writes go through its data layer (the transaction's type comes from the database). */
export interface WritableRepository<P, T, Tx> extends Repository<P, T> {
  /**
   * Runs `work` in a transaction; after COMMIT invalidates this entry's tags (plus `also`), then
   * refills it through the loader (`warm`): write-through.
   */
  write<R>(params: P, work: (tx: Tx) => Promise<R>, options?: RepositoryWriteOptions<R>): Promise<R>;
}

/** What a bound repository needs of its data layer. Internal to core. */
export interface RepositoryHost<Client, Tx> {
  readonly cache: CachePort;
  readonly client: Client;
  /** The client a load reads from (a read replica, or the writer), and whether to load again on the writer after a failure. */
  clientFor(context: LoadContextPort): Client | Promise<Client>;
  retryOnWriter(client: Client, error: unknown): boolean;
  isUnavailable(error: unknown): boolean;
  /** Replays pending invalidations; false when they could not be, and the cache must not be trusted. */
  beforeRead(): Promise<boolean>;
  invalidate(tags: readonly string[]): Promise<void>;
  write<R>(work: (tx: Tx) => Promise<R>, tags: (result: R) => readonly string[], refill: ((result: R) => Promise<unknown>) | undefined): Promise<R>;
}

/** What a load is told while the cache is not trusted (pending invalidations could not be replayed): nothing, so it reads the writer. */
const UNTRUSTED: LoadContextPort = { lastInvalidatedAt: undefined, positions: [], lastUnpositionedAt: undefined, invalidationsKnown: false };

/** Binds a definition: parsing at the edge, the cache entity, reads, batch reads, invalidation and writes. */
export function bindRepository<PS extends z.ZodType, VS extends z.ZodType, Client, Tx>(
  host: RepositoryHost<Client, Tx>,
  definition: RepositoryDefinition<PS, VS, Client>,
): WritableRepository<z.input<PS>, z.output<VS>, Tx> {
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
    if (!parsed.success) {
      throw new ValidationError(
        name,
        issuesOf(parsed.error, (path, depth) => declaredKey(definition.params, path, depth)),
      );
    }
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
    if (!parsed.success) {
      throw new LoadedValueError(
        name,
        issuesOf(parsed.error, (path, depth) => declaredKey(definition.value, path, depth)),
      );
    }
    return parsed.data;
  };
  /**
   * Tags of parameters for a write or an invalidation, checked at the edge: a tag the cache could
   * never store is a typed error before any I/O. (A read gets the same typed error from the cache.)
   */
  const tagsOf = (parsed: P): readonly string[] => {
    const tags = definition.tags?.(parsed) ?? [];
    host.cache.validateTags(tags);
    return tags;
  };
  const entity: EntityPort<P, T> = host.cache.entity<P, T>({
    name,
    ...(definition.version === undefined ? {} : { version: definition.version }),
    ttlMs: definition.ttlMs,
    ...(definition.graceMs === undefined ? {} : { graceMs: definition.graceMs }),
    ...(definition.tags ? { tags: definition.tags } : {}),
    ...(definition.valueTags ? { valueTags: definition.valueTags } : {}),
    ...(definition.staleWhileWaiting ? { staleWhileWaiting: true } : {}),
    ...(definition.refreshAhead === undefined ? {} : { refreshAhead: definition.refreshAhead }),
    // A cached value from an older deploy that no longer parses is a miss, and is overwritten.
    validate: (value) => definition.value.parse(value) as T,
  });
  const options = { failSafe: (error: unknown) => host.isUnavailable(error) };
  /** Runs a load on the client the database picks for it; a reader that cannot be reached: once more on the writer. */
  const onReader = async <R>(context: LoadContextPort, run: (client: Client) => Promise<R>): Promise<R> => {
    const client = await host.clientFor(context);
    try {
      return await run(client);
    } catch (error) {
      if (client === host.client || !host.retryOnWriter(client, error)) throw error;
      return run(host.client);
    }
  };
  const loadOne = async (p: P, context: LoadContextPort) => checkLoaded(await onReader(context, (client) => definition.load(client, p, context)));
  const loadMany =
    definition.loadMany ??
    (async (client: Client, many: readonly P[], context: LoadContextPort) => Promise.all(many.map((p) => definition.load(client, p, context))));
  const loadChecked = async (many: readonly P[], context: LoadContextPort) => {
    const values = await onReader(context, (client) => loadMany(client, many, context));
    if (values.length !== many.length) throw new RepositoryError(`loadMany of ${name} returned ${values.length} values for ${many.length} parameter sets.`);
    return values.map(checkLoaded);
  };
  const read = async (params: unknown): Promise<CacheResultPort<T>> => {
    const parsed = parseParams(params);
    // Pending invalidations that could not be replayed: the cache cannot be trusted for them, so the database answers.
    if (!(await host.beforeRead())) return { value: await loadOne(parsed, UNTRUSTED), status: 'miss' };
    return entity.get(parsed, loadOne, options);
  };
  return {
    name,
    read,
    get: async (params) => (await read(params)).value,
    getMany: async (list) => {
      const parsed = parseList(list);
      if (!(await host.beforeRead())) return parsed.length === 0 ? [] : loadChecked(parsed, UNTRUSTED);
      const results = await entity.getMany(parsed, loadChecked, options);
      return results.map((result) => result.value);
    },
    invalidate: async (params) => {
      await host.invalidate(tagsOf(parseParams(params)));
    },
    write: async (params, work, writeOptions = {}) => {
      // Before the transaction: a bad parameter, or a tag the cache could never store, writes nothing.
      const own = tagsOf(parseParams(params));
      const { also = [], warm = true } = writeOptions;
      return host.write(work, (result) => [...own, ...(typeof also === 'function' ? also(result) : also)], warm ? () => read(params) : undefined);
    },
  };
}
