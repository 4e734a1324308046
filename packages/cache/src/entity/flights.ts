import type { GetOptions } from '../types.js';

interface Waiter<O> {
  /** When the caller joined, on this process's sequence. */
  readonly seq: number;
  readonly attempt: () => Promise<O>;
  readonly options: GetOptions;
  readonly resolve: (outcome: O) => void;
  readonly reject: (error: unknown) => void;
  /** Whether an attempt that waited for a loader ran while this caller waited for its own. */
  queuedBehindLoad?: boolean;
}

/** What the flights tell the entity, so every answer is counted once (entity/context.ts). */
export interface FlightHooks<O> {
  /** Whether an attempt's outcome waited for a loader. */
  waited(outcome: O): boolean;
  /** A caller was answered with another's attempt; `waited`: it waited for a loader meanwhile. */
  shared(outcome: O, waited: boolean): void;
  /** A caller's own attempt answered it after it had waited behind one that waited for a loader. */
  queued(outcome: O): void;
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
 *
 * The hooks hear of each caller served by another's attempt, and of callers that waited behind an
 * attempt that waited for a loader, so that every answer is counted and each wait is seen.
 */
export class Flights<O> {
  #seq = 0;
  /** The keys with an attempt running, each with the callers waiting for the next one. */
  readonly #running = new Map<string, Waiter<O>[]>();

  constructor(private readonly hooks: FlightHooks<O>) {}

  join(key: string, options: GetOptions, attempt: () => Promise<O>): Promise<O> {
    this.#seq += 1;
    const seq = this.#seq;
    const joined = this.#running.get(key);
    if (joined !== undefined) {
      return new Promise<O>((resolve, reject) => {
        joined.push({ seq, attempt, options, resolve, reject });
      });
    }
    // Nothing runs for this key (every hit of a key that is not hot): this caller's attempt runs at
    // once and is its own result; whoever joins meanwhile waits for the next one.
    const queue: Waiter<O>[] = [];
    this.#running.set(key, queue);
    const running = attempt();
    const next = (outcome?: O) => {
      if (queue.length === 0) {
        this.#running.delete(key);
        return;
      }
      if (outcome !== undefined) this.#behind(queue, outcome);
      void this.#drive(key, queue);
    };
    running.then(next, () => next());
    return running;
  }

  /** After an attempt: the callers still queued waited for a loader if it did. */
  #behind(queue: readonly Waiter<O>[], outcome: O): void {
    if (!this.hooks.waited(outcome)) return;
    for (const waiter of queue) waiter.queuedBehindLoad = true;
  }

  /** Runs the next attempts for the callers that joined while one ran, until none is left. */
  async #drive(key: string, queue: Waiter<O>[]): Promise<void> {
    try {
      for (let first = queue[0]; first !== undefined; first = queue[0]) {
        // Everyone who joined before this point is served by this attempt: it begins after they did.
        this.#seq += 1;
        const start = this.#seq;
        const options = first.options;
        const covered: Waiter<O>[] = [];
        let kept = 0;
        for (const waiter of queue) {
          if (waiter.seq < start && waiter.options === options) covered.push(waiter);
          else queue[kept++] = waiter;
        }
        queue.length = kept;
        try {
          const outcome = await first.attempt();
          const waited = this.hooks.waited(outcome);
          for (const waiter of covered) {
            if (waiter !== first) this.hooks.shared(outcome, waited || waiter.queuedBehindLoad === true);
            else if (waiter.queuedBehindLoad && !waited) this.hooks.queued(outcome);
            waiter.resolve(outcome);
          }
          this.#behind(queue, outcome);
        } catch (error) {
          for (const waiter of covered) waiter.reject(error);
        }
      }
    } finally {
      this.#running.delete(key);
    }
  }
}
