/**
 * The fleet benchmark: Lambda containers as real processes. Each container is a forked Node process
 * (fleet/container.ts, tsx with the `@cachefront/source` condition) holding one database client in
 * module scope; an event goes to an idle warm container if there is one, else a new process is
 * forked (a cold start). Between invocations every process is frozen with SIGSTOP and thawed with
 * SIGCONT; an expired container stays frozen with its sockets open (no FIN: a zombie to the
 * server) until the driver's run ends. Drivers: serverless-mysql 2.1.0 (defaults, end() after each
 * invocation), cachefront's connector (defaults, setDeadline, end() after each invocation), and the
 * connector with the fleet budget in Redis (`createRedisBudget`, defaults, a budget name per run).
 * Against a throwaway MariaDB (max_connections = 40) and a dedicated user without PROCESS.
 *
 * Cold starts: a tsx process takes ~0.4 s of CPU to start, so forking 120 of them on a wave's
 * arrival turns a 2-core machine into a CPU storm in which cold starts wait for CPU, not for the
 * database. By default the cold processes are therefore forked before the measured window
 * (`--prefork`, an estimate of what the traffic needs), left to settle, and frozen; a cold event
 * thaws one and waits as long as its init took. `--prefork 0` forks each cold start on arrival.
 *
 *   waves:   4 waves of 120 events, each wave's events arriving over 100 ms, 2 s apart; ~30% of
 *            the idle containers expire between waves.
 *   trickle: 30 events/s for 30 s; every second each idle container expires with probability 0.2.
 *
 * Measured per driver and scenario: failures by code, handler and end-to-end p50/p99, the server's
 * refusals (Connection_errors_max_connections), client retries, ER_NO_SUCH_THREAD, connects and
 * non-application statements (server Questions minus the handlers' and the orchestrator's own)
 * per invocation (MariaDB counts a COM_QUIT as a Question: a connection closed with end() adds one;
 * the row below it counts only the statements the containers sent), the user's peak connections,
 * and for the budget its seats in Redis. `--runs N` repeats everything, rotating the drivers'
 * order, and reports medians. About 13 minutes per run on 2 cores, most of it forking the pools.
 *
 *   pnpm bench:fleet -- --runs 3
 *   pnpm bench:fleet -- --runs 1 --waves 2 --wave-events 30 --trickle-seconds 10   # a quick check, ~4 min
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { createRedisBudget } from '@cachefront/cache';
import {
  type AdminConfig,
  AdminSession,
  type AppDatabase,
  abortOnSignals,
  ConnectionMonitor,
  createAppDatabase,
  dropAppDatabase,
  flagsHelp,
  formatMs,
  type NumberFlag,
  parseFlags,
  seededRandom,
  sleep,
  summarizeLatency,
} from '@cachefront/examples/connector-fleet';
import { Redis } from 'ioredis';
import { startAuxServer, stopAuxServer } from '../burst/aux-server.js';
import { waitForQuietMachine } from '../cache/quiet-machine.js';
import { Fleet } from './platform.js';
import { CACHEFRONT_BUDGET, FLEET_DRIVERS, type FleetDriver } from './protocol.js';
import { type FleetResult, formatMarkdownTable, formatTextTable, type MedianColumn, medianColumns, type RatioSet, ratiosVsServerlessMysql } from './report.js';
import { plannedEvents, preforkEstimate, runTrickle, runWaves, SCENARIOS, type Scenario, type ScenarioPlans } from './scenarios.js';

const FLAGS = [
  { name: 'runs', description: 'repeat everything this many times and report medians', min: 1, max: 50, integer: true },
  { name: 'waves', description: 'waves: number of waves', min: 1, max: 20, integer: true },
  { name: 'wave-events', description: 'waves: events per wave', min: 1, max: 1000, integer: true },
  { name: 'wave-spread-ms', description: "waves: a wave's events arrive over this window", min: 0, max: 60_000, integer: true },
  { name: 'wave-gap-ms', description: 'waves: quiet time between waves', min: 0, max: 600_000, integer: true },
  { name: 'wave-expire', description: 'waves: share of idle containers expiring between waves', min: 0, max: 1, integer: false },
  { name: 'trickle-rate', description: 'trickle: events per second', min: 1, max: 1000, integer: false },
  { name: 'trickle-seconds', description: 'trickle: duration in seconds', min: 1, max: 3600, integer: false },
  { name: 'trickle-expire', description: 'trickle: per second, probability that an idle container expires', min: 0, max: 1, integer: false },
  { name: 'deadline-ms', description: 'the invocation timeout (Lambda timeout)', min: 100, max: 900_000, integer: true },
  { name: 'init-timeout-ms', description: 'longest a cold start may take (fork to ready) before the event fails', min: 1000, max: 600_000, integer: true },
  { name: 'write-ratio', description: 'share of invocations that also write', min: 0, max: 1, integer: false },
  { name: 'max-connections', description: "the server's max_connections", min: 5, max: 10_000, integer: true },
  { name: 'port', description: 'port of the throwaway MariaDB', min: 1024, max: 65_535, integer: true },
  { name: 'sample-ms', description: "how often the user's connections are counted", min: 5, max: 1000, integer: true },
  { name: 'seed', description: 'seed of the traffic (arrivals, rows, expiry)', min: 0, max: 2 ** 31, integer: true },
  {
    name: 'prefork',
    description:
      'processes forked before the measured window, per driver and scenario; 0 forks each cold start on arrival; – is an estimate of the cold starts the traffic needs',
    min: 0,
    max: 5000,
    integer: true,
  },
  { name: 'wait-minutes', description: 'longest wait for other benchmarks to finish before starting', min: 0, max: 120, integer: false },
] as const satisfies readonly NumberFlag[];
const STRING_FLAGS = ['scenario', 'drivers', 'redis'] as const;

const STATUS_SQL = "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Connection_errors_max_connections', 'Connections', 'Com_kill')";
const ROWS = 1000;

interface Settings {
  readonly plans: ScenarioPlans;
  readonly deadlineMs: number;
  readonly initTimeoutMs: number;
  readonly writeRatio: number;
  readonly maxConnections: number;
  readonly sampleMs: number;
  readonly seed: number;
  readonly redisUrl: string;
  /** undefined: preforkEstimate() of each scenario. */
  readonly prefork: number | undefined;
}

