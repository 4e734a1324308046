import { type Cache, type CacheOptions, createRedisCache } from '@cachefront/cache';
import { createDataLayer, type DataLayer } from '@cachefront/core';
import { type ConnectionInput, type Connector, type ConnectorOptions, createConnector, mysqlDatabase, type Transaction } from '@cachefront/mysql';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { type CatalogHandlers, createHandlers, type Logger } from './handlers.js';
import { type CatalogRepositories, createRepositories } from './repositories.js';
import { createSchema, type SeedOptions, seed } from './schema.js';

/** Where the catalog database is. `password` may be left out when `connection` is a function (a secret read on connect). */
export interface CatalogConnection {
  host?: string;
  port?: number;
  user: string;
  password?: string;
  database: string;
  /** TLS for RDS: `{ ca, rejectUnauthorized: true }` or a mysql2 profile name. */
  ssl?: ConnectionInput['ssl'];
}

export interface CatalogAppOptions {
  /**
   * The database. A function is called again before every physical connect, so a secret read from
   * Secrets Manager (or an IAM token) is fetched on first use, never at module load, and refreshed
   * after a rotation.
   */
  connection: CatalogConnection | (() => CatalogConnection | Promise<CatalogConnection>);
  /** A Redis URL (`rediss://` for TLS) or ioredis options. */
  redis: string | RedisOptions;
  /** Treat `redis` as a cluster's configuration endpoint (ElastiCache Serverless, cluster mode). @default false */
  redisCluster?: boolean;
  /** Prefix of every cache key. @default 'catalog' */
  namespace?: string;
  /** Connector options besides `connection` (budget, timeouts, `killMethod: 'rds_kill'` on RDS...). */
  connector?: Partial<ConnectorOptions>;
  /** Cache options besides the namespace (timeouts, lease waits...). */
  cache?: Partial<CacheOptions>;
  /** Where handlers log errors (codes and names, never secrets or parameters). @default JSON lines on stderr */
  logger?: Logger;
}

export interface CatalogApp {
  readonly layer: DataLayer<Connector, Transaction>;
  readonly repositories: CatalogRepositories;
  readonly handlers: CatalogHandlers;
  readonly connector: Connector;
  readonly cache: Cache;
  /** Creates the catalog tables and the outbox table (idempotent). For deploy scripts and tests, not for the request path. */
  migrate(): Promise<void>;
  /** Inserts deterministic seed data (see `seedData`). */
  seed(options: SeedOptions): Promise<{ categories: number; products: number }>;
  /** Closes the MySQL connection and the Redis client. */
  close(): Promise<void>;
}

/**
 * The catalog application: connector, cache, data layer, repositories and handlers. Creating it does
 * no I/O — build it in module scope; the first request connects (MySQL on a miss or a write only).
 */
export function createCatalogApp(options: CatalogAppOptions): CatalogApp {
  const { connection } = options;
  const connector = createConnector({
    ...options.connector,
    // The connector resolves a function on every physical connect; an object is used as it is.
    connection: typeof connection === 'function' ? async () => ({ ...(await connection()) }) : { ...connection },
  });
  const redis = redisClient(options.redis, options.redisCluster ?? false);
  const cache = createRedisCache({ ...options.cache, namespace: options.namespace ?? options.cache?.namespace ?? 'catalog', redis });
  const layer = createDataLayer({ cache, database: mysqlDatabase(connector) });
  const repositories = createRepositories(layer);
  const handlers = createHandlers({ layer, repositories, ...(options.logger ? { logger: options.logger } : {}) });
  let closed: Promise<void> | undefined;
  return {
    layer,
    repositories,
    handlers,
    connector,
    cache,
    migrate: async () => {
      await createSchema(connector);
      await layer.migrate();
    },
    seed: (seedOptions) => seed(connector, seedOptions),
    close: () => {
      closed ??= (async () => {
        await Promise.allSettled([connector.quit(), cache.close()]);
        // The cache leaves a client it was handed open: this app created it, so it closes it.
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closed;
    },
  };
}

/**
 * A lazily connecting client (no I/O until the first command), so module scope stays I/O-free.
 * ioredis's own retries are kept short: the cache has its own timeouts and circuit breaker.
 */
function redisClient(redis: string | RedisOptions, cluster: boolean): Redis | Cluster {
  const common: RedisOptions = { lazyConnect: true, maxRetriesPerRequest: 1 };
  if (!cluster) return typeof redis === 'string' ? new Redis(redis, common) : new Redis({ ...common, ...redis });
  const node = typeof redis === 'string' ? redis : { host: redis.host ?? '127.0.0.1', port: redis.port ?? 6379 };
  const tls = typeof redis === 'string' ? (redis.startsWith('rediss://') ? { tls: {} } : {}) : {};
  return new Cluster([node], {
    lazyConnect: true,
    // ElastiCache with TLS: connect to the hostnames the certificate names, not to resolved IPs.
    dnsLookup: (address, callback) => callback(null, address),
    redisOptions: { ...tls, ...(typeof redis === 'string' ? {} : redis), maxRetriesPerRequest: 1 },
  });
}
