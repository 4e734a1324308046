import { formatMs } from '../connector-fleet/report.js';
import { percentile } from '../shared/metrics.js';
import type { RunResult } from './fleet.js';

export { percentile };

/** p50 / p99 (nearest rank) of unsorted latencies. */
export function latencyPercentiles(values: readonly number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** Share of cache reads answered from the cache (fresh or stale); undefined without a cache or reads. */
export function cacheHitRatio(cache: RunResult['cache']): number | undefined {
  if (!cache) return undefined;
  const reads = cache.hits + cache.stale + cache.misses;
  return reads === 0 ? undefined : (cache.hits + cache.stale) / reads;
}

/** Share of cache reads that waited for a loader (their own load, another's, or one they shared); undefined without a cache or reads. */
export function loaderWaitShare(cache: RunResult['cache']): number | undefined {
  if (!cache) return undefined;
  const reads = cache.hits + cache.stale + cache.misses;
  return reads === 0 ? undefined : cache.loaderWaits / reads;
}

export type Row = readonly [label: string, ...cells: string[]];

const pct = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;

/** One row per metric, one column per app. */
export function summaryRows(results: readonly RunResult[]): Row[] {
  const cells = (cell: (r: RunResult) => string): string[] => results.map(cell);
  const labels = [...new Set(results.flatMap((r) => [...r.failures.keys()]))];
  return [
    ['invocations', ...cells((r) => String(r.invocations))],
    ['ok (2xx)', ...cells((r) => String(r.ok))],
    ['failed', ...cells((r) => `${r.failed} (${r.invocations === 0 ? '0.0%' : pct(r.failed / r.invocations)})`)],
    ...labels.map((label): Row => [`  ${label}`, ...cells((r) => String(r.failures.get(label) ?? 0))]),
    ['latency p50', ...cells((r) => formatMs(latencyPercentiles(r.latenciesMs).p50))],
    ['latency p99', ...cells((r) => formatMs(latencyPercentiles(r.latenciesMs).p99))],
    [
      'cache hit ratio',
      ...cells((r) => {
        const ratio = cacheHitRatio(r.cache);
        return ratio === undefined ? '–' : `${pct(ratio)} (${r.cache?.stale ?? 0} stale)`;
      }),
    ],
    [
      'reads that waited for a loader',
      ...cells((r) => {
        const share = loaderWaitShare(r.cache);
        return share === undefined ? '–' : `${pct(share)} (${r.cache?.loaderWaits ?? 0})`;
      }),
    ],
    ['database queries (per 2xx)', ...cells((r) => `${r.queries} (${r.ok === 0 ? '–' : (r.queries / r.ok).toFixed(2)})`)],
    ['peak connections / limit', ...cells((r) => `${r.peakConnections} / ${r.connectionLimit}`)],
    ['open at the end (zombies)', ...cells((r) => `${r.leftOpen} (${r.zombiesLeftOpen})`)],
    ['containers (expired)', ...cells((r) => `${r.containersStarted} (${r.containersExpired})`)],
    ['wall time', ...cells((r) => `${(r.wallMs / 1000).toFixed(1)} s`)],
  ];
}

export function summaryHeader(results: readonly RunResult[]): Row {
  return ['', ...results.map((r) => r.app)];
}

/** A plain-text table, numbers right-aligned. */
export function formatSummaryTable(results: readonly RunResult[]): string {
  const header = summaryHeader(results);
  const rows = [header, ...summaryRows(results)];
  const widths = header.map((_, index) => Math.max(...rows.map((row) => (row[index] ?? '').length)));
  const line = (row: Row): string => row.map((cell, index) => (index === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[index] ?? 0))).join('   ');
  const rule = widths.map((width) => '─'.repeat(width)).join('───');
  return [line(header), rule, ...rows.slice(1).map(line)].join('\n');
}
