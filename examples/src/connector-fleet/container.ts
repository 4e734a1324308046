import { sleep } from '../shared/lifecycle.js';
import type { InvocationLog } from '../shared/metrics.js';
import { type Random, randomInt, seededRandom } from '../shared/random.js';
import type { AppDatabase, ContainerClient, DriverAdapter, InvocationWork } from './driver-adapter.js';

/** The platform killed the invocation at its timeout. */
export class InvocationTimeoutError extends Error {
  override readonly name = 'InvocationTimeoutError';
  readonly code = 'LAMBDA_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`The invocation ran past its ${timeoutMs} ms timeout.`);
  }
}

export interface InvocationProfile {
  readonly writeRatio: number;
  readonly thinkMs: number;
  readonly timeoutMs: number;
}

/**
 * One Lambda execution environment: a client created once (cold start), then reused by every
 * invocation it handles, one at a time. Between invocations it is frozen: nothing of it runs.
 */
export class Container {
  readonly number: number;
  readonly client: ContainerClient;
  readonly #random: Random;
  readonly #database: AppDatabase;
  #invocations = 0;

  constructor(number: number, adapter: DriverAdapter, database: AppDatabase, seed: number) {
    this.number = number;
    this.client = adapter.createClient(database);
    this.#database = database;
    this.#random = seededRandom(seed + number * 7919);
  }

  get invocations(): number {
    return this.#invocations;
  }

  /** Handles `count` invocations one after another, with a short random pause (frozen) before each. */
  async serve(count: number, profile: InvocationProfile, log: InvocationLog, signal: AbortSignal | undefined): Promise<void> {
    for (let index = 0; index < count && !signal?.aborted; index += 1) {
      const pauseMs = randomInt(this.#random, 0, profile.thinkMs);
      if (pauseMs > 0) await sleep(pauseMs);
      await this.#invoke(profile, log);
    }
  }

  /** Waits before the container's first request of a wave (a burst never arrives in one instant). */
  async arrive(rampMs: number): Promise<void> {
    const delayMs = randomInt(this.#random, 0, rampMs);
    if (delayMs > 0) await sleep(delayMs);
  }

  /** Whether the platform drops this container before the next wave. */
  drawExpiry(expireRatio: number): boolean {
    return this.#random() < expireRatio;
  }

  async #invoke(profile: InvocationProfile, log: InvocationLog): Promise<void> {
    const started = performance.now();
    const work: InvocationWork = {
      readId: randomInt(this.#random, 1, this.#database.rows),
      writeId: this.#random() < profile.writeRatio ? randomInt(this.#random, 1, this.#database.rows) : undefined,
      deadline: Date.now() + profile.timeoutMs,
    };
    this.#invocations += 1;
    const running = this.client.invoke(work);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), profile.timeoutMs);
    });
    try {
      const outcome = await Promise.race([running.then(() => 'done' as const), timeout]);
      if (outcome === 'timeout') {
        log.recordFailure(profile.timeoutMs, new InvocationTimeoutError(profile.timeoutMs));
        // The container stays busy until the work really stops; only then can it take the next request.
        await running.catch(() => {});
      } else {
        log.recordSuccess(performance.now() - started);
      }
    } catch (error) {
      log.recordFailure(performance.now() - started, error);
    } finally {
      clearTimeout(timer);
    }
  }
}
