/**
 * serverless-mysql's own published benchmark, replayed: a closed loop of N workers (one client
 * instance each, as N Lambda containers), each calling `SELECT SLEEP(0.02)` then `end()` as fast
 * as it can, at concurrency 5, 10, 20 and 30, against a throwaway MariaDB with max_connections =
 * 30. Per level the clients run one after another (serverless-mysql 2.1.0 with its defaults,
 * cachefront's connector with its defaults, and cachefront with the fleet budget:
 * `budget: createRedisBudget({ redis })` per worker, on CACHEFRONT_REDIS_URL or
 * redis://127.0.0.1:6379), the order rotated per run; `--runs N` reports medians.
 *
 *   pnpm bench:replay -- --runs 3
 *   pnpm bench:replay -- --runs 1 --seconds 5 --levels 20,30
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { createRedisBudget, type RedisBudget } from '@cachefront/cache';
import {
  type AdminConfig,
  AdminSession,
  type AppDatabase,
  abortOnSignals,
  createAppDatabase,
  dropAppDatabase,
  errorLabel,
  median,
  percentile,
  runMain,
} from '@cachefront/examples/connector-fleet';
import { createConnector, sql } from '@cachefront/mysql';
import serverlessMysql from 'serverless-mysql';
import { startAuxServer, stopAuxServer } from '../burst/aux-server.js';

const SERVERLESS_MYSQL = 'serverless-mysql';
const CACHEFRONT = 'cachefront';
const BUDGET = 'cachefront + budget';
const DRIVERS = [SERVERLESS_MYSQL, CACHEFRONT, BUDGET] as const;
type Driver = (typeof DRIVERS)[number];

const REDIS_URL = process.env['CACHEFRONT_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
/** The platform's timeout of one call, as the deadline the connector is given. */
const CALL_TIMEOUT_MS = 6000;

/** One worker's client: a call is the statement then `end()`. */
interface Worker {
  call(): Promise<void>;
  retries(): number;
  connects(): number;
  dispose(): Promise<void>;
}

interface LevelResult {
  readonly driver: Driver;
  readonly concurrency: number;
  readonly calls: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly retries: number;
  readonly connects: number;
  /** The server's Connection_errors_max_connections delta: connects it refused. */
  readonly refused: number;
}

let budgetNames = 0;

function makeWorker(driver: Driver, database: AppDatabase): Worker {
  const connection = { host: database.host, port: database.port, user: database.user, password: database.password, database: database.database };
  if (driver === SERVERLESS_MYSQL) {
    let retries = 0;
    let connects = 0;
    const db = serverlessMysql({ config: connection, onRetry: () => (retries += 1), onConnect: () => (connects += 1) });
    return {
      async call() {
        try {
          await db.query('SELECT SLEEP(0.02) AS s');
        } finally {
          await db.end();
        }
      },
      retries: () => retries,
      connects: () => connects,
      async dispose() {
        (db.getClient() as { destroy(): void } | null)?.destroy();
      },
    };
  }
  let budget: RedisBudget | undefined;
  if (driver === BUDGET) {
    budget = createRedisBudget({ redis: REDIS_URL, name: `replay-${process.pid}-${budgetNames}` });
  }
  const db = createConnector({ connection, budget });
  return {
    async call() {
      db.setDeadline(Date.now() + CALL_TIMEOUT_MS);
      try {
        await db.query(sql`SELECT SLEEP(${0.02}) AS s`);
      } finally {
        await db.end();
      }
    },
    retries: () => db.stats().retries,
    connects: () => db.stats().connects,
    async dispose() {
      await db.quit();
      await budget?.close();
    },
  };
}

