/**
 * The burst benchmark: the same fleet of simulated Lambda containers driven through plain mysql2
 * (one connection per container, never closed), serverless-mysql 2.1.0 (defaults, end() after each
 * invocation), cachefront's connector (defaults, end() after each invocation) and cachefront with
 * the fleet budget (each container adds `budget: createRedisBudget({ redis })`, on the Redis of
 * CACHEFRONT_REDIS_URL, default redis://127.0.0.1:6379), against a throwaway MariaDB with
 * max_connections = 40 and a dedicated user. `--runs N` repeats the whole comparison N times,
 * rotating the drivers' order, and reports medians. `--scenario` picks a traffic shape:
 * burst (3 waves × 100 containers × 5 invocations), spike (1 × 300 × 2), steady (5 × 30 × 20).
 *
 *   pnpm bench:burst -- --runs 3 --scenario burst
 *   pnpm bench:burst -- --runs 3 --drivers serverless-mysql,cachefront --cachefront-options '{"backoffCapMs":100}'   # adds a tuned column
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { createRedisBudget } from '@cachefront/cache';
import {
  type AdminConfig,
  AdminSession,
  type AppDatabase,
  abortOnSignals,
  type BurstPlan,
  type BurstResult,
  cachefrontAdapter,
  createAppDatabase,
  type DriverAdapter,
  dropAppDatabase,
  flagsHelp,
  formatMarkdownTable,
  formatMs,
  formatTextTable,
  median,
  type NumberFlag,
  PLAN_FLAGS,
  parseFlags,
  plainMysql2Adapter,
  planDefaults,
  planFromFlags,
  progressPrinter,
  runBurst,
  runMain,
  totalInvocations,
} from '@cachefront/examples/connector-fleet';
import type { ConnectorOptions } from '@cachefront/mysql';
import { type MedianColumn, medianColumn } from './aggregate.js';
import { startAuxServer, stopAuxServer } from './aux-server.js';
import { serverlessMysqlAdapter } from './serverless-mysql-adapter.js';

const FLAGS = [
  { name: 'runs', description: 'repeat the whole comparison this many times and report medians', min: 1, max: 50, integer: true },
  ...PLAN_FLAGS,
  { name: 'max-connections', description: "the server's max_connections", min: 5, max: 10_000, integer: true },
  { name: 'port', description: 'port of the throwaway MariaDB', min: 1024, max: 65_535, integer: true },
] as const satisfies readonly NumberFlag[];
const STRING_FLAGS = ['cachefront-options', 'drivers', 'scenario'] as const;

/** The traffic shapes of issue 10's table; flags given after them still change single values. */
const SCENARIOS = {
  burst: { containers: 100, waves: 3, invocationsPerWave: 5 },
  spike: { containers: 300, waves: 1, invocationsPerWave: 2 },
  steady: { containers: 30, waves: 5, invocationsPerWave: 20 },
} as const satisfies Record<string, Partial<BurstPlan>>;
type Scenario = keyof typeof SCENARIOS;

