import { performance } from 'node:perf_hooks';

export interface Throughput {
  readonly ops: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time (user + system) of this process per call: independent of how the machine schedules Redis. */
  readonly cpuUsPerOp: number;
}

/** The value at quantile `q` (0..1) of ascending `sorted`, nearest rank. */
export function quantile(sorted: Float64Array | readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * Runs `ops` calls of `op(i)` with `concurrency` of them in flight (1: one after another) and
 * times each call from its start to its settlement. Any rejection aborts the measurement.
 */
export async function measure(op: (i: number) => Promise<unknown>, ops: number, concurrency: number): Promise<Throughput> {
  const latencies = new Float64Array(ops);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < ops) {
      const i = next++;
      const started = performance.now();
      await op(i);
      latencies[i] = performance.now() - started;
    }
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, ops) }, lane));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort();
  return {
    ops,
    opsPerSec: (ops / elapsedMs) * 1000,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    cpuUsPerOp: (cpu.user + cpu.system) / ops,
  };
}