interface Context {
  readonly admin: AdminSession;
  readonly database: AppDatabase;
  readonly redis: Redis | undefined;
  readonly settings: Settings;
  readonly runId: string;
  /** Questions one status snapshot adds (measured at the start; 1 on MariaDB). */
  readonly snapshotStatements: number;
  readonly signal: AbortSignal;
}

interface RunRecord {
  readonly run: number;
  readonly order: readonly string[];
  readonly results: FleetResult[];
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const { help, numbers, strings } = parseFlags(argv, FLAGS, STRING_FLAGS);
  const { REDIS_URL } = process.env;
  const runs = numbers.runs ?? 1;
  const port = numbers.port ?? 3312;
  const waitMinutes = numbers['wait-minutes'] ?? 10;
  const settings: Settings = {
    plans: {
      waves: {
        waves: numbers.waves ?? 4,
        events: numbers['wave-events'] ?? 120,
        spreadMs: numbers['wave-spread-ms'] ?? 100,
        gapMs: numbers['wave-gap-ms'] ?? 2000,
        expire: numbers['wave-expire'] ?? 0.3,
      },
      trickle: { rate: numbers['trickle-rate'] ?? 30, seconds: numbers['trickle-seconds'] ?? 30, expirePerSecond: numbers['trickle-expire'] ?? 0.2 },
    },
    deadlineMs: numbers['deadline-ms'] ?? 10_000,
    initTimeoutMs: numbers['init-timeout-ms'] ?? 120_000,
    writeRatio: numbers['write-ratio'] ?? 0.2,
    maxConnections: numbers['max-connections'] ?? 40,
    sampleMs: numbers['sample-ms'] ?? 20,
    seed: numbers.seed ?? 20_240_601,
    redisUrl: strings.redis ?? REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefork: numbers.prefork,
  };
  if (help) {
    const { waves, trickle } = settings.plans;
    const defaults = {
      runs,
      waves: waves.waves,
      'wave-events': waves.events,
      'wave-spread-ms': waves.spreadMs,
      'wave-gap-ms': waves.gapMs,
      'wave-expire': waves.expire,
      'trickle-rate': trickle.rate,
      'trickle-seconds': trickle.seconds,
      'trickle-expire': trickle.expirePerSecond,
      'deadline-ms': settings.deadlineMs,
      'init-timeout-ms': settings.initTimeoutMs,
      'write-ratio': settings.writeRatio,
      'max-connections': settings.maxConnections,
      port,
      'sample-ms': settings.sampleMs,
      seed: settings.seed,
      'wait-minutes': waitMinutes,
    };
    console.log(
      `Usage: pnpm bench:fleet -- [flags]\n\n${flagsHelp(FLAGS, defaults)}\n` +
        '  --scenario waves|trickle|both   (default both)\n' +
        `  --drivers LIST                  comma-separated subset of ${FLEET_DRIVERS.map((name) => name.replace(/\s+/g, '')).join(',')} (default all)\n` +
        "  --redis URL                     the fleet budget's Redis (default $REDIS_URL or redis://127.0.0.1:6379)",
    );
    return 0;
  }
  const scenarios = parseScenarios(strings.scenario);
  const drivers = parseDrivers(strings.drivers);
  // pnpm passes its `--` through; the command printed is the one to type.
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const command = `pnpm bench:fleet${args.length > 0 ? ` -- ${args.map(shellQuote).join(' ')}` : ''}`;
  console.log(`Command: ${command}`);

