/** Every error this package throws is a `CachefrontCacheError` with a stable `code`. */
export type CacheErrorCode = 'E_CACHE_UNAVAILABLE' | 'E_CACHE_TIMEOUT' | 'E_INVALID_OPTIONS' | 'E_INVALID_KEY' | 'E_CODEC';

export class CachefrontCacheError extends Error {
  override readonly name: string = 'CachefrontCacheError';
  readonly code: CacheErrorCode;
  constructor(code: CacheErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Redis could not be reached (error, timeout, or the circuit breaker is open). Reads never throw
 * it — they fall through to the loader — but an invalidation does, since dropping it silently would
 * let readers see a committed write's old value as fresh. `tags` names what is still pending.
 */
export class CacheUnavailableError extends CachefrontCacheError {
  override readonly name = 'CacheUnavailableError';
  readonly tags: readonly string[];
  constructor(message: string, options: { cause?: unknown; tags?: readonly string[] } = {}) {
    super('E_CACHE_UNAVAILABLE', message, options);
    this.tags = options.tags ?? [];
  }
}

/** A Redis call took longer than `commandTimeoutMs`. */
export class CacheTimeoutError extends CachefrontCacheError {
  override readonly name = 'CacheTimeoutError';
  constructor(operation: string, timeoutMs: number) {
    super('E_CACHE_TIMEOUT', `Redis ${operation} took longer than ${timeoutMs} ms; raise \`commandTimeoutMs\` if Redis is far away.`);
  }
}

export class CacheOptionsError extends CachefrontCacheError {
  override readonly name = 'CacheOptionsError';
  constructor(message: string) {
    super('E_INVALID_OPTIONS', message);
  }
}

/**
 * Why a key could not be built: a name that breaks the key layout, a tag against the tag rules, a
 * parameter of a kind that cannot be encoded injectively, parameters past the size or depth limits,
 * parameters that throw when read, or a `getMany` list that is not an array.
 */
export type CacheKeyErrorReason = 'invalid-name' | 'invalid-tag' | 'unsupported-type' | 'too-deep' | 'too-large' | 'unreadable' | 'not-an-array';

/**
 * A key part is invalid: the read or invalidation is refused before any I/O (Redis and the loader
 * are never called) and it never counts toward the circuit breaker. The message names the kind,
 * length or position of the offending part, never its value.
 */
export class CacheKeyError extends CachefrontCacheError {
  override readonly name = 'CacheKeyError';
  readonly reason: CacheKeyErrorReason;
  constructor(message: string, options: { reason?: CacheKeyErrorReason; cause?: unknown } = {}) {
    super('E_INVALID_KEY', message, options.cause === undefined ? undefined : { cause: options.cause });
    this.reason = options.reason ?? 'invalid-name';
  }
}

export class CodecError extends CachefrontCacheError {
  override readonly name = 'CodecError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CODEC', message, options);
  }
}
