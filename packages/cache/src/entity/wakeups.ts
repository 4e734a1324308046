/**
 * Wake-ups for callers of this process waiting on another caller's load of the same key: a waiter
 * sleeps until the poll interval passes or a load of one of its keys in this process finished,
 * then reads Redis itself, so what it returns was read after it began (see `flights.ts`).
 */
export class Wakeups {
  readonly #waiting = new Map<string, Set<() => void>>();

  /** Resolves after `ms`, or earlier when `wake()` is called for one of `keys`. */
  wait(keys: readonly string[], ms: number, sleep: (ms: number) => Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        for (const key of keys) {
          const set = this.#waiting.get(key);
          set?.delete(finish);
          if (set?.size === 0) this.#waiting.delete(key);
        }
        resolve();
      };
      for (const key of keys) {
        let set = this.#waiting.get(key);
        if (!set) {
          set = new Set();
          this.#waiting.set(key, set);
        }
        set.add(finish);
      }
      void sleep(ms).then(finish);
    });
  }

  wake(key: string): void {
    const set = this.#waiting.get(key);
    if (!set) return;
    for (const finish of [...set]) finish();
  }
}