  if (waitMinutes > 0) await waitForQuietMachine(waitMinutes * 60_000);
  const stop = abortOnSignals();
  // Every pending arrival and sleep listens to it.
  setMaxListeners(0, stop.signal);
  const server: AdminConfig = { host: '127.0.0.1', port, user: 'root', password: '' };
  console.log(`Starting the throwaway MariaDB on ${server.host}:${port} (scripts/mariadb-aux.sh)…`);
  await startAuxServer(port);
  let admin: AdminSession | undefined;
  let database: AppDatabase | undefined;
  let redis: Redis | undefined;
  try {
    admin = await AdminSession.open(server);
    await admin.run('SET GLOBAL max_connections = ?', [settings.maxConnections]);
    const [version] = await admin.rows<{ version: string }>('SELECT VERSION() AS version');
    database = await createAppDatabase(admin, server, { prefix: 'cffleet', maxUserConnections: undefined, rows: ROWS });
    if (drivers.includes(CACHEFRONT_BUDGET)) {
      redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
      redis.on('error', () => {});
      await redis.connect();
      await redis.ping();
    }
    const snapshotStatements = await measureSnapshotCost(admin);
    const runId = `cfbench-fleet-${randomBytes(4).toString('hex')}`;
    const { waves, trickle } = settings.plans;
    console.log(
      `MariaDB ${version?.version ?? '?'}, max_connections = ${settings.maxConnections} (the orchestrator's root session holds 1 of them), user ${database.user} (no PROCESS privilege, no own limit).\n` +
        `waves: ${waves.waves} × ${waves.events} events over ${waves.spreadMs} ms, ${waves.gapMs} ms apart, ${Math.round(waves.expire * 100)}% of idle containers expire between waves.\n` +
        `trickle: ${trickle.rate} events/s for ${trickle.seconds} s, each idle container expires with p = ${trickle.expirePerSecond} per second.\n` +
        `Deadline ${settings.deadlineMs} ms, ${Math.round(settings.writeRatio * 100)}% also write, connections sampled every ${settings.sampleMs} ms, ` +
        `a status snapshot costs ${snapshotStatements} Questions. Budget names ${runId}-r<run>-<scenario>. ${runs} run(s), scenarios ${scenarios.join(', ')}.\n`,
    );

    const context: Context = { admin, database, redis, settings, runId, snapshotStatements, signal: stop.signal };
    const records: RunRecord[] = [];
    for (let run = 1; run <= runs && !stop.signal.aborted; run += 1) {
      const order = rotate(drivers, run - 1);
      console.log(`Run ${run}/${runs}: ${order.join(' → ')}`);
      const record: RunRecord = { run, order, results: [] };
      records.push(record);
      for (const scenario of scenarios) {
        for (const driver of order) {
          if (stop.signal.aborted) break;
          const result = await measure(context, driver, scenario, run);
          console.log(`  ${summaryLine(result)}`);
          record.results.push(result);
        }
      }
    }
    if (records.length === 0) return 130;

    const tables: ScenarioTable[] = scenarios.map((scenario) => {
      const perRun = records.map((record) => record.results.filter((result) => result.scenario === scenario));
      const columns = orderColumns(medianColumns(perRun.flat()), drivers);
      return { scenario, columns, ratios: ratiosVsServerlessMysql(perRun, drivers) };
    });
    for (const table of tables) {
      console.log(`\n${scenarioTitle(table.scenario, settings)}, medians of ${records.length} run(s):\n\n${formatTextTable(table.columns, table.ratios)}`);
    }
    const file = await saveResults({ command, settings, version: version?.version ?? '?', records, tables });
    console.log(`\nCommand: ${command}\nSaved ${file} (.json and .md).`);
    return stop.signal.aborted ? 130 : 0;
  } finally {
    if (admin && database) await dropAppDatabase(admin, database).catch((error: unknown) => console.error('Could not drop the bench user:', error));
    await admin?.close();
    redis?.disconnect();
    await stopAuxServer(port);
    console.log(`Stopped the MariaDB on ${port}.`);
    stop.release();
  }
}

