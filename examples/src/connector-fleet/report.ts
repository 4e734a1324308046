import type { LatencySummary } from '../shared/metrics.js';
import type { CounterName, DriverCounters } from './driver-adapter.js';

/** What one column of the comparison shows: one driver's run, or the medians of several runs. */
export interface ResultColumn {
  readonly driver: string;
  readonly invocations: number;
  readonly ok: number;
  readonly failed: number;
  readonly failures: ReadonlyMap<string, number>;
  readonly latencyMs: LatencySummary;
  readonly peakConnections: number;
  readonly connectionLimit: number;
  readonly leftOpen: number;
  readonly zombiesLeftOpen: number;
  readonly counters: DriverCounters;
  readonly wallMs: number;
}

type Row = readonly [label: string, ...cells: string[]];

const COUNTER_ROWS: ReadonlyArray<readonly [CounterName, string]> = [
  ['kills', 'kills (zombies killed)'],
  ['connects', 'connects'],
  ['retries', 'connect retries'],
  ['closes', 'own connection closed'],
  ['reconnects', 'reconnects'],
  ['usageChecks', 'processlist checks'],
  ['handOvers', 'budget hand-overs'],
];

/** One row per metric, one column per driver. */
export function comparisonRows(columns: readonly ResultColumn[]): Row[] {
  const cells = (cell: (column: ResultColumn) => string): string[] => columns.map(cell);
  const labels = [...new Set(columns.flatMap((column) => [...column.failures.keys()]))];
  return [
    ['invocations', ...cells((c) => formatCount(c.invocations))],
    ['ok', ...cells((c) => formatCount(c.ok))],
    ['failed', ...cells((c) => formatCount(c.failed))],
    ...labels.map((label): Row => [`  ${label}`, ...cells((c) => formatCount(c.failures.get(label) ?? 0))]),
    ['latency p50', ...cells((c) => formatMs(c.latencyMs.p50))],
    ['latency p95', ...cells((c) => formatMs(c.latencyMs.p95))],
    ['latency p99', ...cells((c) => formatMs(c.latencyMs.p99))],
    ['peak connections / limit', ...cells((c) => `${formatCount(c.peakConnections)} / ${c.connectionLimit}`)],
    ['left open at the end (zombies)', ...cells((c) => `${formatCount(c.leftOpen)} (${formatCount(c.zombiesLeftOpen)})`)],
    ...COUNTER_ROWS.map(([name, label]): Row => [label, ...cells((c) => formatCounter(c.counters[name]))]),
    ['wall time', ...cells((c) => `${(c.wallMs / 1000).toFixed(1)} s`)],
  ];
}

/** A plain-text table for a terminal, numbers right-aligned. */
export function formatTextTable(columns: readonly ResultColumn[]): string {
  const header: Row = ['', ...columns.map((column) => column.driver)];
  const rows = [header, ...comparisonRows(columns)];
  const widths = header.map((_, index) => Math.max(...rows.map((row) => (row[index] ?? '').length)));
  const line = (row: Row): string => row.map((cell, index) => (index === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[index] ?? 0))).join('   ');
  const rule = widths.map((width) => '─'.repeat(width)).join('───');
  return [line(header), rule, ...rows.slice(1).map(line)].join('\n');
}

/** The same table in Markdown. */
export function formatMarkdownTable(columns: readonly ResultColumn[]): string {
  const header = ['', ...columns.map((column) => column.driver)];
  const rows = comparisonRows(columns).map((row) => row.map((cell, index) => (index === 0 ? cell.replace(/^ {2}/, '↳ ') : cell)));
  const line = (row: readonly string[]): string => `| ${row.join(' | ')} |`;
  return [line(header), line(header.map((_, index) => (index === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

export function formatMs(ms: number): string {
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

/** Whole numbers as they are; medians of an even number of runs may end in .5. */
function formatCount(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function formatCounter(value: number | undefined): string {
  return value === undefined ? '–' : formatCount(value);
}
