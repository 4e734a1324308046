// The whole public surface of @cachefront/cache. The driver contract suite is the subpath
// `@cachefront/cache/testing` (src/testing/index.ts).

export {
  BUDGET_CHANNEL_PREFIX,
  type BudgetSnapshot,
  createRedisBudget,
  DEFAULT_BUDGET_OPTIONS,
  RedisBudget,
  type RedisBudgetEvents,
  type RedisBudgetOptions,
  type RedisBudgetStats,
} from './budget/redis-budget.js';
export { Cache, type InvalidateOptions } from './cache.js';
export { createMemoryCache, createRedisCache, type RedisCacheOptions } from './create.js';
export type { CacheDriver, FillRequest, ReadResult, StoreProblem, StoreProblemKind } from './drivers/driver.js';
export { MemoryDriver, type MemoryDriverOptions } from './drivers/memory-driver.js';
export type { RedisClient, RedisConnection, RedisPipeline } from './drivers/redis-client.js';
export { RedisDriver, type RedisDriverOptions } from './drivers/redis-driver.js';
export { classifyRedisError, REDIS_ERROR_TABLE } from './drivers/redis-errors.js';
export type { EntityCache } from './entity/entity-cache.js';
export { decodeValue, encodeValue } from './entry/codec.js';
export {
  BudgetUnavailableError,
  type CacheErrorCode,
  CachefrontCacheError,
  CacheKeyError,
  type CacheKeyErrorReason,
  CacheOptionsError,
  CacheTimeoutError,
  CacheUnavailableError,
  CodecError,
  errors,
  RedisFailureError,
  ReplicaAckError,
} from './errors.js';
export { type BypassReason, CACHE_CHANNEL_PREFIX, type CacheEventName, type CacheEvents } from './events.js';
export { canonicalize, KEY_LIMITS } from './keys/canonical.js';
export { type EntityKeys, entityKeys, paramKey, tagKey } from './keys/keys.js';
export { assertTags, checkTag, isValidTag, MAX_TAG_LENGTH } from './keys/tags.js';
export { type CacheOptions, DEFAULT_CACHE_OPTIONS, type EntityOptions } from './options.js';
export type { CacheResult, CacheStats, Freshness, GetOptions, LoadContext, LoadMany } from './types.js';
