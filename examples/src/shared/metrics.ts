/** Per-invocation results and the statistics the reports print. */

export interface LatencySummary {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export interface InvocationTally {
  readonly invocations: number;
  readonly ok: number;
  readonly failed: number;
  /** Failures by error label (`ER_USER_LIMIT_REACHED (1226)`, `E_CONNECTION_LIMIT (1203)`, ...). */
  readonly failures: ReadonlyMap<string, number>;
  /** Latency of every invocation, failed ones included (a failure after 5 s of retries is slow too). */
  readonly latencyMs: LatencySummary;
}

/** The nearest-rank percentile of sorted values; 0 when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0;
}

export function summarizeLatency(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 };
}

/** The median of some numbers (the mean of the middle two for an even count); 0 when there are none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? 0;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? 0) + upper) / 2;
}

/**
 * How a failure is counted: the thrown error's `code` and `errno`, as the caller would branch on
 * them. An error that carries neither (a library that rewrapped it) is counted as `no code`, with
 * the start of its message, its quoted values redacted.
 */
export function errorLabel(error: unknown): string {
  if (typeof error !== 'object' || error === null) return `no code: ${String(error).slice(0, 40)}`;
  const { code, errno, message } = error as { code?: unknown; errno?: unknown; message?: unknown };
  const codeText = typeof code === 'string' && code.length > 0 ? code : undefined;
  const errnoText = typeof errno === 'number' ? String(errno) : undefined;
  if (codeText !== undefined) return errnoText === undefined ? codeText : `${codeText} (${errnoText})`;
  if (errnoText !== undefined) return `errno ${errnoText}`;
  const text = typeof message === 'string' ? message.replace(/'[^']*'/g, "'…'") : 'unknown error';
  return `no code: ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

/** Collects the outcome of every invocation of one run. */
export class InvocationLog {
  readonly #latencies: number[] = [];
  readonly #failures = new Map<string, number>();
  #ok = 0;

  recordSuccess(latencyMs: number): void {
    this.#ok += 1;
    this.#latencies.push(latencyMs);
  }

  recordFailure(latencyMs: number, error: unknown): void {
    this.#latencies.push(latencyMs);
    const label = errorLabel(error);
    this.#failures.set(label, (this.#failures.get(label) ?? 0) + 1);
  }

  get count(): number {
    return this.#latencies.length;
  }

  get failed(): number {
    return this.#latencies.length - this.#ok;
  }

  tally(): InvocationTally {
    return {
      invocations: this.#latencies.length,
      ok: this.#ok,
      failed: this.failed,
      failures: new Map([...this.#failures].sort((a, b) => b[1] - a[1])),
      latencyMs: summarizeLatency(this.#latencies),
    };
  }
}