async function runLevel(driver: Driver, concurrency: number, seconds: number, database: AppDatabase, admin: AdminSession): Promise<LevelResult> {
  if (driver === BUDGET) budgetNames += 1;
  const workers = Array.from({ length: concurrency }, () => makeWorker(driver, database));
  const refusedBefore = await refusedConnects(admin);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let failed = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    workers.map(async (worker) => {
      while (performance.now() < until) {
        const t = performance.now();
        try {
          await worker.call();
          latencies.push(performance.now() - t);
        } catch (error) {
          failed += 1;
          const label = errorLabel(error);
          failures[label] = (failures[label] ?? 0) + 1;
        }
      }
    }),
  );
  const wallMs = performance.now() - started;
  const refused = (await refusedConnects(admin)) - refusedBefore;
  const retries = workers.reduce((n, w) => n + w.retries(), 0);
  const connects = workers.reduce((n, w) => n + w.connects(), 0);
  await Promise.all(workers.map((w) => w.dispose().catch(() => undefined)));
  await admin.killAllOf(database.user);
  latencies.sort((a, b) => a - b);
  return {
    driver,
    concurrency,
    calls: latencies.length,
    failed,
    failures,
    throughput: latencies.length / (wallMs / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    retries,
    connects,
    refused,
  };
}

async function refusedConnects(admin: AdminSession): Promise<number> {
  const [row] = await admin.rows<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Connection_errors_max_connections'");
  return Number(row?.Value ?? 0);
}

function flag(argv: readonly string[], name: string): string | undefined {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : undefined;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const runs = Number(flag(argv, 'runs') ?? 1);
  const seconds = Number(flag(argv, 'seconds') ?? 10);
  const levels = (flag(argv, 'levels') ?? '5,10,20,30').split(',').map(Number);
  const maxConnections = Number(flag(argv, 'max-connections') ?? 30);
  const port = Number(flag(argv, 'port') ?? 3311);
  for (const [name, value] of [
    ['runs', runs],
    ['seconds', seconds],
    ['max-connections', maxConnections],
    ['port', port],
    ...levels.map((level) => ['levels', level] as const),
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`--${name} must be a positive whole number; got ${value}.`);
  }
  const stop = abortOnSignals();
  const server: AdminConfig = { host: '127.0.0.1', port, user: 'root', password: '' };
  console.log(`Starting the throwaway MariaDB on ${server.host}:${port}…`);
  await startAuxServer(port);
  let admin: AdminSession | undefined;
  let database: AppDatabase | undefined;
  const results: LevelResult[] = [];
  try {
    admin = await AdminSession.open(server);
    await admin.run('SET GLOBAL max_connections = ?', [maxConnections]);
    const [version] = await admin.rows<{ version: string }>('SELECT VERSION() AS version');
    database = await createAppDatabase(admin, server, { prefix: 'cfreplay', maxUserConnections: undefined, rows: 10 });
    console.log(
      `MariaDB ${version?.version ?? '?'}, max_connections = ${maxConnections} (this benchmark's root session holds 1), ${seconds} s per driver and level, ${runs} run(s).\n`,
    );
    for (let run = 1; run <= runs && !stop.signal.aborted; run += 1) {
      for (const concurrency of levels) {
        const order = DRIVERS.map((_, i) => DRIVERS[(i + run - 1) % DRIVERS.length] as Driver);
        for (const driver of order) {
          if (stop.signal.aborted) break;
          const result = await runLevel(driver, concurrency, seconds, database, admin);
          results.push(result);
          console.log(
            `run ${run} c=${String(concurrency).padStart(2)} ${driver.padEnd(20)} ${result.throughput.toFixed(0).padStart(5)} calls/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, ` +
              `failed ${result.failed}${result.failed > 0 ? ` ${JSON.stringify(result.failures)}` : ''}, retries ${result.retries}, refused ${result.refused}, connects ${result.connects}`,
          );
        }
      }
    }
    const table = summarize(results, levels);
    console.log(`\nMedians of ${runs} run(s):\n\n${table}\n`);
    for (const line of goalLines(results)) console.log(line);
    const command = `pnpm bench:replay${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
    const directory = new URL('../results/', import.meta.url);
    await mkdir(directory, { recursive: true });
    const stem = `replay-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await writeFile(new URL(`${stem}.json`, directory), `${JSON.stringify({ command, maxConnections, seconds, runs, results }, null, 2)}\n`);
    await writeFile(
      new URL(`${stem}.md`, directory),
      [
        `Command: \`${command}\``,
        `Machine: ${cpus().length} cores, MariaDB ${version?.version ?? '?'}, Node ${process.versions.node}; max_connections = ${maxConnections}.`,
        '',
        table,
        '',
        ...goalLines(results),
        '',
      ].join('\n'),
    );
    console.log(`Saved bench/results/${stem} (.json and .md).`);
    return stop.signal.aborted ? 130 : 0;
  } finally {
    if (admin && database) await dropAppDatabase(admin, database).catch((error: unknown) => console.error('Could not drop the bench user:', error));
    await admin?.close();
    await stopAuxServer(port);
    stop.release();
  }
}

