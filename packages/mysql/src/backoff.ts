/** A source of uniformly distributed numbers in [0, 1), injectable so tests are deterministic. */
export type RandomSource = () => number;

export type BackoffStrategy = 'full' | 'decorrelated';

export interface BackoffPolicy {
  readonly strategy: BackoffStrategy;
  /** Smallest delay, in milliseconds. */
  readonly baseMs: number;
  /** Largest delay, in milliseconds. */
  readonly capMs: number;
}

/**
 * The delay before retry number `attempt` (0 for the first retry).
 *
 * - `full`: random(0, min(cap, base · 2^attempt)) — the AWS "full jitter" schedule.
 * - `decorrelated`: min(cap, random(base, 3 · previous)) — spreads a burst of containers apart
 *   faster, since each one's schedule drifts from the others'.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, previousMs: number, random: RandomSource): number {
  const { baseMs, capMs } = policy;
  if (policy.strategy === 'full') {
    const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
    return Math.floor(random() * ceiling);
  }
  const previous = Math.max(baseMs, previousMs);
  const next = baseMs + random() * (previous * 3 - baseMs);
  return Math.floor(Math.min(capMs, next));
}

/** A deterministic random source (mulberry32) for tests and benchmarks. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
