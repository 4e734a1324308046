import { CircuitBreaker } from './breaker.js';
import type { CacheDriver, StoreProblem } from './drivers/driver.js';
import { EntityCache } from './entity-cache.js';
import { randomToken } from './entity-context.js';
import { CacheKeyError, CacheTimeoutError, CacheUnavailableError, CodecError } from './errors.js';
import { CacheEmitter, type CacheEventName, type CacheEvents } from './events.js';
import { Bypass, describeFailure } from './failures.js';
import { tagKey } from './keys.js';
import { type CacheOptions, type EntityOptions, type ResolvedCacheOptions, resolveCacheOptions } from './options.js';
import { assertTags } from './tags.js';
import type { CacheStats } from './types.js';

/** The stats counter of each kind of problem; server errors count in `errors` only. */
const PROBLEM_COUNTERS = { tls: 'tlsErrors', auth: 'authErrors', network: 'networkErrors' } as const;

export class Cache {
  readonly driver: CacheDriver;
  readonly options: ResolvedCacheOptions;
  readonly #events = new CacheEmitter();
  readonly #stats: CacheStats = {
    hits: 0,
    stale: 0,
    misses: 0,
    loads: 0,
    fills: 0,
    fillsRejected: 0,
    leaseWaits: 0,
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
  readonly #breaker: CircuitBreaker;
  /** Problems the driver reported for the connection: counted when reported, not again by the calls that waited on them. */
  readonly #connectionProblems = new WeakSet<StoreProblem>();
  /** The problem behind the latest failed call, until a call succeeds: what an open breaker's bypass reports. */
  #lastProblem: StoreProblem | undefined;
  readonly #unsubscribe: Array<() => void> = [];

  constructor(driver: CacheDriver, options: CacheOptions = {}) {
    this.driver = driver;
    this.options = resolveCacheOptions(options);
    this.#breaker = new CircuitBreaker(
      this.options.breakerThreshold,
      this.options.breakerOpenMs,
      this.options.now,
      (failures) => this.emit('circuit-open', { failures, openMs: this.options.breakerOpenMs }),
      () => this.emit('circuit-close', {}),
    );
    const offReconnect = driver.onReconnect?.(() => {
      this.#stats.reconnects += 1;
      this.emit('reconnect', {});
    });
    if (offReconnect) this.#unsubscribe.push(offReconnect);
    const offProblem = driver.onProblem?.((problem) => {
      this.#connectionProblems.add(problem);
      const kind = problem.kind === 'server' ? 'network' : problem.kind;
      this.#stats[PROBLEM_COUNTERS[kind]] += 1;
      this.emit('connection-error', { kind, code: problem.code });
    });
    if (offProblem) this.#unsubscribe.push(offProblem);
  }

  on<E extends CacheEventName>(event: E, listener: (payload: CacheEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** @internal */
  emit<E extends CacheEventName>(event: E, payload: CacheEvents[E]): void {
    this.#events.emit(event, payload);
  }

  /** @internal Whether an event has listeners or channel subscribers. */
  wants(event: CacheEventName): boolean {
    return this.#events.wants(event);
  }

  /** @internal */
  count(counter: keyof CacheStats, by = 1): void {
    this.#stats[counter] += by;
  }

  stats(): CacheStats {
    return { ...this.#stats };
  }

  /**
   * Checks tags against the tag rules (`tags.ts`) without touching Redis: throws `CacheKeyError`
   * for a list with a tag that could never be stored or invalidated. Core calls it on a write's
   * tags before the transaction commits, so such a tag never reaches the outbox.
   */
  validateTags(tags: readonly string[]): void {
    assertTags(tags);
  }

  /** A typed view of one entity: its keys, TTLs and tags (entity-cache.ts). */
  entity<P, T>(options: EntityOptions<P, T> & { validate?: (value: unknown) => T }): EntityCache<P, T> {
    return new EntityCache<P, T>(this, options);
  }

  /**
   * Invalidates tags: every entry carrying one of them stops being fresh, and every fill that
   * loaded before this call is rejected. Throws `CacheUnavailableError` (with the pending tags) when
   * Redis cannot be reached — an invalidation is never dropped silently. Throws `CacheKeyError`, before
   * any I/O and without counting toward the circuit breaker, when a tag breaks the tag rules
   * (`checkTag`).
   */
  async invalidate(tags: readonly string[]): Promise<void> {
    let unique: string[];
    let keys: string[];
    try {
      unique = [...new Set(assertTags(tags))];
      keys = unique.map((tag) => tagKey(this.options.namespace, tag));
    } catch (error) {
      this.#stats.keyErrors += 1;
      throw error;
    }
    if (unique.length === 0) return;
    const token = `${this.options.now()}.${randomToken()}`;
    try {
      await this.call('invalidate', () => this.driver.setTags(keys, token, this.options.tagTtlMs), { force: true });
    } catch (error) {
      throw new CacheUnavailableError(`Redis could not be reached to invalidate ${unique.length} tag(s); they are still pending.`, {
        cause: error instanceof Bypass ? undefined : error, // already stripped of keys and secrets by call()
        tags: unique,
      });
    }
    this.#stats.invalidations += 1;
    this.emit('invalidate', { tags: unique.length });
  }

  async close(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off();
    await this.driver.close();
  }

  /**
   * @internal Runs one driver call under the command timeout and the circuit breaker. Throws `Bypass`
   * when the breaker is open (unless `force`), a timeout, or the driver's error — replaced by a
   * `RedisFailureError` when the driver classifies it, so no key, value or password travels on. Only
   * Redis trouble counts toward the breaker: callers build every key before the call, and a key or
   * codec error that still escapes `run` is passed on without counting.
   */
  call<R>(operation: string, run: () => Promise<R>, { force = false } = {}): Promise<R> {
    if (!this.#breaker.allow() && !force) {
      this.#stats.bypasses += 1;
      return Promise.reject(new Bypass(this.driver.problem?.() ?? this.#lastProblem));
    }
    const timeoutMs = this.options.commandTimeoutMs;
    return new Promise<R>((resolve, reject) => {
      const fail = (raw: unknown) => {
        if (raw instanceof CacheKeyError || raw instanceof CodecError) {
          this.#breaker.abstain();
          reject(raw);
          return;
        }
        this.#breaker.failure();
        const { error, problem } = describeFailure(this.driver, raw);
        this.#lastProblem = problem;
        if (error instanceof CacheTimeoutError) {
          this.#stats.timeouts += 1;
          this.emit('timeout', { operation, timeoutMs });
        } else {
          this.#stats.errors += 1;
          // A call refused on its own (NOPERM) is counted by kind; one that waited on a connection problem was counted with it.
          if (problem && problem.kind !== 'server' && !this.#connectionProblems.has(problem)) this.#stats[PROBLEM_COUNTERS[problem.kind]] += 1;
          this.emit('error', { operation, code: problem ? problem.code : (error as { code?: string }).code, kind: problem?.kind });
        }
        reject(error);
      };
      let done = false;
      const timer = setTimeout(() => {
        done = true;
        fail(new CacheTimeoutError(operation, timeoutMs));
      }, timeoutMs);
      let pending: Promise<R>;
      try {
        pending = run();
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
          fail(error);
        },
      );
    });
  }
}