/** One driver through one scenario: a fresh fleet, the server's counters before and after, then every process killed. */
async function measure(context: Context, driver: FleetDriver, scenario: Scenario, run: number): Promise<FleetResult> {
  const { admin, database, settings, signal } = context;
  const leftovers = await admin.killAllOf(database.user);
  if (leftovers > 0) console.log(`  killed ${leftovers} leftover connections before ${driver}`);
  const budgetName = `${context.runId}-r${run}-${scenario}`;
  const seed = settings.seed + run * 1000 + SCENARIOS.indexOf(scenario) * 100;
  const fleet = new Fleet({
    task: { driver, database, redisUrl: settings.redisUrl, budgetName },
    deadlineMs: settings.deadlineMs,
    initTimeoutMs: settings.initTimeoutMs,
    writeRatio: settings.writeRatio,
    random: seededRandom(seed + 1),
  });
  const random = { arrivals: seededRandom(seed + 2), expiry: seededRandom(seed + 3) };
  const monitor = new ConnectionMonitor(admin, database.user, settings.sampleMs);
  const budgetState = driver === CACHEFRONT_BUDGET && context.redis ? new BudgetSampler(context.redis, budgetName) : undefined;
  const total = plannedEvents(scenario, settings.plans);
  const progress = progressTicker(() => {
    const processes = fleet.containers.filter((container) => container.alive).length;
    return `  ${driver.padEnd(20)} ${scenario.padEnd(8)} ${String(fleet.records.length).padStart(5)}/${total} done, ${String(fleet.inFlight).padStart(3)} in flight, failed ${fleet.failed}, processes ${processes} (expired ${fleet.expired}, spares ${fleet.spares}), connections ${monitor.latest} (peak ${monitor.peak})`;
  });
  try {
    const count = settings.prefork ?? preforkEstimate(scenario, settings.plans);
    const forkStarted = performance.now();
    const spareInitMs = count > 0 ? await fleet.prefork(count, undefined, signal) : [];
    if (count > 0) {
      const seconds = ((performance.now() - forkStarted) / 1000).toFixed(1);
      console.log(
        `  ${driver}, ${scenario}: ${count} processes forked ahead in ${seconds} s (init p50 ${formatMs(summarizeLatency(spareInitMs).p50)}), frozen`,
      );
    }
    const before = await globalStatus(admin);
    monitor.start();
    budgetState?.start();
    const started = performance.now();
    try {
      if (scenario === 'waves') await runWaves(fleet, settings.plans.waves, random, signal);
      else await runTrickle(fleet, settings.plans.trickle, random, signal);
    } finally {
      progress.stop();
    }
    const wallMs = performance.now() - started;
    const peakConnections = await monitor.stop();
    const budgetPeaks = await budgetState?.stop();
    const after = await globalStatus(admin);
    const delta = (name: keyof GlobalStatus): number => after[name] - before[name];
    // The orchestrator's own statements between the two snapshots: every sample, and the second snapshot.
    const ownStatements = monitor.samples + context.snapshotStatements;
    return result(driver, scenario, fleet, {
      spareInitP50: summarizeLatency(spareInitMs).p50,
      budgetPeaks,
      wallMs,
      peakConnections,
      questions: delta('Questions'),
      ownStatements,
      serverRefusals: delta('Connection_errors_max_connections'),
      serverConnections: delta('Connections'),
      serverKills: delta('Com_kill'),
      connectionLimit: settings.maxConnections,
    });
  } finally {
    progress.stop();
    await monitor.stop();
    await budgetState?.stop();
    await fleet.teardown();
    await admin.killAllOf(database.user);
    if (context.redis) await deleteBudgetKeys(context.redis, budgetName);
  }
}

