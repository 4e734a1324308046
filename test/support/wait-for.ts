export interface WaitForOptions {
  /** Give up after this long. @default 5000 */
  timeoutMs?: number;
  /** Pause between two checks. @default 20 */
  intervalMs?: number;
  /** Says what was awaited, in the error thrown on timeout. */
  message?: string;
}

/**
 * Polls `condition` until it returns a truthy value (which is returned), or throws after
 * `timeoutMs`. A condition that throws counts as not yet met; its last error is reported.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 5000, intervalMs = 20, message = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`waitFor: ${message} not met within ${timeoutMs} ms${why}`, lastError === undefined ? undefined : { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Resolves after `ms`. Only for waits that are the point of a test (letting a connection grow idle). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
