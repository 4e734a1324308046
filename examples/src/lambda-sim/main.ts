/**
 * The local Lambda simulator: a fleet of containers driving the catalog app the way the platform
 * does (cold starts, warm reuse, freezes between invocations, containers dropped without closing
 * anything), the same seeded traffic run twice — through naive mysql2 handlers and through
 * cachefront's catalog handlers — inside a connection limit that touches no global setting: a
 * user created for the run WITH MAX_USER_CONNECTIONS, with its own database, both dropped at the
 * end (also on Ctrl-C or an error). Prints a side-by-side table and writes an HTML report.
 *
 *   pnpm demo -- --containers 60 --waves 4 --invocations 20 --mix 90/8/2 --limit 20
 */

import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createCatalogApp } from '../catalog/app.js';
import { flagsHelp, type NumberFlag, parseFlags } from '../connector-fleet/cli-flags.js';
import { type AdminConfig, AdminSession } from '../shared/admin-session.js';
import { abortOnSignals, openLocalAdmin, runMain } from '../shared/lifecycle.js';
import { preflight } from '../shared/preflight.js';
import type { AppFactory, DbTarget } from './app.js';
import { catalogAppFactory } from './catalog-app.js';
import { type FleetPlan, type RunResult, runFleet } from './fleet.js';
import { renderHtmlReport } from './html-report.js';
import { naiveAppFactory } from './naive-app.js';
import { progressPrinter } from './progress.js';
import { formatSummaryTable } from './summary.js';
import { DEFAULT_MIX, DEFAULT_SHAPE, formatMix, parseMix } from './traffic.js';

const FLAGS = [
  { name: 'containers', description: 'containers alive in each wave', min: 1, max: 2000, integer: true },
  { name: 'waves', description: 'waves of traffic; some containers expire between waves', min: 1, max: 50, integer: true },
  { name: 'invocations', description: 'invocations per container per wave', min: 1, max: 10_000, integer: true },
  { name: 'duration', description: 'seconds of traffic per wave instead of a fixed count (0: use --invocations)', min: 0, max: 3600, integer: false },
  { name: 'limit', description: "connection limit: the run user's MAX_USER_CONNECTIONS", min: 2, max: 10_000, integer: true },
  { name: 'expire-ratio', description: 'share of containers dropped between waves without closing anything', min: 0, max: 1, integer: false },
  { name: 'think-ms', description: 'largest pause (frozen) between two invocations of a container', min: 0, max: 60_000, integer: true },
  { name: 'gap-ms', description: 'quiet time between waves (whole fleet frozen)', min: 0, max: 600_000, integer: true },
  { name: 'timeout-ms', description: "the function's timeout", min: 100, max: 900_000, integer: true },
  { name: 'seed', description: 'seed of the traffic (same seed, same requests for both apps)', min: 0, max: 4_294_967_295, integer: true },
] as const satisfies readonly NumberFlag[];

const DEFAULTS = {
  containers: 60,
  waves: 4,
  invocations: 20,
  duration: 0,
  limit: 20,
  'expire-ratio': 0.3,
  'think-ms': 400,
  'gap-ms': 2000,
  'timeout-ms': 6000,
  seed: 20_261_127,
};

const SEED_OPTIONS = { categories: DEFAULT_SHAPE.categories, productsPerCategory: DEFAULT_SHAPE.products / DEFAULT_SHAPE.categories };
const REPORT = fileURLToPath(new URL('../../report/demo-report.html', import.meta.url));

const {
  CACHEFRONT_MYSQL_HOST: host = '127.0.0.1',
  CACHEFRONT_MYSQL_PORT: port = '3306',
  CACHEFRONT_MYSQL_USER: rootUser = 'root',
  CACHEFRONT_MYSQL_PASSWORD: rootPassword = '',
  CACHEFRONT_REDIS_URL: envRedisUrl = 'redis://127.0.0.1:6379',
} = process.env;
const ENV_SERVER: AdminConfig = { host, port: Number(port), user: rootUser, password: rootPassword };

