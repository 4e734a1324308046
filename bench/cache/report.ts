/** Medians over runs, and the Markdown tables the benchmark prints. */
import { CONTENDER_LABELS, type ContenderName } from './contenders.js';
import { BATCH_LABELS, type GetManyResult } from './get-many.js';
import type { HitPathResult } from './hit-path.js';
import { median } from './measure.js';
import type { RefreshResult } from './refresh-ahead.js';
import type { StampedeResult } from './stampede.js';

export interface RunRecord {
  readonly run: number;
  readonly prefix: string;
  readonly order: readonly ContenderName[];
  readonly hitPath: readonly HitPathResult[];
  readonly getMany: readonly GetManyResult[];
  readonly stampede: readonly StampedeResult[];
  readonly refresh: readonly RefreshResult[];
  /** Other benchmarks seen while this run measured (a disturbed run is not reported). */
  readonly disturbedBy: readonly string[];
}

const BASELINE: ContenderName = 'ioredis';

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
const ms = (n: number) => (n < 1 ? fmt(n, 3) : fmt(n, 2));

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const list = out.get(key(item));
    if (list) list.push(item);
    else out.set(key(item), [item]);
  }
  return out;
}

/** Per-command medians of per-run counts; commands seen in only some runs count 0 in the others. */
function medianCommands(records: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const commands = new Set(records.flatMap((r) => Object.keys(r)));
  return Object.fromEntries([...commands].sort().map((command) => [command, median(records.map((r) => r[command] ?? 0))]));
}

const describeCommands = (commands: Readonly<Record<string, number>>) =>
  Object.entries(commands)
    .filter(([, n]) => n >= 0.005)
    .map(([command, n]) => `${fmt(n, n % 1 === 0 ? 0 : 2)} ${command.toUpperCase()}`)
    .join(' + ') || '—';

const total = (commands: Readonly<Record<string, number>>) => Object.values(commands).reduce((sum, n) => sum + n, 0);

const IN_FLIGHT = ['16', '64', '256'] as const;

/**
 * The hit path: one after another (mean and p99 time per hit), and 16 / 64 / 256 in flight
 * (throughput), each as a ratio to raw ioredis in the same run, then the median over runs; and the
 * client CPU per hit at 64 in flight.
 */
