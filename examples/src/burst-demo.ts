/**
 * A burst of simulated Lambda containers against the local MariaDB, run twice: with plain mysql2
 * (one connection per container, never closed) and with cachefront's connector (`end()` after each
 * invocation). Nothing global changes: the run gets its own user, with its own connection limit,
 * and its own database, both dropped at the end (also on Ctrl-C or an error).
 *
 *   pnpm demo -- --containers 150 --waves 3 --invocations 4 --write-ratio 0.2 --limit 20
 */

import {
  type AdminConfig,
  type AppDatabase,
  abortOnSignals,
  type BurstPlan,
  type BurstResult,
  cachefrontAdapter,
  createAppDatabase,
  type DriverAdapter,
  dropAppDatabase,
  flagsHelp,
  formatTextTable,
  type NumberFlag,
  openLocalAdmin,
  PLAN_FLAGS,
  parseFlags,
  plainMysql2Adapter,
  planDefaults,
  planFromFlags,
  progressPrinter,
  runBurst,
  runMain,
  totalInvocations,
} from './connector-fleet/index.js';

const FLAGS = [
  ...PLAN_FLAGS,
  { name: 'limit', description: "the demo user's MAX_USER_CONNECTIONS", min: 2, max: 1000, integer: true },
] as const satisfies readonly NumberFlag[];

const DEFAULT_LIMIT = 20;

/** The shared local server, as the integration tests find it. */
const {
  CACHEFRONT_MYSQL_HOST: host = '127.0.0.1',
  CACHEFRONT_MYSQL_PORT: port = '3306',
  CACHEFRONT_MYSQL_USER: user = 'root',
  CACHEFRONT_MYSQL_PASSWORD: password = '',
} = process.env;
const SERVER: AdminConfig = { host, port: Number(port), user, password };

async function main(): Promise<number> {
  const { help, numbers: values } = parseFlags(process.argv.slice(2), FLAGS);
  const plan: BurstPlan = planFromFlags(values);
  const limit = values.limit ?? DEFAULT_LIMIT;
  if (help) {
    const defaults = { ...planDefaults(plan), limit };
    console.log(`Usage: pnpm demo -- [flags]\n\n${flagsHelp(FLAGS, defaults)}`);
    return 0;
  }

  const stop = abortOnSignals();

  const admin = await openLocalAdmin(SERVER);
  let database: AppDatabase | undefined;
  try {
    database = await createAppDatabase(admin, SERVER, { prefix: 'cfdemo', maxUserConnections: limit, rows: 1000 });
    console.log(
      `Burst: ${plan.containers} containers × ${plan.waves} waves × ${plan.invocationsPerWave} invocations (${totalInvocations(plan)} in all), ` +
        `${Math.round(plan.writeRatio * 100)}% also write, ~${Math.round(plan.expireRatio * 100)}% of containers dropped between waves without closing anything.`,
    );
    console.log(`Server ${SERVER.host}:${SERVER.port}; user ${database.user} WITH MAX_USER_CONNECTIONS ${limit}; database ${database.database}.\n`);

    const adapters: DriverAdapter[] = [plainMysql2Adapter(), cachefrontAdapter()];
    const results: BurstResult[] = [];
    const progress = progressPrinter();
    for (const adapter of adapters) {
      if (stop.signal.aborted) break;
      const result = await runBurst({ adapter, database, plan, admin, connectionLimit: limit, signal: stop.signal, onProgress: progress.update });
      progress.finish();
      results.push(result);
    }
    if (results.length > 0) {
      console.log(`\n${formatTextTable(results)}\n`);
      for (const result of results) console.log(`  ${result.driver}: ${result.description}`);
      console.log(
        '\n  Latency covers the whole invocation (statements and end()), failed ones included. Peak connections are sampled from the\n' +
          '  processlist every ~20 ms; "left open" counts the user’s connections when the last wave ended, "zombies" those whose\n' +
          '  container had been dropped. Every connection of the run was killed afterwards.',
      );
    }
    if (stop.signal.aborted) console.log('\nStopped early: the numbers above cover only the invocations that ran.');
    return stop.signal.aborted ? 130 : 0;
  } finally {
    if (database) await dropAppDatabase(admin, database).catch((error: unknown) => console.error(`Could not drop ${database?.user}:`, error));
    await admin.close();
    stop.release();
  }
}

runMain(main);
