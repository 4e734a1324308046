import { CachefrontError } from '@cachefront/common';
import type { StoreProblem, StoreProblemKind } from './drivers/driver.js';

/** Every error this package throws is a `CachefrontCacheError` with a stable `code`, unique across cachefront's packages. */
export type CacheErrorCode =
  | 'E_CACHE_UNAVAILABLE'
  | 'E_CACHE_TIMEOUT'
  | 'E_REDIS_FAILURE'
  | 'E_INVALID_CACHE_OPTIONS'
  | 'E_INVALID_KEY'
  | 'E_CODEC'
  | 'E_BUDGET_UNAVAILABLE'
  | 'E_REPLICA_ACK';

export class CachefrontCacheError extends CachefrontError<CacheErrorCode> {
  override readonly name: string = 'CachefrontCacheError';
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

/**
 * Why Redis failed a call, classified: `kind` (`tls`, `auth`, `network`, `server`) and the client's
 * code (`SELF_SIGNED_CERT_IN_CHAIN`, `WRONGPASS`, `NOPERM`, `ECONNREFUSED`). It stands in for the
 * client's own error, which carries the command's arguments (keys, values, an AUTH password): its
 * message is built from the code alone and names the option to check. A call that only waited for a
 * connection that cannot be made (a refused TLS certificate) fails with the connection's problem.
 */
export class RedisFailureError extends CachefrontCacheError {
  override readonly name = 'RedisFailureError';
  readonly kind: StoreProblemKind;
  /** The code the client or the server gave, when it gave one. */
  readonly redisCode: string | undefined;
  constructor(problem: StoreProblem) {
    super('E_REDIS_FAILURE', redisFailureMessage(problem));
    this.kind = problem.kind;
    this.redisCode = problem.code;
  }
}

const HOST_CODES = new Set(['ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH']);
const DATE_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

function redisFailureMessage({ kind, code }: StoreProblem): string {
  const why = code === undefined ? '' : ` (${code})`;
  switch (kind) {
    case 'tls':
      if (code !== undefined && HOST_CODES.has(code)) {
        return `Redis' TLS certificate does not name the host connected to${why}; connect by a name it lists (\`redis.host\`, or \`redis.tls.servername\`).`;
      }
      if (code !== undefined && DATE_CODES.has(code)) {
        return `Redis' TLS certificate is expired or not yet valid${why}; renew it on the server, or check the clock.`;
      }
      if (code?.startsWith('ERR_SSL_') || code?.startsWith('ERR_TLS_')) {
        return `The TLS handshake with Redis failed${why}; check \`redis.tls\` (ca, cert, key, servername) against the server's TLS settings.`;
      }
      return `Redis' TLS certificate could not be verified${why}; give the CA that signed it as \`redis.tls.ca\` (ElastiCache's CA is in Node's default store).`;
    case 'auth':
      if (code === 'NOPERM') {
        return 'Redis refused a command or a key to this user (NOPERM); grant it the commands of the cache and the keys of its namespace (docs/SECURITY.md).';
      }
      if (code === 'NOAUTH') return 'Redis requires authentication (NOAUTH); set `redis.password` (and `redis.username` for an ACL user).';
      return `Redis rejected the credentials${why}; check \`redis.username\` and \`redis.password\`.`;
    case 'network':
      return `Redis could not be reached${why}; check \`redis.host\` and \`redis.port\`, and the network path to it.`;
    case 'server':
      return `Redis answered with an error${why}.`;
  }
}

/** An option of the cache or of an entity is out of its range; the message names the option. */
export class CacheOptionsError extends CachefrontCacheError {
  override readonly name = 'CacheOptionsError';
  constructor(message: string) {
    super('E_INVALID_CACHE_OPTIONS', message);
  }
}

/**
 * Why a key could not be built: a name that breaks the key layout, a tag against the tag rules, a
 * parameter of a kind that cannot be encoded injectively, parameters past the size or depth limits,
 * parameters that throw when read, a `getMany` list that is not an array, or an invalidation's
 * replication position that is not one.
 */
export type CacheKeyErrorReason =
  | 'invalid-name'
  | 'invalid-tag'
  | 'invalid-position'
  | 'unsupported-type'
  | 'too-deep'
  | 'too-large'
  | 'unreadable'
  | 'not-an-array';

/**
 * A key part is invalid: the read or invalidation is refused before any I/O (Redis and the loader
 * are never called) and it never counts toward the circuit breaker. The message names the kind,
 * length or position of the offending part, never its value.
 */
export class CacheKeyError extends CachefrontCacheError {
  override readonly name = 'CacheKeyError';
  readonly reason: CacheKeyErrorReason;
  constructor(message: string, options: { reason?: CacheKeyErrorReason; cause?: unknown } = {}) {
    super('E_INVALID_KEY', message, { cause: options.cause });
    this.reason = options.reason ?? 'invalid-name';
  }
}

/** A value the codec cannot encode, or bytes it cannot decode. */
export class CodecError extends CachefrontCacheError {
  override readonly name = 'CodecError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CODEC', message, options);
  }
}

/**
 * The fleet budget's Redis could not answer: a failed call (`redisCode` says why), a call past the
 * budget's `commandTimeoutMs`, or the budget's circuit breaker is open. The connector then falls
 * back to its processlist mode (and says so in a `budgetFallback` event), never to no limit.
 */
export class BudgetUnavailableError extends CachefrontCacheError {
  override readonly name = 'BudgetUnavailableError';
  readonly reason: 'failed' | 'timeout' | 'breaker-open';
  readonly redisCode: string | undefined;
  constructor(reason: BudgetUnavailableError['reason'], redisCode?: string) {
    const why =
      reason === 'timeout'
        ? 'did not answer in time'
        : reason === 'breaker-open'
          ? 'failed repeatedly (the circuit breaker is open)'
          : `failed${redisCode ? ` (${redisCode})` : ''}`;
    super('E_BUDGET_UNAVAILABLE', `The fleet budget's Redis ${why}; the connector falls back to reading the processlist.`);
    this.reason = reason;
    this.redisCode = redisCode;
  }
}

/**
 * An invalidation its master took, but no replica acknowledged within `replicaAckMs`, while the
 * master has a replica that could take over: a failover now could bring the tag's old token back,
 * so the invalidation is not done (it is retried, or stays pending). Redis itself is answering: it
 * does not count toward the circuit breaker, so reads keep being served from the cache.
 */
export class ReplicaAckError extends CachefrontCacheError {
  override readonly name = 'ReplicaAckError';
  readonly redisCode = 'NOREPLICAACK';
  constructor(ms: number) {
    super('E_REPLICA_ACK', `No replica acknowledged the invalidation within ${ms} ms; it is still pending.`);
  }
}

/** Every error class of this package, by its `code`. */
export const errors = {
  E_CACHE_UNAVAILABLE: CacheUnavailableError,
  E_CACHE_TIMEOUT: CacheTimeoutError,
  E_REDIS_FAILURE: RedisFailureError,
  E_INVALID_CACHE_OPTIONS: CacheOptionsError,
  E_INVALID_KEY: CacheKeyError,
  E_CODEC: CodecError,
  E_BUDGET_UNAVAILABLE: BudgetUnavailableError,
  E_REPLICA_ACK: ReplicaAckError,
} as const satisfies Record<CacheErrorCode, abstract new (...args: never[]) => CachefrontCacheError>;
