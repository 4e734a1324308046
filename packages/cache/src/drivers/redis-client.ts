/**
 * The Redis client as the Redis driver sees it: only the calls it makes, typed structurally (as
 * kysely types its dialects' clients), so an ioredis `Redis` or `Cluster` of any copy of ioredis
 * fits — the application's own, or one bundled twice — and no `instanceof` decides what a client is.
 * ioredis is a peer dependency; this file and redis-driver.ts are the only ones that import it.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** The pipeline the driver builds for a multi-key invalidation on a single Redis. */
export interface RedisPipeline {
  set(key: string, value: string, mode: 'PX', ms: number): unknown;
  call(command: string, ...args: string[]): unknown;
  exec(): Promise<Array<[error: Error | null, result: unknown]> | null>;
}

/**
 * What the driver calls of a client. An ioredis `Redis` or `Cluster` is one. A client is told apart
 * from options by having these methods; a cluster from a single Redis by its `isCluster` flag.
 */
export interface RedisClient {
  /** `'ready'` once connected (ioredis' status). */
  readonly status: string;
  /** True on a Redis Cluster client (ioredis sets it on both classes). */
  readonly isCluster?: boolean;
  /** The client's options; on a Cluster, `scaleReads` says whether read-only commands may go to replicas. */
  readonly options?: object;
  /** On a Cluster: the nodes of each slot, its master first (ioredis' slot table). */
  readonly slots?: ReadonlyArray<readonly string[] | undefined>;
  /** On a Cluster: reads the slot table again (after a MOVED in a pipeline ioredis did not follow). */
  refreshSlotsCache?(callback?: (error?: Error | null) => void): void;
  /** A command by name (INFO replication). */
  call?(command: string, ...args: string[]): Promise<unknown>;
  on(event: 'error' | 'node error', listener: (error: unknown) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  mgetBuffer(...keys: string[]): Promise<Array<Buffer | null>>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'PX', ms: number): Promise<unknown>;
  evalsha(sha: string, numKeys: number, ...args: Array<string | Buffer | number>): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: Array<string | Buffer | number>): Promise<unknown>;
  pipeline(): RedisPipeline;
  del(...keys: string[]): Promise<number>;
  pttl(key: string): Promise<number>;
  /** Optional (a foreign client may lack it): the server's clock, `[seconds, microseconds]`. */
  time?(): Promise<ReadonlyArray<string | number>>;
  quit(): Promise<unknown>;
  disconnect(): void;
}

/** A Redis URL, ioredis options, or a client the application already has (it is not closed by `close()`). */
export type RedisConnection = string | RedisOptions | RedisClient;

/** The methods that make a value a client rather than options (options never have them). */
const CLIENT_METHODS = ['on', 'mgetBuffer', 'get', 'set', 'evalsha', 'eval', 'pipeline', 'del', 'pttl', 'quit', 'disconnect'] as const;

/** Whether `value` is a client: an object with a string `status` and every method the driver calls. */
export function isRedisClient(value: unknown): value is RedisClient {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as { readonly status?: unknown } & Record<string, unknown>;
  return typeof record.status === 'string' && CLIENT_METHODS.every((method) => typeof record[method] === 'function');
}

/**
 * Whether a Cluster client may send read-only commands (GET, MGET) to replicas (`scaleReads` other
 * than 'master'). Replication is asynchronous, so a replica may not have an invalidation yet: the
 * driver then reads tag tokens with a script (never sent to a replica), and only values there.
 */
export function readsReplicas(client: RedisClient): boolean {
  const scaleReads = (client.options as { readonly scaleReads?: unknown } | undefined)?.scaleReads;
  return isClusterClient(client) && scaleReads !== undefined && scaleReads !== 'master';
}

/** Whether a client is a Redis Cluster client. */
export function isClusterClient(client: RedisClient): boolean {
  return client.isCluster === true;
}

/**
 * A client of the cache's own, from a URL or options. Our own timeouts and circuit breaker decide
 * when Redis is too slow; ioredis should not keep a request queued through 20 reconnects meanwhile.
 * No auto-pipelining: a hit is already one command, and batching it would only add a tick and a
 * pipeline per read (the cache benchmark measured raw ioredis 1.15x slower with it on).
 */
export function createRedisClient(connection: string | RedisOptions): RedisClient {
  const defaults: RedisOptions = { maxRetriesPerRequest: 1, lazyConnect: false };
  return typeof connection === 'string' ? new Redis(connection, defaults) : new Redis({ ...defaults, ...connection });
}
