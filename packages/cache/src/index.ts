export { Cache, type CacheResult, type CacheStats, EntityCache, type Freshness, type GetOptions, type LoadContext, type LoadMany } from './cache.js';
export { canonicalize, decodeValue, encodeValue } from './codec.js';
export { createMemoryCache, createRedisCache, type RedisCacheOptions } from './create.js';
export type { CacheDriver, FillRequest, ReadResult } from './drivers/driver.js';
export { MemoryDriver, type MemoryDriverOptions } from './drivers/memory-driver.js';
export { type RedisClient, type RedisConnection, RedisDriver } from './drivers/redis-driver.js';
export {
  type CacheErrorCode,
  CachefrontCacheError,
  CacheKeyError,
  CacheOptionsError,
  CacheTimeoutError,
  CacheUnavailableError,
  CodecError,
} from './errors.js';
export { CACHE_CHANNEL_PREFIX, type CacheEventName, type CacheEvents } from './events.js';
export { entityKeys, paramKey, tagKey } from './keys.js';
export { type CacheOptions, DEFAULT_CACHE_OPTIONS, type EntityOptions } from './options.js';