const REDIS_URL = process.env['CACHEFRONT_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
let budgetRuns = 0;

const CACHEFRONT = 'cachefront';
const SERVERLESS_MYSQL = 'serverless-mysql';
const TUNED = 'cachefront (tuned)';
const BUDGET = 'cachefront + budget';

interface RunRecord {
  readonly run: number;
  readonly order: readonly string[];
  readonly results: readonly BurstResult[];
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const { help, numbers, strings } = parseFlags(argv, FLAGS, STRING_FLAGS);
  const scenario = strings.scenario as Scenario | undefined;
  if (scenario !== undefined && !(scenario in SCENARIOS)) throw new RangeError(`--scenario: choose from ${Object.keys(SCENARIOS).join(', ')}.`);
  const preset: Partial<BurstPlan> = scenario === undefined ? {} : SCENARIOS[scenario];
  const flagged = planFromFlags(numbers);
  const plan: BurstPlan = {
    ...flagged,
    containers: numbers.containers ?? preset.containers ?? flagged.containers,
    waves: numbers.waves ?? preset.waves ?? flagged.waves,
    invocationsPerWave: numbers.invocations ?? preset.invocationsPerWave ?? flagged.invocationsPerWave,
  };
  const runs = numbers.runs ?? 1;
  const maxConnections = numbers['max-connections'] ?? 40;
  const port = numbers.port ?? 3310;
  const tuned = parseConnectorOptions(strings['cachefront-options']);
  if (help) {
    const defaults = { runs, ...planDefaults(plan), 'max-connections': maxConnections, port };
    console.log(
      `Usage: pnpm bench:burst -- [flags]\n\n${flagsHelp(FLAGS, defaults)}\n  --scenario NAME             burst, spike or steady (the plan's shape; other flags still apply)\n  --cachefront-options JSON   also run a cachefront column with these createConnector options\n  --drivers LIST              comma-separated subset of mysql2,serverless-mysql,cachefront,cachefront + budget (default all)`,
    );
    return 0;
  }

  const available: ReadonlyArray<readonly [string, () => DriverAdapter]> = [
    ['mysql2', plainMysql2Adapter],
    [SERVERLESS_MYSQL, serverlessMysqlAdapter],
    [CACHEFRONT, () => cachefrontAdapter()],
    [BUDGET, budgetAdapter],
  ];
  const wanted = strings.drivers?.split(',').map((name) => name.trim());
  const unknown = wanted?.filter((name) => !available.some(([known]) => known === name)) ?? [];
  if (unknown.length > 0) throw new RangeError(`--drivers: unknown ${unknown.join(', ')}; choose from ${available.map(([name]) => name).join(', ')}.`);
  const drivers = available.filter(([name]) => wanted === undefined || wanted.includes(name)).map(([, make]) => make);
  if (tuned) drivers.push(() => cachefrontAdapter({ name: TUNED, connector: tuned }));

  const stop = abortOnSignals();

  const server: AdminConfig = { host: '127.0.0.1', port, user: 'root', password: '' };
  console.log(`Starting the throwaway MariaDB on ${server.host}:${port} (scripts/mariadb-aux.sh)…`);
  await startAuxServer(port);
  let admin: AdminSession | undefined;
  let database: AppDatabase | undefined;
  try {
    admin = await AdminSession.open(server);
    await admin.run('SET GLOBAL max_connections = ?', [maxConnections]);
    const [version] = await admin.rows<{ version: string }>('SELECT VERSION() AS version');
    database = await createAppDatabase(admin, server, { prefix: 'cfbench', maxUserConnections: undefined, rows: 1000 });
    console.log(
      `MariaDB ${version?.version ?? '?'}, max_connections = ${maxConnections} (this benchmark's root session holds 1 of them), user ${database.user} ` +
        `(no PROCESS privilege, no own limit).\nBurst: ${plan.containers} containers × ${plan.waves} waves × ${plan.invocationsPerWave} invocations ` +
        `(${totalInvocations(plan)} per driver), ${Math.round(plan.writeRatio * 100)}% also write, ~${Math.round(plan.expireRatio * 100)}% of containers ` +
        `dropped between waves, ${plan.waveGapMs} ms between waves, ${plan.invocationTimeoutMs} ms invocation timeout. ${runs} run(s).\n`,
    );

    const records: RunRecord[] = [];
    const progress = progressPrinter();
    for (let run = 1; run <= runs && !stop.signal.aborted; run += 1) {
      const order = rotate(drivers, run - 1).map((make) => make());
      const results: BurstResult[] = [];
      console.log(`Run ${run}/${runs}: ${order.map((adapter) => adapter.name).join(' → ')}`);
      for (const adapter of order) {
        if (stop.signal.aborted) break;
        const leftovers = await admin.killAllOf(database.user);
        if (leftovers > 0) console.log(`  killed ${leftovers} leftover connections before ${adapter.name}`);
        const result = await runBurst({
          adapter,
          database,
          plan,
          admin,
          connectionLimit: maxConnections,
          signal: stop.signal,
          onProgress: progress.update,
        });
        progress.finish();
        console.log(`  ${summaryLine(result)}`);
        results.push(result);
      }
      records.push({ run, order: order.map((adapter) => adapter.name), results });
    }
    if (records.length === 0) return 130;

    const columns = columnsByDriver(records);
    const ratios = p99Ratios(records, CACHEFRONT);
    console.log(`\nMedians of ${records.length} run(s):\n\n${formatTextTable(columns)}\n`);
    for (const line of goalLines(columns, ratios, maxConnections)) console.log(line);
    const budgetRatios = p99Ratios(records, BUDGET);
    const retryRatios = counterRatios(records, BUDGET, 'retries');
    for (const line of budgetGoalLines(columns, budgetRatios, retryRatios, scenario)) console.log(line);
    const tunedRatios = tuned ? p99Ratios(records, TUNED) : [];
    if (tuned)
      console.log(`  ${TUNED} p99 / serverless-mysql p99: median ${formatRatio(tunedRatios)} (runs: ${tunedRatios.map((r) => r.toFixed(2)).join(', ')})`);

    const command = `pnpm bench:burst${argv.length > 0 ? ` -- ${argv.map(shellQuote).join(' ')}` : ''}`;
    const file = await saveResults({
      command,
      plan,
      maxConnections,
      version: version?.version ?? '?',
      records,
      columns,
      ratios,
      tunedRatios,
      budgetRatios,
      retryRatios,
    });
    console.log(`\nSaved ${file} (.json and .md).`);
    return stop.signal.aborted ? 130 : 0;
  } finally {
    if (admin && database) await dropAppDatabase(admin, database).catch((error: unknown) => console.error('Could not drop the bench user:', error));
    await admin?.close();
    await stopAuxServer(port);
    console.log(`Stopped the MariaDB on ${port}.`);
    stop.release();
  }
}

/** cachefront with the fleet budget: each container opens its own budget client, on a budget name of this run's own. */
function budgetAdapter(): DriverAdapter {
  budgetRuns += 1;
  const name = `bench-${process.pid}-${budgetRuns}`;
  return cachefrontAdapter({ name: BUDGET, budget: () => createRedisBudget({ redis: REDIS_URL, name }) });
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function summaryLine(result: BurstResult): string {
  const failures = [...result.failures].map(([label, count]) => `${count} ${label}`).join(', ');
  return (
    `${result.driver.padEnd(18)} ok ${result.ok}/${result.invocations}${failures ? ` (failed: ${failures})` : ''}, ` +
    `p50 ${formatMs(result.latencyMs.p50)}, p99 ${formatMs(result.latencyMs.p99)}, peak ${result.peakConnections}/${result.connectionLimit}, ` +
    `left open ${result.leftOpen}, kills ${result.counters.kills ?? 0}, retries ${result.counters.retries ?? '–'}, ${(result.wallMs / 1000).toFixed(1)} s`
  );
}

/** Drivers in the order of the first run's rotation 0, each with the medians of its runs. */
function columnsByDriver(records: readonly RunRecord[]): MedianColumn[] {
  const byDriver = new Map<string, BurstResult[]>();
  for (const name of records[0]?.order ?? []) byDriver.set(name, []);
  for (const record of records) for (const result of record.results) byDriver.get(result.driver)?.push(result);
  return [...byDriver.values()].filter((results) => results.length > 0).map(medianColumn);
}

/** Per run: a driver's p99 divided by serverless-mysql's p99 on the same run. */
function p99Ratios(records: readonly RunRecord[], driver: string): number[] {
  return records.flatMap((record) => {
    const mine = record.results.find((result) => result.driver === driver);
    const peer = record.results.find((result) => result.driver === SERVERLESS_MYSQL);
    return mine && peer && peer.latencyMs.p99 > 0 ? [mine.latencyMs.p99 / peer.latencyMs.p99] : [];
  });
}

/** Per run: a driver's counter divided by serverless-mysql's on the same run (runs where serverless-mysql's is 0 are left out). */
function counterRatios(records: readonly RunRecord[], driver: string, counter: 'retries'): number[] {
  return records.flatMap((record) => {
    const mine = record.results.find((result) => result.driver === driver)?.counters[counter];
    const peer = record.results.find((result) => result.driver === SERVERLESS_MYSQL)?.counters[counter];
    return mine !== undefined && peer !== undefined && peer > 0 ? [mine / peer] : [];
  });
}

/** Issue 10's goals for the budget column: no failures, p99 ≤ 0.25× serverless-mysql's (≤ 1× in steady), refused connects ≤ 0.1×. */
function budgetGoalLines(
  columns: readonly MedianColumn[],
  ratios: readonly number[],
  retryRatios: readonly number[],
  scenario: Scenario | undefined,
): string[] {
  const budget = columns.find((column) => column.driver === BUDGET);
  if (!budget || ratios.length === 0) return [];
  const p99Goal = scenario === 'steady' ? 1 : 0.25;
  const p99 = median(ratios);
  const retries = retryRatios.length === 0 ? 0 : median(retryRatios);
  const check = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  return [
    `${BUDGET} goals:`,
    `  zero failures: ${check(budget.totalFailed === 0)} (${budget.totalFailed} failed invocations over ${budget.runs} runs)`,
    `  p99 at most ${p99Goal}× serverless-mysql's: ${check(p99 <= p99Goal)} (median of per-run ratios ${p99.toFixed(2)}; runs: ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
    `  connect retries at most 0.1× serverless-mysql's: ${check(retries <= 0.1)} (median of per-run ratios ${retries.toFixed(3)})`,
  ];
}

function formatRatio(ratios: readonly number[]): string {
  return ratios.length === 0 ? 'n/a' : median(ratios).toFixed(2);
}

function goalLines(columns: readonly MedianColumn[], ratios: readonly number[], limit: number): string[] {
  const cachefront = columns.find((column) => column.driver === CACHEFRONT);
  if (!cachefront) return [];
  const budget = Math.floor(limit * 0.8);
  const ratio = formatRatio(ratios);
  const check = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  return [
    'cachefront goals:',
    `  zero failures: ${check(cachefront.totalFailed === 0)} (${cachefront.totalFailed} failed invocations over ${cachefront.runs} runs)`,
    `  peak within the limit: ${check(cachefront.worstPeak <= limit)} (worst run ${cachefront.worstPeak} / ${limit}; connUtilization 0.8 of it is ${budget})`,
    `  p99 at most half of serverless-mysql's: ${check(ratios.length > 0 && Number(ratio) <= 0.5)} (cachefront p99 / serverless-mysql p99, median of per-run ratios ${ratio}; runs: ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
  ];
}

interface SavedResults {
  readonly command: string;
  readonly plan: BurstPlan;
  readonly maxConnections: number;
  readonly version: string;
  readonly records: readonly RunRecord[];
  readonly columns: readonly MedianColumn[];
  readonly ratios: readonly number[];
  readonly tunedRatios: readonly number[];
  readonly budgetRatios: readonly number[];
  readonly retryRatios: readonly number[];
}

/** Writes bench/results/burst-<time>.json (every run) and .md (the median table); returns the path stem. */
async function saveResults(saved: SavedResults): Promise<string> {
  const directory = new URL('../results/', import.meta.url);
  await mkdir(directory, { recursive: true });
  const stem = `burst-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const machine = `${cpus().length} cores, MariaDB ${saved.version}, Node ${process.versions.node}`;
  const json = JSON.stringify(saved, (_key, value: unknown) => (value instanceof Map ? Object.fromEntries(value) : value), 2);
  await writeFile(new URL(`${stem}.json`, directory), `${json}\n`);
  const markdown = [
    `Command: \`${saved.command}\``,
    `Machine: ${machine}; max_connections = ${saved.maxConnections}.`,
    '',
    `Medians of ${saved.records.length} run(s):`,
    '',
    formatMarkdownTable(saved.columns),
    '',
    `cachefront p99 / serverless-mysql p99 per run: ${saved.ratios.map((r) => r.toFixed(2)).join(', ')} (median ${formatRatio(saved.ratios)})`,
    ...(saved.budgetRatios.length > 0
      ? [
          `${BUDGET} p99 / serverless-mysql p99 per run: ${saved.budgetRatios.map((r) => r.toFixed(2)).join(', ')} (median ${formatRatio(saved.budgetRatios)})`,
          `${BUDGET} connect retries / serverless-mysql's per run: ${saved.retryRatios.map((r) => r.toFixed(3)).join(', ')} (median ${saved.retryRatios.length === 0 ? 'n/a' : median(saved.retryRatios).toFixed(3)})`,
        ]
      : []),
    '',
  ].join('\n');
  await writeFile(new URL(`${stem}.md`, directory), markdown);
  return `bench/results/${stem}`;
}

/** Options for an extra cachefront column; createConnector itself checks every value. */
function parseConnectorOptions(raw: string | undefined): Omit<ConnectorOptions, 'connection'> | undefined {
  if (raw === undefined) return undefined;
  const parsed: unknown = JSON.parse(raw);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || 'connection' in parsed) {
    throw new TypeError('--cachefront-options must be a JSON object of createConnector options other than `connection`.');
  }
  return parsed as Omit<ConnectorOptions, 'connection'>;
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

runMain(main);
