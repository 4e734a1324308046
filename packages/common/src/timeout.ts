export interface TimeoutOptions<T> {
  /** The error the promise rejects with when the time is up. */
  readonly error: () => unknown;
  /** Called with a result that arrives after the time was up (to close a late connection, say). */
  readonly late?: (value: T) => void;
  /** Called when the time is up, before rejecting (to destroy what may still hang). */
  readonly expired?: () => void;
}

/**
 * `run`'s result, or a rejection with `options.error()` once `ms` passed — the one timeout race of
 * every package. `ms` undefined: no timeout. A `run` that throws synchronously rejects.
 */
export function withTimeout<T>(run: () => Promise<T>, ms: number | undefined, options: TimeoutOptions<T>): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = run();
  } catch (error) {
    return Promise.reject(error);
  }
  if (ms === undefined) return pending;
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(
      () => {
        expired = true;
        options.expired?.();
        reject(options.error());
      },
      Math.max(0, ms),
    );
    pending.then(
      (value) => {
        if (expired) {
          options.late?.(value);
          return;
        }
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (expired) return;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms));
