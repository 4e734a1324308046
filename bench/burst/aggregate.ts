import { type BurstResult, type CounterName, median, type ResultColumn } from '@cachefront/examples/connector-fleet';

/** One driver's column of medians over several runs, plus what the worst run did. */
export interface MedianColumn extends ResultColumn {
  readonly runs: number;
  /** Largest peak of any run. */
  readonly worstPeak: number;
  /** Runs with at least one failed invocation. */
  readonly runsWithFailures: number;
  /** Failed invocations over all runs. */
  readonly totalFailed: number;
}

/** The median of every number in a driver's results, metric by metric. */
export function medianColumn(results: readonly BurstResult[]): MedianColumn {
  const first = results[0];
  if (first === undefined) throw new RangeError('medianColumn needs at least one result.');
  const of = (pick: (result: BurstResult) => number): number => median(results.map(pick));
  const labels = new Set(results.flatMap((result) => [...result.failures.keys()]));
  const counterNames = new Set(results.flatMap((result) => Object.keys(result.counters) as CounterName[]));
  return {
    driver: first.driver,
    runs: results.length,
    invocations: of((r) => r.invocations),
    ok: of((r) => r.ok),
    failed: of((r) => r.failed),
    failures: new Map([...labels].map((label) => [label, of((r) => r.failures.get(label) ?? 0)])),
    latencyMs: { p50: of((r) => r.latencyMs.p50), p95: of((r) => r.latencyMs.p95), p99: of((r) => r.latencyMs.p99), max: of((r) => r.latencyMs.max) },
    peakConnections: of((r) => r.peakConnections),
    connectionLimit: first.connectionLimit,
    leftOpen: of((r) => r.leftOpen),
    zombiesLeftOpen: of((r) => r.zombiesLeftOpen),
    counters: Object.fromEntries([...counterNames].map((name) => [name, of((r) => r.counters[name] ?? 0)])),
    wallMs: of((r) => r.wallMs),
    worstPeak: Math.max(...results.map((r) => r.peakConnections)),
    runsWithFailures: results.filter((r) => r.failed > 0).length,
    totalFailed: results.reduce((sum, r) => sum + r.failed, 0),
  };
}
