export { Cache } from './cache.js';
export { canonicalize, KEY_LIMITS } from './canonical.js';
export { decodeValue, encodeValue } from './codec.js';
export { createMemoryCache, createRedisCache, type RedisCacheOptions } from './create.js';
export type { CacheDriver, FillRequest, ReadResult, StoreProblem, StoreProblemKind } from './drivers/driver.js';
export { MemoryDriver, type MemoryDriverOptions } from './drivers/memory-driver.js';
export { type RedisClient, type RedisConnection, RedisDriver } from './drivers/redis-driver.js';
export { classifyRedisError, REDIS_ERROR_TABLE } from './drivers/redis-errors.js';
export { EntityCache } from './entity-cache.js';
export {
  type CacheErrorCode,
  CachefrontCacheError,
  CacheKeyError,
  type CacheKeyErrorReason,
  CacheOptionsError,
  CacheTimeoutError,
  CacheUnavailableError,
  CodecError,
  RedisFailureError,
} from './errors.js';
export { type BypassReason, CACHE_CHANNEL_PREFIX, type CacheEventName, type CacheEvents } from './events.js';
export { entityKeys, paramKey, tagKey } from './keys.js';
export { type CacheOptions, DEFAULT_CACHE_OPTIONS, type EntityOptions } from './options.js';
export { assertTags, checkTag, isValidTag, MAX_TAG_LENGTH } from './tags.js';
export type { CacheResult, CacheStats, Freshness, GetOptions, LoadContext, LoadMany } from './types.js';
