import type { CacheResult, GetOptions } from '../types.js';

interface Waiter<T> {
  /** When the caller joined, on this process's sequence. */
  readonly seq: number;
  readonly attempt: () => Promise<CacheResult<T>>;
  readonly options: GetOptions;
  readonly resolve: (result: CacheResult<T>) => void;
  readonly reject: (error: unknown) => void;
}

interface Flight<T> {
  waiters: Waiter<T>[];
  running: boolean;
}

/**
 * Concurrent `get`s of one key in this process share their work — but a caller only ever gets
 * the result of an attempt (a Redis read, a lease, a load) that **began after it joined**. A read
 * that began after a write returned must see that write, and an attempt already in flight when it
 * began (a Redis read sent, a database read made) may predate the write; so it waits for the next
 * attempt instead of joining the running one.
 *
 * One attempt runs per key at a time: the callers that joined while it ran are served together by
 * the next one, which for a key just filled is a single hit. So a burst of N callers of a cold key
 * costs one load and at most two reads in this process, and no caller is handed a stale result.
 * Callers with other `GetOptions` (another `failSafe`) never share an attempt.
 */
export class Flights<T> {
  #seq = 0;
  readonly #byKey = new Map<string, Flight<T>>();

  join(key: string, options: GetOptions, attempt: () => Promise<CacheResult<T>>): Promise<CacheResult<T>> {
    this.#seq += 1;
    const seq = this.#seq;
    return new Promise<CacheResult<T>>((resolve, reject) => {
      let flight = this.#byKey.get(key);
      if (flight === undefined) {
        flight = { waiters: [], running: false };
        this.#byKey.set(key, flight);
      }
      flight.waiters.push({ seq, attempt, options, resolve, reject });
      if (!flight.running) void this.#drive(key, flight);
    });
  }

  async #drive(key: string, flight: Flight<T>): Promise<void> {
    flight.running = true;
    try {
      for (let first = flight.waiters[0]; first !== undefined; first = flight.waiters[0]) {
        // Everyone who joined before this point is served by this attempt: it begins after they did.
        this.#seq += 1;
        const start = this.#seq;
        const options = first.options;
        const covered = flight.waiters.filter((waiter) => waiter.seq < start && waiter.options === options);
        flight.waiters = flight.waiters.filter((waiter) => !covered.includes(waiter));
        try {
          const result = await first.attempt();
          for (const waiter of covered) waiter.resolve(result);
        } catch (error) {
          for (const waiter of covered) waiter.reject(error);
        }
      }
    } finally {
      flight.running = false;
      this.#byKey.delete(key);
    }
  }
}
