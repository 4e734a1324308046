import { performance } from 'node:perf_hooks';
import { Emitter } from '@cachefront/common';
import type { CacheDriver, StoreProblem } from '../drivers/driver.js';
import { CacheKeyError, CacheTimeoutError, CodecError, ReplicaAckError } from '../errors.js';
import { CACHE_CHANNEL_PREFIX, type CacheEvents } from '../events.js';
import { tagKey } from '../keys/keys.js';
import type { ResolvedCacheOptions } from '../options.js';
import type { CacheStats } from '../types.js';
import { CircuitBreaker } from './breaker.js';
import { Bypass, describeFailure } from './failures.js';
import { StoreClock } from './store-clock.js';

/** The stats counter of each kind of problem; server errors count in `errors` only. */
const PROBLEM_COUNTERS = { tls: 'tlsErrors', auth: 'authErrors', network: 'networkErrors' } as const;

export interface CallOptions {
  /** Run the call even while the breaker is open: an invalidation or a delete must be tried. @default false */
  readonly force?: boolean;
  /** More time than the command timeout for this call (an invalidation that waits for a replica). @default 0 */
  readonly extraMs?: number;
}

/**
 * What a `Cache` and its entities share, and only they see: the resolved options, the events, the
 * counters, and the driver — reachable only through `call`, under the command timeout and the
 * circuit breaker. `Cache` creates one and hands it to each `EntityCache`; it is never exported.
 */
export class CacheRuntime {
  readonly options: ResolvedCacheOptions;
  readonly events = new Emitter<CacheEvents>(CACHE_CHANNEL_PREFIX);
  /** The counters `Cache.stats()` copies; incremented in place. */
  readonly stats: CacheStats = {
    hits: 0,
    stale: 0,
    misses: 0,
    loads: 0,
    fills: 0,
    fillsRejected: 0,
    leaseWaits: 0,
    loaderWaits: 0,
    refreshes: 0,
    timeouts: 0,
    errors: 0,
    bypasses: 0,
    decodeErrors: 0,
    mismatches: 0,
    keyErrors: 0,
    reconnects: 0,
    oversize: 0,
    invalidations: 0,
    tlsErrors: 0,
    authErrors: 0,
    networkErrors: 0,
  };
  /** How much longer than the command timeout an invalidation may take (see `CacheDriver.setTagsExtraMs`). */
  readonly setTagsExtraMs: number;
  /** The driver's `sharedFate` (see `CacheDriver`). */
  readonly sharedFate: boolean;
  /** A tag's key in this cache's namespace (a bound function: `tags.map(runtime.tagKey)`). */
  readonly tagKey: (tag: string) => string;
  /** The store's clock (runtime/store-clock.ts): invalidation times are taken on it. */
  readonly clock: StoreClock;
  readonly #driver: CacheDriver;
  readonly #breaker: CircuitBreaker;
  /** Problems the driver reported for the connection: counted when reported, not again by the calls that waited on them. */
  readonly #connectionProblems = new WeakSet<StoreProblem>();
  /** The problem behind the latest failed call, until a call succeeds: what an open breaker's bypass reports. */
  #lastProblem: StoreProblem | undefined;
  readonly #unsubscribe: Array<() => void> = [];
  /** Background work (early reloads), each with when `idle()` stops waiting for it (performance.now()). */
  readonly #background = new Map<Promise<void>, number>();