interface ServerSide {
  readonly spareInitP50: number;
  readonly budgetPeaks: BudgetPeaks | undefined;
  readonly wallMs: number;
  readonly peakConnections: number;
  readonly questions: number;
  readonly ownStatements: number;
  readonly serverRefusals: number;
  readonly serverConnections: number;
  readonly serverKills: number;
  readonly connectionLimit: number;
}

function result(driver: FleetDriver, scenario: Scenario, fleet: Fleet, server: ServerSide): FleetResult {
  const records = fleet.records;
  const invocations = records.length;
  const failures: Record<string, number> = {};
  for (const record of records) if (!record.ok) failures[record.error ?? 'unknown'] = (failures[record.error ?? 'unknown'] ?? 0) + 1;
  const handler = summarizeLatency(records.map((record) => record.handlerMs));
  const endToEnd = summarizeLatency(records.map((record) => record.endToEndMs));
  const handlerP99 = (cold: boolean): number | undefined => {
    const values = records.filter((record) => record.cold === cold).map((record) => record.handlerMs);
    return values.length === 0 ? undefined : summarizeLatency(values).p99;
  };
  const counters = fleet.counters();
  const perInvocation = (value: number): number => (invocations > 0 ? value / invocations : 0);
  const app = counters.appStatements ?? 0;
  return {
    driver,
    scenario,
    failures,
    metrics: {
      invocations,
      failed: records.filter((record) => !record.ok).length,
      handlerP50: handler.p50,
      handlerP99: handler.p99,
      endToEndP50: endToEnd.p50,
      endToEndP99: endToEnd.p99,
      coldHandlerP99: handlerP99(true),
      warmHandlerP99: handlerP99(false),
      coldStarts: fleet.containers.length,
      coldStartWaitP50: summarizeLatency(fleet.initMs).p50,
      forkedOnArrival: fleet.forkedOnArrival,
      spareInitP50: server.spareInitP50,
      expired: fleet.expired,
      peakConnections: server.peakConnections,
      connectionLimit: server.connectionLimit,
      serverRefusals: server.serverRefusals,
      serverConnections: server.serverConnections,
      serverKills: server.serverKills,
      retries: counters.retries ?? 0,
      connects: counters.connects ?? 0,
      connectsPerInvocation: perInvocation(counters.connects ?? 0),
      kills: counters.kills,
      killStatements: counters.killStatements ?? 0,
      killErrors: counters.killErrors ?? 0,
      noSuchThread: counters.noSuchThread ?? 0,
      appStatements: app,
      statements: counters.statements ?? 0,
      questions: server.questions,
      ownStatements: server.ownStatements,
      nonAppPerInvocation: perInvocation(server.questions - app - server.ownStatements),
      nonAppPerInvocationClient: perInvocation((counters.statements ?? 0) - app),
      closes: counters.closes,
      reconnects: counters.reconnects,
      budgetGrants: counters.budgetGrants ?? 0,
      budgetWaits: counters.budgetWaits ?? 0,
      budgetTimeouts: counters.budgetTimeouts ?? 0,
      handOvers: counters.handOvers ?? 0,
      leaseLapses: counters.leaseLapses ?? 0,
      budgetFallbacks: counters.budgetFallbacks ?? 0,
      budgetTakenPeak: server.budgetPeaks?.taken,
      budgetLapsedPeak: server.budgetPeaks?.lapsed,
      budgetWaitingPeak: server.budgetPeaks?.waiting,
      budgetCapacity: server.budgetPeaks?.capacity,
      wallMs: server.wallMs,
    },
    slowest: [...records].sort((a, b) => b.handlerMs - a.handlerMs).slice(0, 5),
  };
}