export function hitPathTable(runs: readonly RunRecord[]): string {
  const lines = [
    '| client | sequential mean µs | p99 µs | mean vs raw | p99 vs raw | ops/s at 16 / 64 / 256 in flight | throughput vs raw at 16 / 64 / 256 | CPU µs per hit (64) | CPU vs raw | loader calls |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const byName = groupBy(
    runs.flatMap((r) => r.hitPath),
    (h) => h.name,
  );
  // Ratios are taken within a run (mine ÷ raw's), then the median over runs.
  const ratio = (name: ContenderName, pick: (h: HitPathResult) => number) =>
    median(
      runs.flatMap((r) => {
        const base = r.hitPath.find((h) => h.name === BASELINE);
        const mine = r.hitPath.find((h) => h.name === name);
        return base && mine ? [pick(mine) / pick(base)] : [];
      }),
    );
  const at = (h: HitPathResult, inFlight: string) => h.concurrent[inFlight];
  for (const [name, results] of byName) {
    const of = (pick: (h: HitPathResult) => number) => median(results.map(pick));
    const meanUs = (h: HitPathResult) => 1e6 / h.sequential.opsPerSec;
    const cells = [
      CONTENDER_LABELS[name],
      fmt(of(meanUs), 1),
      fmt(
        of((h) => h.sequential.p99Ms * 1000),
        1,
      ),
      `${fmt(ratio(name, meanUs), 2)}×`,
      `${fmt(
        ratio(name, (h) => h.sequential.p99Ms),
        2,
      )}×`,
      IN_FLIGHT.map((n) => fmt(of((h) => at(h, n)?.opsPerSec ?? Number.NaN))).join(' / '),
      IN_FLIGHT.map(
        (n) =>
          `${fmt(
            ratio(name, (h) => at(h, n)?.opsPerSec ?? Number.NaN),
            2,
          )}×`,
      ).join(' / '),
      fmt(
        of((h) => at(h, '64')?.cpuUsPerOp ?? Number.NaN),
        1,
      ),
      `${fmt(
        ratio(name, (h) => at(h, '64')?.cpuUsPerOp ?? Number.NaN),
        2,
      )}×`,
      String(Math.max(...results.map((h) => h.loadsWhileMeasuring))),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export function roundTripTable(runs: readonly RunRecord[]): string {
  const lines = ['| client | commands sent per hit | of which | run inside Lua |', '|---|---:|---|---|'];
  for (const [name, results] of groupBy(
    runs.flatMap((r) => r.hitPath),
    (h) => h.name,
  )) {
    const commands = medianCommands(results.map((h) => h.commandsPerHit.client));
    const lua = medianCommands(results.map((h) => h.commandsPerHit.lua));
    lines.push(`| ${CONTENDER_LABELS[name]} | ${fmt(total(commands), 2)} | ${describeCommands(commands)} | ${describeCommands(lua)} |`);
  }
  return lines.join('\n');
}

export function getManyTable(runs: readonly RunRecord[]): string {
  const lines = [
    '| approach | ms per batch (median) | p99 ms | loader calls per batch | rows loaded per batch | commands sent per batch | run inside Lua |',
    '|---|---:|---:|---:|---:|---|---|',
  ];
  for (const [name, results] of groupBy(
    runs.flatMap((r) => r.getMany),
    (g) => g.name,
  )) {
    const of = (pick: (g: GetManyResult) => number) => median(results.map(pick));
    const commands = medianCommands(results.map((g) => g.commandsPerBatch.client));
    const lua = medianCommands(results.map((g) => g.commandsPerBatch.lua));
    const cells = [
      BATCH_LABELS[name],
      ms(of((g) => g.medianBatchMs)),
      ms(of((g) => g.p99BatchMs)),
      fmt(
        of((g) => g.loaderCallsPerBatch),
        1,
      ),
      fmt(
        of((g) => g.rowsLoadedPerBatch),
        1,
      ),
      `${fmt(total(commands), 1)}: ${describeCommands(commands)}`,
      describeCommands(lua),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export function stampedeTable(runs: readonly RunRecord[]): string {
  const lines = [
    '| library | loader calls (median) | per run | slowest process ms (median) | failed requests | how cachefront served them |',
    '|---|---:|---|---:|---:|---|',
  ];
  for (const [library, results] of groupBy(
    runs.flatMap((r) => r.stampede),
    (s) => s.library,
  )) {
    const statuses = medianCommands(results.map((s) => s.statuses));
    lines.push(
      `| ${library} | ${fmt(median(results.map((s) => s.loaderCalls)), 1)} | ${results.map((s) => s.loaderCalls).join(', ')} | ${fmt(median(results.map((s) => s.slowestProcessMs)), 0)} | ${results.reduce((sum, s) => sum + s.failed, 0)} | ${
        Object.keys(statuses).length > 0
          ? Object.entries(statuses)
              .map(([status, n]) => `${fmt(n)} ${status}`)
              .join(', ')
          : '—'
      } |`,
    );
  }
  return lines.join('\n');
}

export function refreshTable(runs: readonly RunRecord[]): string {
  const lines = [
    '| refresh-ahead | reads | reads that waited for a loader | read p50 ms | p99 ms | p99.9 ms | invocation p99 ms (read + idle()) | loader calls | early reloads |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [variant, results] of groupBy(
    runs.flatMap((r) => r.refresh),
    (r) => r.variant,
  )) {
    const of = (pick: (r: RefreshResult) => number) => median(results.map(pick));
    lines.push(
      `| ${variant} | ${fmt(of((r) => r.reads))} | ${fmt(of((r) => r.loaderWaitShare) * 100, 2)}% | ${ms(of((r) => r.p50Ms))} | ${ms(of((r) => r.p99Ms))} | ${ms(of((r) => r.p999Ms))} | ${ms(of((r) => r.invocationP99Ms))} | ${fmt(of((r) => r.loaderCalls))} | ${fmt(of((r) => r.refreshes))} |`,
    );
  }
  return lines.join('\n');
}
