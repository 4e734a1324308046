import { Cache } from './cache.js';
import { MemoryDriver } from './drivers/memory-driver.js';
import type { RedisConnection } from './drivers/redis-client.js';
import { RedisDriver } from './drivers/redis-driver.js';
import type { CacheOptions } from './options.js';

export interface RedisCacheOptions extends CacheOptions {
  /**
   * A Redis URL (`rediss://` for TLS), ioredis options (`tls: { ca }`; the chain and the host name
   * are verified unless `tls.rejectUnauthorized` is false), or an existing ioredis `Redis` /
   * `Cluster` client of any ioredis copy (told apart from options by its methods; left open by
   * `close()`). Required. See docs/SECURITY.md.
   */
  redis: RedisConnection;
}

/** The cache on Redis or Redis Cluster (ElastiCache). Creating it opens the connection in the background. */
export function createRedisCache(options: RedisCacheOptions): Cache {
  const { redis, ...rest } = options;
  return new Cache(new RedisDriver(redis), rest);
}

/** The cache on an in-process store: for unit tests. It behaves as Redis does (the contract suite proves it). */
export function createMemoryCache(options: CacheOptions = {}): Cache {
  return new Cache(new MemoryDriver({ now: options.now ?? Date.now }), options);
}