interface GlobalStatus {
  readonly Questions: number;
  readonly Connection_errors_max_connections: number;
  readonly Connections: number;
  readonly Com_kill: number;
}

interface BudgetPeaks {
  readonly taken: number;
  readonly lapsed: number;
  readonly waiting: number;
  readonly capacity: number | undefined;
}

/** The budget as Redis sees it (its public `inspect()`, Redis only), every 250 ms: the largest seats taken, lapsed and waiting. */
class BudgetSampler {
  readonly #budget: ReturnType<typeof createRedisBudget>;
  #peaks: BudgetPeaks = { taken: 0, lapsed: 0, waiting: 0, capacity: undefined };
  #running: Promise<void> | undefined;
  #stopping = false;

  constructor(redis: Redis, name: string) {
    this.#budget = createRedisBudget({ redis, name });
  }

  start(): void {
    this.#running ??= this.#loop();
  }

  async stop(): Promise<BudgetPeaks> {
    this.#stopping = true;
    await this.#running;
    await this.#budget.close();
    return this.#peaks;
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      try {
        const state = await this.#budget.inspect();
        const peaks = this.#peaks;
        this.#peaks = {
          taken: Math.max(peaks.taken, state.taken),
          lapsed: Math.max(peaks.lapsed, state.lapsed),
          waiting: Math.max(peaks.waiting, state.waiting),
          capacity: state.capacity ?? peaks.capacity,
        };
      } catch {
        // A missed sample; the next one follows.
      }
      await sleep(250);
    }
  }
}

async function globalStatus(admin: AdminSession): Promise<GlobalStatus> {
  const rows = await admin.rows<{ Variable_name: string; Value: string }>(STATUS_SQL);
  const value = (name: keyof GlobalStatus): number => Number(rows.find((row) => row.Variable_name === name)?.Value ?? Number.NaN);
  return {
    Questions: value('Questions'),
    Connection_errors_max_connections: value('Connection_errors_max_connections'),
    Connections: value('Connections'),
    Com_kill: value('Com_kill'),
  };
}

/** How many Questions one status snapshot itself adds (the snapshot is counted in its own value, or not). */
async function measureSnapshotCost(admin: AdminSession): Promise<number> {
  const first = await globalStatus(admin);
  const second = await globalStatus(admin);
  return second.Questions - first.Questions;
}

/** Deletes the budget's keys (one hash tag per budget name); leases of killed processes would otherwise linger. */
async function deleteBudgetKeys(redis: Redis, name: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{cf-budget:${name}}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

function progressTicker(render: () => string, stream: NodeJS.WriteStream = process.stderr): { stop(): void } {
  const tty = stream.isTTY;
  const timer = setInterval(() => stream.write(tty ? `\r${render()}\x1b[K` : `${render()}\n`), tty ? 200 : 5000);
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (tty) stream.write('\r\x1b[K');
    },
  };
}