  constructor(driver: CacheDriver, options: ResolvedCacheOptions) {
    this.#driver = driver;
    this.options = options;
    this.sharedFate = driver.sharedFate;
    this.setTagsExtraMs = driver.setTagsExtraMs ?? 0;
    this.tagKey = (tag) => tagKey(options.namespace, tag);
    this.clock = new StoreClock(driver, options.now, options.commandTimeoutMs);
    this.#breaker = new CircuitBreaker(
      options.breakerThreshold,
      options.breakerOpenMs,
      options.now,
      (failures) => this.events.emit('circuit-open', { failures, openMs: options.breakerOpenMs }),
      () => this.events.emit('circuit-close', {}),
    );
    const offReconnect = driver.onReconnect?.(() => {
      this.stats.reconnects += 1;
      this.events.emit('reconnect', {});
    });
    if (offReconnect) this.#unsubscribe.push(offReconnect);
    const offProblem = driver.onProblem?.((problem) => {
      this.#connectionProblems.add(problem);
      const kind = problem.kind === 'server' ? 'network' : problem.kind;
      this.stats[PROBLEM_COUNTERS[kind]] += 1;
      this.events.emit('connection-error', { kind, code: problem.code });
    });
    if (offProblem) this.#unsubscribe.push(offProblem);
  }

  /**
   * Runs one driver call under the command timeout and the circuit breaker. Rejects with `Bypass`
   * when the breaker is open (unless `force`), a timeout, or the driver's error — replaced by a
   * `RedisFailureError` when the driver classifies it, so no key, value or password travels on. Only
   * Redis trouble counts toward the breaker: callers build every key before the call, and a key or
   * codec error that still escapes `run` is passed on without counting.
   *
   * The race is written out here rather than through `withTimeout`: this is every hit's path, and
   * settling the breaker in the same reaction that settles the call saves a promise and a tick.
   */
  call<R>(operation: string, run: (driver: CacheDriver) => Promise<R>, { force = false, extraMs = 0 }: CallOptions = {}): Promise<R> {
    const driver = this.#driver;
    if (!this.#breaker.allow() && !force) {
      this.stats.bypasses += 1;
      return Promise.reject(new Bypass(driver.problem?.() ?? this.#lastProblem));
    }
    const timeoutMs = this.options.commandTimeoutMs + extraMs;
    return new Promise<R>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        reject(this.#failed(operation, new CacheTimeoutError(operation, timeoutMs)));
      }, timeoutMs);
      let pending: Promise<R>;
      try {
        pending = run(driver);
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (result) => {
          if (done) return;
          clearTimeout(timer);
          this.#breaker.success();
          this.#lastProblem = undefined;
          resolve(result);
        },
        (error: unknown) => {
          if (done) return;
          clearTimeout(timer);
          reject(this.#failed(operation, error));
        },
      );
    });
  }

  /** Counts and reports a failed call; returns what the call rejects with. */
  #failed(operation: string, raw: unknown): unknown {
    if (raw instanceof CacheKeyError || raw instanceof CodecError) {
      this.#breaker.abstain();
      return raw;
    }
    if (raw instanceof ReplicaAckError) {
      // Redis answered; a replica was slow. Reads are fine: the breaker does not count it.
      this.#breaker.abstain();
      this.stats.errors += 1;
      this.events.emit('error', { operation, code: raw.redisCode, kind: 'server' });
      return raw;
    }
    this.#breaker.failure();
    const { error, problem } = describeFailure(this.#driver, raw);
    this.#lastProblem = problem;
    if (error instanceof CacheTimeoutError) {
      this.stats.timeouts += 1;
      this.events.emit('timeout', { operation, timeoutMs: this.options.commandTimeoutMs });
    } else {
      this.stats.errors += 1;
      // A call refused on its own (NOPERM) is counted by kind; one that waited on a connection problem was counted with it.
      if (problem && problem.kind !== 'server' && !this.#connectionProblems.has(problem)) this.stats[PROBLEM_COUNTERS[problem.kind]] += 1;
      this.events.emit('error', { operation, code: problem ? problem.code : (error as { code?: string }).code, kind: problem?.kind });
    }
    return error;
  }

  /** Tracks background work (it must not reject) until it settles; `idle()` waits for it at most `timeoutMs`. */
  track(work: Promise<void>, timeoutMs: number): void {
    this.#background.set(work, performance.now() + timeoutMs);
    void work.finally(() => this.#background.delete(work));
  }

  /** Resolves when no tracked work is left, or all that is left is past its wait. Never rejects. */
  async idle(): Promise<void> {
    for (;;) {
      const now = performance.now();
      const open = [...this.#background].filter(([, until]) => until > now);
      if (open.length === 0) return;
      // Work started meanwhile (another read's reload) is picked up by the next round.
      await Promise.all(open.map(([work, until]) => settledWithin(work, until - now)));
    }
  }

  /** Waits for `idle()`, stops listening to the driver, then closes it. */
  async close(): Promise<void> {
    await this.idle();
    for (const off of this.#unsubscribe.splice(0)) off();
    await this.#driver.close();
  }
}

/** Resolves when `work` settles or `ms` have passed, whichever comes first; the timer does not outlive it. */
function settledWithin(work: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    void work.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