const USE_MAX_CONNECTIONS = '--use-max-connections';
const START_SERVERS = '--start-servers';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const useMaxConnections = argv.includes(USE_MAX_CONNECTIONS);
  const startServers = argv.includes(START_SERVERS);
  const { help, numbers, strings } = parseFlags(
    argv.filter((arg) => arg !== USE_MAX_CONNECTIONS && arg !== START_SERVERS),
    FLAGS,
    ['mix'],
  );
  const flag = <K extends keyof typeof DEFAULTS>(name: K): number => numbers[name] ?? DEFAULTS[name];
  if (help) {
    console.log(
      `Usage: pnpm demo -- [flags]\n\n${flagsHelp(FLAGS, DEFAULTS)}\n` +
        `  --${'mix'.padEnd(16)}reads/updates/orders shares (default 90/8/2)\n` +
        `  ${USE_MAX_CONNECTIONS}  limit with SET GLOBAL max_connections (restored afterwards) instead of the user's MAX_USER_CONNECTIONS\n` +
        `  ${START_SERVERS}        start a throwaway MariaDB and/or redis-server for the run when one is not reachable\n\n` +
        `Environment: CACHEFRONT_MYSQL_HOST / _PORT / _USER / _PASSWORD (default 127.0.0.1:3306 root), CACHEFRONT_REDIS_URL (default redis://127.0.0.1:6379).`,
    );
    return 0;
  }
  const mix = strings.mix === undefined ? DEFAULT_MIX : parseMix(strings.mix);
  const limit = flag('limit');
  const durationS = flag('duration');
  const plan: FleetPlan = {
    containers: flag('containers'),
    waves: flag('waves'),
    invocationsPerWave: flag('invocations'),
    waveMs: durationS > 0 ? Math.round(durationS * 1000) : undefined,
    expireRatio: flag('expire-ratio'),
    waveGapMs: flag('gap-ms'),
    rampMs: 200,
    thinkMs: flag('think-ms'),
    timeoutMs: flag('timeout-ms'),
    seed: flag('seed'),
    mix,
    shape: DEFAULT_SHAPE,
  };

  // The doctor's reachability checks first: a missing server is said, with how to start it.
  const checked = await preflight(ENV_SERVER, envRedisUrl, startServers);
  if (!checked.ok) {
    console.error(checked.message);
    return 2;
  }
  const { servers } = checked;
  for (const what of servers.started) console.log(`Started ${what} for this run (stopped at the end).`);
  try {
    return await simulate(servers.mysql, servers.redisUrl, plan, mix, limit, useMaxConnections);
  } finally {
    await servers.stop();
  }
}