function summaryLine(result: FleetResult): string {
  const m = result.metrics;
  const failures = Object.entries(result.failures)
    .map(([label, n]) => `${n} ${label}`)
    .join(', ');
  return (
    `${result.scenario.padEnd(8)} ${result.driver.padEnd(20)} ok ${(m.invocations ?? 0) - (m.failed ?? 0)}/${m.invocations}${failures ? ` (failed: ${failures})` : ''}, ` +
    `handler p99 ${formatMs(m.handlerP99 ?? 0)}, e2e p99 ${formatMs(m.endToEndP99 ?? 0)}, peak ${m.peakConnections}/${m.connectionLimit}, refused ${m.serverRefusals}, ` +
    `retries ${m.retries}, connects ${m.connects}, ER_NO_SUCH_THREAD ${m.noSuchThread}, cold starts ${m.coldStarts} (${m.forkedOnArrival} forked on arrival), ${((m.wallMs ?? 0) / 1000).toFixed(1)} s`
  );
}

interface ScenarioTable {
  readonly scenario: Scenario;
  readonly columns: readonly MedianColumn[];
  readonly ratios: readonly RatioSet[];
}

function scenarioTitle(scenario: Scenario, settings: Settings): string {
  const { waves, trickle } = settings.plans;
  return scenario === 'waves'
    ? `waves (${waves.waves} × ${waves.events} events over ${waves.spreadMs} ms, ${waves.gapMs} ms gaps, ${Math.round(waves.expire * 100)}% expire)`
    : `trickle (${trickle.rate} events/s for ${trickle.seconds} s, expiry p = ${trickle.expirePerSecond}/s)`;
}

interface SavedResults {
  readonly command: string;
  readonly settings: Settings;
  readonly version: string;
  readonly records: readonly RunRecord[];
  readonly tables: readonly ScenarioTable[];
}

/** Writes bench/results/fleet-<time>.json (every run) and .md (the median tables); returns the path stem. */
async function saveResults(saved: SavedResults): Promise<string> {
  const directory = new URL('../results/', import.meta.url);
  await mkdir(directory, { recursive: true });
  const stem = `fleet-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const machine = `${cpus().length} cores, MariaDB ${saved.version}, Node ${process.versions.node}, load average ${loadavg()
    .map((load) => load.toFixed(2))
    .join(' ')} at the end`;
  const { redisUrl: _redisUrl, ...settings } = saved.settings;
  await writeFile(new URL(`${stem}.json`, directory), `${JSON.stringify({ ...saved, settings, machine }, null, 2)}\n`);
  const markdown = [
    `Command: \`${saved.command}\``,
    `Machine: ${machine}; max_connections = ${saved.settings.maxConnections}, deadline ${saved.settings.deadlineMs} ms.`,
    '',
    ...saved.tables.flatMap((table) => [
      `${scenarioTitle(table.scenario, saved.settings)}, medians of ${saved.records.length} run(s):`,
      '',
      formatMarkdownTable(table.columns, table.ratios),
      '',
    ]),
  ].join('\n');
  await writeFile(new URL(`${stem}.md`, directory), markdown);
  return `bench/results/${stem}`;
}

function parseScenarios(raw: string | undefined): Scenario[] {
  if (raw === undefined || raw === 'both') return [...SCENARIOS];
  if ((SCENARIOS as readonly string[]).includes(raw)) return [raw as Scenario];
  throw new RangeError(`--scenario must be waves, trickle or both; got "${raw}".`);
}

function parseDrivers(raw: string | undefined): FleetDriver[] {
  if (raw === undefined) return [...FLEET_DRIVERS];
  // `cachefront+budget` (no spaces) saves the quotes on a command line.
  const squeeze = (name: string): string => name.replace(/\s+/g, '');
  const wanted = raw.split(',').map(squeeze);
  const unknown = wanted.filter((name) => !FLEET_DRIVERS.some((known) => squeeze(known) === name));
  if (unknown.length > 0) throw new RangeError(`--drivers: unknown ${unknown.join(', ')}; choose from ${FLEET_DRIVERS.join(', ')}.`);
  return FLEET_DRIVERS.filter((name) => wanted.includes(squeeze(name)));
}

function orderColumns(columns: readonly MedianColumn[], drivers: readonly string[]): MedianColumn[] {
  return drivers.flatMap((driver) => columns.filter((column) => column.driver === driver));
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
