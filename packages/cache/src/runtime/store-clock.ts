/**
 * The store's clock, as this process can read it without a round trip: the local clock plus the
 * offset to Redis' `TIME`, measured once and then again every `REMEASURE_MS` in the background. An
 * invalidation's token carries this time, and a load is told its tags' last invalidation in local
 * time again, so a loader comparing it with `Date.now()` compares two times of one clock whatever
 * the skew between containers: what is left is half a round trip to Redis.
 */
import type { CacheDriver } from '../drivers/driver.js';

/** How old a measured offset may get before it is measured again (clocks drift, NTP steps them). */
const REMEASURE_MS = 60_000;
/** After a failed measurement, how long before the next try (the offset in use stays). */
const RETRY_MS = 1000;

export class StoreClock {
  readonly #driver: CacheDriver;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  /** Store time minus local time, ms; 0 until measured, and for stores without a clock. */
  #offset = 0;
  #measured = false;
  #nextAt = Number.NEGATIVE_INFINITY;
  #measuring: Promise<void> | undefined;

  constructor(driver: CacheDriver, now: () => number, timeoutMs: number) {
    this.#driver = driver;
    this.#now = now;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Store time minus local time. The first call waits for a measurement (at most the command
   * timeout); later ones answer at once and remeasure in the background when it is due. A store
   * that cannot be asked answers 0: the local clock, as before there was a store clock.
   */
  async offset(): Promise<number> {
    if (!this.#driver.time) return 0;
    if (this.#now() >= this.#nextAt) {
      this.#measuring ??= this.#measure().finally(() => {
        this.#measuring = undefined;
      });
      if (!this.#measured) await this.#measuring;
    }
    return this.#offset;
  }

  /** Now, on the store's clock. */
  async now(): Promise<number> {
    const offset = await this.offset();
    return this.#now() + offset;
  }

  async #measure(): Promise<void> {
    const time = this.#driver.time;
    if (!time) return;
    const before = this.#now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const remote = await Promise.race([
        time.call(this.#driver),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('TIME timed out')), this.#timeoutMs);
        }),
      ]);
      const after = this.#now();
      // The reply was made somewhere in the round trip: its middle is the best guess.
      this.#offset = remote - (before + after) / 2;
      this.#measured = true;
      this.#nextAt = after + REMEASURE_MS;
    } catch {
      this.#measured = true; // not measurable now: the local clock, tried again shortly
      this.#nextAt = this.#now() + RETRY_MS;
    } finally {
      clearTimeout(timer);
    }
  }
}
