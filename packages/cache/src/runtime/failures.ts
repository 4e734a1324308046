/**
 * What the cache makes of a failed driver call: an error safe to hand on (a driver's own error may
 * carry keys, values or a password, so a classified one is replaced by `RedisFailureError`), the
 * problem behind it when the driver knows it, and what a read that had to bypass Redis reports.
 */
import type { CacheDriver, StoreProblem } from '../drivers/driver.js';
import { CachefrontCacheError, CacheTimeoutError, RedisFailureError } from '../errors.js';
import type { BypassReason, CacheEvents } from '../events.js';

/** Thrown inside the cache when the circuit breaker skips Redis; never leaves it. */
export class Bypass extends Error {
  constructor(readonly problem: StoreProblem | undefined) {
    super('bypass');
  }
}

export interface Failure {
  /** What the call rejects with. */
  readonly error: unknown;
  /** Why, when the driver knows. */
  readonly problem: StoreProblem | undefined;
}

/**
 * A timeout is attributed to the connection's problem when there is one: the call waited for a
 * connection the client cannot make (a refused certificate), it was not slow. Any other error is
 * classified by the driver and replaced, unless it is already one of ours.
 */
export function describeFailure(driver: CacheDriver, error: unknown): Failure {
  if (error instanceof CacheTimeoutError) {
    const problem = driver.problem?.();
    return problem ? { error: new RedisFailureError(problem), problem } : { error, problem };
  }
  if (error instanceof CachefrontCacheError) return { error, problem: undefined };
  const problem = driver.problem?.(error);
  return problem ? { error: new RedisFailureError(problem), problem } : { error, problem };
}

/** The bypass event of a read whose Redis call failed with `error`. */
export function bypassOf(entity: string, operation: string, error: unknown): CacheEvents['bypass'] {
  let reason: BypassReason = 'error';
  let problem: StoreProblem | undefined;
  if (error instanceof Bypass) {
    reason = 'circuit-open';
    problem = error.problem;
  } else if (error instanceof RedisFailureError) {
    problem = { kind: error.kind, code: error.redisCode };
  } else if (error instanceof CacheTimeoutError) {
    reason = 'timeout';
  }
  return { entity, operation, reason, kind: problem?.kind, code: problem?.code };
}
