import { Cache } from './cache.js';
import { MemoryDriver } from './drivers/memory-driver.js';
import type { RedisConnection } from './drivers/redis-client.js';
import { DEFAULT_REPLICA_ACK_MS, RedisDriver } from './drivers/redis-driver.js';
import { CacheOptionsError } from './errors.js';
import type { CacheOptions } from './options.js';

export interface RedisCacheOptions extends CacheOptions {
  /**
   * A Redis URL (`rediss://` for TLS), ioredis options (`tls: { ca }`; the chain and the host name
   * are verified unless `tls.rejectUnauthorized` is false), or an existing ioredis `Redis` /
   * `Cluster` client of any ioredis copy (told apart from options by its methods; left open by
   * `close()`). Required. See docs/SECURITY.md.
   */
  redis: RedisConnection;
  /**
   * Where a master has replicas (ElastiCache with replicas, a Cluster's shards), how long an
   * invalidation waits for one of them to acknowledge it before it counts as done; past it the
   * invalidation fails and stays pending (core retries, then replays it), since a failover could
   * lose it. 0: the master's acknowledgement alone. An invalidation's timeout is the command timeout
   * plus this, plus one tick of Redis' timer (WAIT may end that late). @default 30
   */
  replicaAckMs?: number;
}

/** The cache on Redis or Redis Cluster (ElastiCache). Creating it opens the connection in the background. */
export function createRedisCache(options: RedisCacheOptions): Cache {
  const { redis, replicaAckMs, ...rest } = options;
  const ackMs = replicaAckMs ?? DEFAULT_REPLICA_ACK_MS;
  if (!(Number.isInteger(ackMs) && ackMs >= 0 && ackMs <= 10_000)) {
    throw new CacheOptionsError('`replicaAckMs` must be a whole number of ms from 0 to 10000.');
  }
  return new Cache(new RedisDriver(redis, { replicaAckMs: ackMs }), rest);
}

/** The cache on an in-process store: for unit tests. It behaves as Redis does (the contract suite proves it). */
export function createMemoryCache(options: CacheOptions = {}): Cache {
  return new Cache(new MemoryDriver({ now: options.now ?? Date.now }), options);
}