async function simulate(
  SERVER: AdminConfig,
  redisUrl: string,
  plan: FleetPlan,
  mix: ReturnType<typeof parseMix>,
  limit: number,
  useMaxConnections: boolean,
): Promise<number> {
  const stop = abortOnSignals();

  const admin = await openLocalAdmin(SERVER);
  const name = `cfsim_${randomBytes(4).toString('hex')}`;
  const namespace = name;
  const target: DbTarget = { host: SERVER.host, port: SERVER.port, user: name, password: randomBytes(12).toString('base64url'), database: name };
  let created = false;
  let previousMaxConnections: number | undefined;
  const started = performance.now();
  try {
    created = true;
    await admin.run(`CREATE DATABASE \`${name}\``);
    const userLimit = useMaxConnections ? '' : ` WITH MAX_USER_CONNECTIONS ${limit}`;
    await admin.run(`CREATE USER ?@'%' IDENTIFIED BY ?${userLimit}`, [name, target.password]);
    await admin.run(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${name}\`.* TO ?@'%'`, [name]);

    const pace = plan.waveMs === undefined ? `${plan.invocationsPerWave} invocations per container per wave` : `${plan.waveMs / 1000} s of traffic per wave`;
    console.log(
      `Fleet: ${plan.containers} containers × ${plan.waves} waves, ${pace}; ${formatMix(mix)}; hot set ${plan.shape.hotProducts} of ${plan.shape.products} products takes ${Math.round(plan.shape.hotShare * 100)}% of product reads.`,
    );
    console.log(`~${Math.round(plan.expireRatio * 100)}% of containers dropped between waves without closing anything; seed ${plan.seed}.`);
    const limitText = useMaxConnections ? `SET GLOBAL max_connections = ${limit} (restored afterwards)` : `user ${name} WITH MAX_USER_CONNECTIONS ${limit}`;
    console.log(`Server ${SERVER.host}:${SERVER.port}: ${limitText}; database ${name}; Redis ${redisUrl}, namespace ${namespace}.\n`);

    if (useMaxConnections) {
      const [row] = await admin.rows<{ n: number }>('SELECT @@GLOBAL.max_connections AS n');
      previousMaxConnections = Number(row?.n);
      await admin.run(`SET GLOBAL max_connections = ${limit}`);
    }

    const factories: AppFactory[] = [naiveAppFactory(), catalogAppFactory({ redis: redisUrl, namespace })];
    const results: RunResult[] = [];
    const progress = progressPrinter(process.stdout);
    for (const factory of factories) {
      if (stop.signal.aborted) break;
      await resetCatalog(name, SERVER, redisUrl);
      const result = await runFleet({
        factory,
        target,
        user: name,
        plan,
        admin,
        connectionLimit: limit,
        signal: stop.signal,
        onProgress: progress.update,
      });
      progress.finish();
      results.push(result);
    }
    if (results.length === 0) return 130;

    console.log(`\n${formatSummaryTable(results)}\n`);
    for (const result of results) console.log(`  ${result.app}: ${result.description}`);
    console.log(
      '\n  Failed: any answer other than 2xx, or a handler that threw (the platform answers 502), by status and error code.\n' +
        '  Latency covers the whole invocation (end() included). Cache hit ratio: cache reads answered from Redis (cache stats;\n' +
        '  each read counted once, however often it polled a lease). Reads that waited for a loader: their own database load,\n' +
        '  another container’s (a lease), or one they shared in the container.\n' +
        '  Database queries: statements sent by the app (connector "query" events; counted by hand for naive). Peak connections:\n' +
        '  the run user’s, sampled from the processlist every ~20 ms; "open at the end" when the last wave ended, "zombies" those of\n' +
        '  dropped containers. Every connection of the run was killed afterwards.',
    );
    const details = [
      `${plan.containers} containers × ${plan.waves} waves, ${pace}; ${formatMix(mix)}; seed ${plan.seed}.`,
      `~${Math.round(plan.expireRatio * 100)}% of containers dropped between waves without closing anything; ${plan.waveGapMs} ms frozen between waves; pauses up to ${plan.thinkMs} ms.`,
      `Connection limit ${limit}: ${useMaxConnections ? 'SET GLOBAL max_connections' : 'the run user’s MAX_USER_CONNECTIONS'}. Server ${SERVER.host}:${SERVER.port}.`,
    ];
    const html = renderHtmlReport({ title: 'cachefront Lambda simulator: naive mysql2 vs cachefront', details, results, limit, generatedAt: new Date() });
    await mkdir(fileURLToPath(new URL('../../report/', import.meta.url)), { recursive: true });
    await writeFile(REPORT, html);
    console.log(`\nReport: ${relative(process.cwd(), REPORT) || REPORT} (${REPORT})`);
    if (stop.signal.aborted) console.log('\nStopped early: the numbers above cover only the invocations that ran.');
    console.log(`Total time ${((performance.now() - started) / 1000).toFixed(1)} s.`);
    return stop.signal.aborted ? 130 : 0;
  } finally {
    if (previousMaxConnections !== undefined && Number.isFinite(previousMaxConnections)) {
      await admin
        .run(`SET GLOBAL max_connections = ${previousMaxConnections}`)
        .catch((error: unknown) => console.error(`Could not restore max_connections to ${previousMaxConnections}:`, error));
    }
    if (created) {
      await admin.killAllOf(name).catch(() => {});
      await admin.run(`DROP USER IF EXISTS ?@'%'`, [name]).catch((error: unknown) => console.error(`Could not drop user ${name}:`, error));
      await admin.run(`DROP DATABASE IF EXISTS \`${name}\``).catch((error: unknown) => console.error(`Could not drop database ${name}:`, error));
    }
    await admin.close();
    await deleteNamespace(redisUrl, namespace).catch((error: unknown) => console.error(`Could not delete the Redis keys ${namespace}:*:`, error));
    stop.release();
  }
}

/** Fresh tables and seed rows before each run, so both apps start from the same catalog. Done as root. */
async function resetCatalog(database: string, SERVER: AdminConfig, redisUrl: string): Promise<void> {
  const admin = await AdminSession.open(SERVER);
  try {
    await admin.run('SET FOREIGN_KEY_CHECKS = 0');
    for (const table of ['order_line', 'orders', 'product', 'category', 'cachefront_outbox'])
      await admin.run(`DROP TABLE IF EXISTS \`${database}\`.\`${table}\``);
  } finally {
    await admin.close();
  }
  const app = createCatalogApp({
    connection: { host: SERVER.host, port: SERVER.port, user: SERVER.user, password: SERVER.password, database },
    redis: redisUrl,
    namespace: `${database}_setup`,
  });
  try {
    await app.migrate();
    await app.seed(SEED_OPTIONS);
  } finally {
    await app.close();
  }
}

/** Deletes the run's cache keys (SCAN + UNLINK on its namespace only; never FLUSHALL). */
async function deleteNamespace(url: string, namespace: string): Promise<void> {
  if (!/^cfsim_[0-9a-f]{8}$/.test(namespace)) throw new RangeError('Refusing to delete a namespace this run did not create.');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

runMain(main);