function medianOf(results: readonly LevelResult[], driver: Driver, concurrency: number, pick: (r: LevelResult) => number): number | undefined {
  const picked = results.filter((r) => r.driver === driver && r.concurrency === concurrency).map(pick);
  return picked.length === 0 ? undefined : median(picked);
}

function summarize(results: readonly LevelResult[], levels: readonly number[]): string {
  const header = `| concurrency | client | calls/s | p50 ms | p99 ms | failed | retries | refused | connects/call |`;
  const rule = '|---|---|---|---|---|---|---|---|---|';
  const rows = levels.flatMap((concurrency) =>
    DRIVERS.map((driver) => {
      const m = (pick: (r: LevelResult) => number, digits = 0) => medianOf(results, driver, concurrency, pick)?.toFixed(digits) ?? '–';
      return `| ${concurrency} | ${driver} | ${m((r) => r.throughput)} | ${m((r) => r.p50, 1)} | ${m((r) => r.p99, 1)} | ${m((r) => r.failed)} | ${m((r) => r.retries)} | ${m((r) => r.refused)} | ${m((r) => r.connects / Math.max(1, r.calls), 3)} |`;
    }),
  );
  return [header, rule, ...rows].join('\n');
}

/** Issue 10's goals: at 30, ≥ 2× serverless-mysql's throughput with p50 ≤ 30 ms; at 20, p99 ≤ serverless-mysql's; no failures. */
function goalLines(results: readonly LevelResult[]): string[] {
  const at = (driver: Driver, concurrency: number, pick: (r: LevelResult) => number) => medianOf(results, driver, concurrency, pick);
  const check = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'met' : 'MISSED');
  const t30 = at(BUDGET, 30, (r) => r.throughput);
  const s30 = at(SERVERLESS_MYSQL, 30, (r) => r.throughput);
  const p50 = at(BUDGET, 30, (r) => r.p50);
  const p99b = at(BUDGET, 20, (r) => r.p99);
  const p99s = at(SERVERLESS_MYSQL, 20, (r) => r.p99);
  const failed = results.filter((r) => r.driver === BUDGET).reduce((n, r) => n + r.failed, 0);
  const ratio = t30 !== undefined && s30 ? t30 / s30 : undefined;
  return [
    `${BUDGET} goals:`,
    `  at 30, throughput ≥ 2× serverless-mysql's: ${check(ratio === undefined ? undefined : ratio >= 2)} (${ratio?.toFixed(2) ?? 'n/a'}×)`,
    `  at 30, p50 ≤ 30 ms: ${check(p50 === undefined ? undefined : p50 <= 30)} (${p50?.toFixed(1) ?? 'n/a'} ms)`,
    `  at 20, p99 ≤ serverless-mysql's: ${check(p99b === undefined || p99s === undefined ? undefined : p99b <= p99s)} (${p99b?.toFixed(1) ?? 'n/a'} vs ${p99s?.toFixed(1) ?? 'n/a'} ms)`,
    `  no failures at any level: ${check(failed === 0)} (${failed} failed calls)`,
  ];
}

runMain(main);
