/** The fleet benchmark's results: one driver's run of one scenario, medians over runs, ratios, tables. */
import { formatMs, median } from '@cachefront/examples/connector-fleet';
import type { InvocationRecord } from './platform.js';
import { SERVERLESS_MYSQL } from './protocol.js';
import type { Scenario } from './scenarios.js';

/** One driver's run of one scenario, as flat numbers (a counter the driver cannot report is undefined). */
export interface FleetResult {
  readonly driver: string;
  readonly scenario: Scenario;
  readonly failures: Readonly<Record<string, number>>;
  readonly metrics: Readonly<Record<MetricName, number | undefined>>;
  /** The five slowest invocations (by handler time), for reading a p99. */
  readonly slowest: readonly InvocationRecord[];
}

export const METRIC_NAMES = [
  'invocations',
  'failed',
  'handlerP50',
  'handlerP99',
  'endToEndP50',
  'endToEndP99',
  'coldHandlerP99',
  'warmHandlerP99',
  'coldStarts',
  'coldStartWaitP50',
  'forkedOnArrival',
  'spareInitP50',
  'expired',
  'peakConnections',
  'connectionLimit',
  'serverRefusals',
  'serverConnections',
  'serverKills',
  'retries',
  'connects',
  'connectsPerInvocation',
  'kills',
  'killStatements',
  'killErrors',
  'noSuchThread',
  'appStatements',
  'statements',
  'questions',
  'ownStatements',
  'nonAppPerInvocation',
  'nonAppPerInvocationClient',
  'closes',
  'reconnects',
  'budgetGrants',
  'budgetWaits',
  'budgetTimeouts',
  'handOvers',
  'leaseLapses',
  'budgetFallbacks',
  'budgetTakenPeak',
  'budgetLapsedPeak',
  'budgetWaitingPeak',
  'budgetCapacity',
  'wallMs',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** The medians of one driver's runs of one scenario. */
export interface MedianColumn {
  readonly driver: string;
  readonly runs: number;
  readonly totalFailed: number;
  readonly failures: Readonly<Record<string, number>>;
  readonly metrics: Readonly<Record<MetricName, number | undefined>>;
}

export function medianColumns(results: readonly FleetResult[]): MedianColumn[] {
  const byDriver = new Map<string, FleetResult[]>();
  for (const result of results) byDriver.set(result.driver, [...(byDriver.get(result.driver) ?? []), result]);
  return [...byDriver].map(([driver, runs]) => {
    const labels = new Set(runs.flatMap((run) => Object.keys(run.failures)));
    const metrics = Object.fromEntries(
      METRIC_NAMES.map((name) => {
        const values = runs.map((run) => run.metrics[name]).filter((value): value is number => value !== undefined);
        return [name, values.length === 0 ? undefined : median(values)];
      }),
    ) as Record<MetricName, number | undefined>;
    return {
      driver,
      runs: runs.length,
      totalFailed: runs.reduce((sum, run) => sum + (run.metrics.failed ?? 0), 0),
      failures: Object.fromEntries([...labels].map((label) => [label, median(runs.map((run) => run.failures[label] ?? 0))])),
      metrics,
    };
  });
}

/** Per run, a driver's metric divided by serverless-mysql's on the same run; undefined when serverless-mysql's is 0. */
export interface RatioSet {
  readonly driver: string;
  readonly handlerP99: readonly number[];
  readonly endToEndP99: readonly number[];
  readonly serverRefusals: readonly number[];
  readonly retries: readonly number[];
  readonly connectsPerInvocation: readonly number[];
}

const RATIO_ROWS: ReadonlyArray<readonly [Exclude<keyof RatioSet, 'driver'>, string]> = [
  ['handlerP99', 'handler p99 / serverless-mysql'],
  ['endToEndP99', 'end-to-end p99 / serverless-mysql'],
  ['serverRefusals', 'server refusals / serverless-mysql'],
  ['retries', 'client retries / serverless-mysql'],
  ['connectsPerInvocation', 'connects per invocation / serverless-mysql'],
];

/** `runs` holds each run's results of one scenario. */
export function ratiosVsServerlessMysql(runs: ReadonlyArray<readonly FleetResult[]>, drivers: readonly string[]): RatioSet[] {
  return drivers
    .filter((driver) => driver !== SERVERLESS_MYSQL)
    .map((driver) => {
      const of = (name: MetricName): number[] =>
        runs.flatMap((results) => {
          const mine = results.find((result) => result.driver === driver)?.metrics[name];
          const peer = results.find((result) => result.driver === SERVERLESS_MYSQL)?.metrics[name];
          return mine !== undefined && peer !== undefined && peer > 0 ? [mine / peer] : [];
        });
      return {
        driver,
        handlerP99: of('handlerP99'),
        endToEndP99: of('endToEndP99'),
        serverRefusals: of('serverRefusals'),
        retries: of('retries'),
        connectsPerInvocation: of('connectsPerInvocation'),
      };
    });
}

type Cell = (column: MedianColumn) => string;
type Row = readonly [label: string, ...cells: string[]];

function metric(name: MetricName, format: (value: number) => string = count): Cell {
  return (column) => {
    const value = column.metrics[name];
    return value === undefined ? '–' : format(value);
  };
}

function count(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function ms(value: number): string {
  return formatMs(value);
}

function perInvocation(value: number): string {
  return value.toFixed(2);
}

function tableRows(columns: readonly MedianColumn[], ratios: readonly RatioSet[]): Row[] {
  const labels = [...new Set(columns.flatMap((column) => Object.keys(column.failures)))].sort();
  const row = (label: string, cell: Cell): Row => [label, ...columns.map(cell)];
  const budgetOnly =
    (name: MetricName): Cell =>
    (column) =>
      column.metrics.budgetGrants ? metric(name)(column) : '–';
  const rows: Row[] = [
    row('invocations', metric('invocations')),
    row('failed', metric('failed')),
    ...labels.map((label) => row(`  ${label}`, (column) => count(column.failures[label] ?? 0))),
    row('handler p50', metric('handlerP50', ms)),
    row('handler p99', metric('handlerP99', ms)),
    row('  cold invocations only', metric('coldHandlerP99', ms)),
    row('  warm invocations only', metric('warmHandlerP99', ms)),
    row('end-to-end p50', metric('endToEndP50', ms)),
    row('end-to-end p99', metric('endToEndP99', ms)),
    row('cold starts', metric('coldStarts')),
    row('  of which forked on arrival (no spare left)', metric('forkedOnArrival')),
    row('  cold start wait p50 (arrival → ready)', metric('coldStartWaitP50', ms)),
    row('  init of the spares p50 (before the window)', metric('spareInitP50', ms)),
    row('containers expired (left frozen)', metric('expired')),
    row('peak connections / limit', (column) => `${metric('peakConnections')(column)} / ${metric('connectionLimit')(column)}`),
    row('server refusals (Connection_errors_max_connections Δ)', metric('serverRefusals')),
    row('client connect retries', metric('retries')),
    row('connects', metric('connects')),
    row('connects / invocation', metric('connectsPerInvocation', perInvocation)),
    row('server connections (Connections Δ)', metric('serverConnections')),
    row('zombies killed (driver)', metric('kills')),
    row('KILL statements sent (server Com_kill Δ)', (column) => `${metric('killStatements')(column)} (${metric('serverKills')(column)})`),
    row('  failed KILLs', metric('killErrors')),
    row('  ER_NO_SUCH_THREAD', metric('noSuchThread')),
    row('app statements', metric('appStatements')),
    row('non-app statements / invocation (server Questions)', metric('nonAppPerInvocation', perInvocation)),
    row('  statements only, counted in the containers (no COM_QUIT)', metric('nonAppPerInvocationClient', perInvocation)),
    row('own connection closed', metric('closes')),
    row('reconnects', metric('reconnects')),
    row('budget grants (waited)', (column) => (column.metrics.budgetGrants ? `${metric('budgetGrants')(column)} (${metric('budgetWaits')(column)})` : '–')),
    row('budget timeouts', budgetOnly('budgetTimeouts')),
    row('hand-overs', budgetOnly('handOvers')),
    row('leases lapsed', budgetOnly('leaseLapses')),
    row('budget fallbacks', budgetOnly('budgetFallbacks')),
    row('budget in Redis, peaks: seats taken / capacity (lapsed), waiting', (column) =>
      column.metrics.budgetTakenPeak === undefined
        ? '–'
        : `${metric('budgetTakenPeak')(column)} / ${metric('budgetCapacity')(column)} (${metric('budgetLapsedPeak')(column)}), ${metric('budgetWaitingPeak')(column)}`,
    ),
    row(
      'wall time',
      metric('wallMs', (value) => `${(value / 1000).toFixed(1)} s`),
    ),
  ];
  if (!columns.some((column) => column.driver === SERVERLESS_MYSQL) || ratios.length === 0) return rows;
  for (const [name, label] of RATIO_ROWS) {
    rows.push(
      row(`${label} (median of runs)`, (column) => {
        const set = ratios.find((ratio) => ratio.driver === column.driver);
        if (set === undefined) return column.driver === SERVERLESS_MYSQL ? '1' : '–';
        const values = set[name];
        return values.length === 0 ? 'n/a' : median(values).toFixed(2);
      }),
    );
  }
  return rows;
}

export function formatTextTable(columns: readonly MedianColumn[], ratios: readonly RatioSet[]): string {
  const header: Row = ['', ...columns.map((column) => column.driver)];
  const rows = [header, ...tableRows(columns, ratios)];
  const widths = header.map((_, index) => Math.max(...rows.map((row) => (row[index] ?? '').length)));
  const line = (row: Row): string => row.map((cell, index) => (index === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[index] ?? 0))).join('   ');
  const rule = widths.map((width) => '─'.repeat(width)).join('───');
  return [line(header), rule, ...rows.slice(1).map(line)].join('\n');
}

export function formatMarkdownTable(columns: readonly MedianColumn[], ratios: readonly RatioSet[]): string {
  const header = ['', ...columns.map((column) => column.driver)];
  const rows = tableRows(columns, ratios).map((row) => row.map((cell, index) => (index === 0 ? cell.replace(/^ {2}/, '↳ ') : cell)));
  const line = (row: readonly string[]): string => `| ${row.join(' | ')} |`;
  return [line(header), line(header.map((_, index) => (index === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}
