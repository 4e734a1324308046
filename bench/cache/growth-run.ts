/**
 * The growth benchmark against the local Redis (127.0.0.1:6379): how the cost of a cachefront hit
 * grows with the entries in Redis, the tags per entry, the value's size, the getMany batch and the
 * requests in flight, each next to raw ioredis in the same run (growth.ts). Prints Markdown tables,
 * writes them and the raw numbers to bench/results/, and one SVG chart per scenario to
 * bench/growth-<scenario>.svg (bench/results/growth-<scenario>-quick.svg for `--quick`, so a smoke
 * test never overwrites the committed charts).
 *
 * Each run uses its own random key prefix and deletes its keys after every point; nothing is
 * flushed. A run during which another benchmark ran is discarded and done again.
 *
 *   pnpm bench:growth -- --runs 3
 *   pnpm bench:growth -- --quick --runs 1 --scenarios tags,size    # a smoke test
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_CACHE_OPTIONS } from '@cachefront/cache';
import { runPrefix } from './fixtures.js';
import { runsFlag, waitMinutesFlag } from './flags.js';
import {
  GROWTH_SCENARIOS,
  type GrowthPlan,
  type GrowthScenario,
  growthPlan,
  runConcurrency,
  runKeys,
  runMany,
  runSize,
  runTags,
  type ScenarioContext,
  warmUpProcess,
} from './growth.js';
import { type GrowthRunRecord, growthReports } from './growth-report.js';
import { otherBenchmarks, waitForQuietMachine } from './quiet-machine.js';
import { RedisAdmin } from './redis-admin.js';
import { deleteRunKeysOnSignal, describeMachine, type Machine } from './session.js';
import { renderChart } from './svg.js';

const HELP = `Usage: pnpm bench:growth -- [--runs N] [--quick] [--scenarios ${GROWTH_SCENARIOS.join(',')}] [--wait-minutes M]

  --runs N            repeat everything N times (1-50) and report medians; default 3
  --quick             tiny sizes and short measurements: a smoke test (charts go to bench/results/)
  --scenarios LIST    which scenarios to run; default all
  --wait-minutes M    wait at most M minutes for other benchmarks to finish first; default 30
`;

interface Flags {
  readonly runs: number;
  readonly quick: boolean;
  readonly scenarios: readonly GrowthScenario[];
  readonly waitMinutes: number;
}

function parseScenarios(list: string): GrowthScenario[] {
  const out: GrowthScenario[] = [];
  for (const name of list.split(',')) {
    const scenario = GROWTH_SCENARIOS.find((s) => s === name.trim());
    if (scenario === undefined) throw new RangeError(`Unknown scenario ${JSON.stringify(name)}; choose from ${GROWTH_SCENARIOS.join(', ')}.`);
    if (!out.includes(scenario)) out.push(scenario);
  }
  return out;
}

function parseFlags(argv: readonly string[]): Flags | undefined {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg !== '--'),
    options: {
      runs: { type: 'string', default: '3' },
      quick: { type: 'boolean', default: false },
      scenarios: { type: 'string', default: GROWTH_SCENARIOS.join(',') },
      'wait-minutes': { type: 'string', default: '30' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const runs = runsFlag(values.runs);
  const waitMinutes = waitMinutesFlag(values['wait-minutes']);
  return { runs, quick: values.quick, scenarios: parseScenarios(values.scenarios), waitMinutes };
}

const log = (line: string) => console.error(line);

async function runOnce(run: number, flags: Flags, plan: GrowthPlan, admin: RedisAdmin, prefix: string): Promise<GrowthRunRecord> {
  // Sampled before every measurement and at the end: a benchmark that starts meanwhile spoils the run.
  const disturbedBy = new Set<string>();
  const watch = () => {
    for (const other of otherBenchmarks()) disturbedBy.add(other);
  };
  const ctx: ScenarioContext = { run, prefix, admin, plan, watch, log };
  const results: { -readonly [K in GrowthScenario]: GrowthRunRecord[K] } = { keys: [], tags: [], size: [], many: [], concurrency: [] };
  for (const scenario of flags.scenarios) {
    const started = performance.now();
    switch (scenario) {
      case 'keys':
        results.keys = await runKeys(ctx);
        break;
      case 'tags':
        results.tags = await runTags(ctx);
        break;
      case 'size':
        results.size = await runSize(ctx);
        break;
      case 'many':
        results.many = await runMany(ctx);
        break;
      case 'concurrency':
        results.concurrency = await runConcurrency(ctx);
        break;
    }
    log(`  run ${run + 1} ${scenario}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  watch();
  return { run: run + 1, prefix, ...results, disturbedBy: [...disturbedBy] };
}

/** Runs until `flags.runs` undisturbed runs, at most twice as many attempts; deletes each run's keys whatever happens. */
async function runAll(flags: Flags, plan: GrowthPlan, admin: RedisAdmin): Promise<{ runs: GrowthRunRecord[]; discarded: GrowthRunRecord[] }> {
  let current: string | undefined;
  deleteRunKeysOnSignal(admin, () => current);
  const runs: GrowthRunRecord[] = [];
  const discarded: GrowthRunRecord[] = [];
  current = runPrefix();
  const started = performance.now();
  await warmUpProcess({ run: 0, prefix: current, admin, plan, watch: () => {}, log });
  log(`warm-up: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (let attempt = 0; runs.length < flags.runs && attempt < flags.runs * 2; attempt += 1) {
    if (attempt > 0) await waitForQuietMachine(flags.waitMinutes * 60_000);
    const prefix = runPrefix();
    current = prefix;
    log(`run ${runs.length + 1}/${flags.runs}: key prefix ${prefix}`);
    try {
      const record = await runOnce(runs.length, flags, plan, admin, prefix);
      if (record.disturbedBy.length === 0) {
        runs.push(record);
      } else {
        discarded.push(record);
        log(`  discarded: another benchmark ran meanwhile:\n    ${record.disturbedBy.join('\n    ')}`);
      }
    } finally {
      const deleted = await admin.deleteByPrefix(prefix);
      const left = await admin.countByPrefix(prefix);
      log(`  deleted ${deleted} leftover keys${left > 0 ? `, ${left} LEFT` : ''}`);
      current = undefined;
    }
  }
  return { runs, discarded };
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags === undefined) {
    process.stdout.write(HELP);
    return 0;
  }
  const plan = growthPlan(flags.quick);
  const started = performance.now();
  const quiet = await waitForQuietMachine(flags.waitMinutes * 60_000);
  const admin = new RedisAdmin();
  let machine: Machine;
  let outcome: { runs: GrowthRunRecord[]; discarded: GrowthRunRecord[] };
  try {
    machine = await describeMachine(admin, quiet);
    log(`growth benchmark${flags.quick ? ' (quick)' : ''}: ${flags.runs} run(s) of ${flags.scenarios.join(', ')}; ${machine.long}`);
    outcome = await runAll(flags, plan, admin);
  } finally {
    await admin.close();
  }
  let { runs, discarded } = outcome;
  // A smoke test checks that everything runs and renders: with only disturbed runs it still reports them, marked so.
  const disturbedOnly = runs.length === 0 && flags.quick;
  if (disturbedOnly) [runs, discarded] = [discarded, []];
  if (runs.length === 0) throw new Error('Every run was disturbed by another benchmark; nothing to report.');

  const reports = growthReports(runs, plan, flags.scenarios, DEFAULT_CACHE_OPTIONS.compressAboveBytes);
  const summary = `Growth benchmark${flags.quick ? ' (--quick: smoke-test sizes, not results)' : ''}, medians of ${runs.length} run(s)${disturbedOnly ? ' ALL DISTURBED by other benchmarks' : ''}${runs.length < flags.runs ? ` (${flags.runs} asked for)` : ''}${discarded.length > 0 ? `, ${discarded.length} more discarded because another benchmark ran meanwhile` : ''}. ${machine.long}. cachefront: \`createRedisCache({ redis: url, namespace })\` (defaults but for \`maxValueBytes\` in size), an entity with \`tags: ({ id }) => ['product:<id>']\` unless the scenario varies tags; raw: \`new Redis(url)\`, \`GET\` + \`JSON.parse\` of values stored with \`SET … PX\`.`;
  const markdown = `${[summary, ...reports.map((r) => r.markdown)].join('\n\n')}\n`;
  process.stdout.write(markdown);

  const results = fileURLToPath(new URL('../results/', import.meta.url));
  await mkdir(results, { recursive: true });
  const stamp = new Date().toISOString().replaceAll(':', '-').replace('.', '-');
  const file = `${results}growth-${stamp}`;
  await writeFile(`${file}.json`, JSON.stringify({ machine: machine.long, flags, plan, runs, discarded }, null, 2));
  await writeFile(`${file}.md`, markdown);
  const subtitle = `medians of ${runs.length} run(s)${flags.quick ? ' (--quick smoke test)' : ''}; ${machine.short}`;
  for (const report of reports) {
    const svg = flags.quick ? `${results}growth-${report.scenario}-quick.svg` : fileURLToPath(new URL(`../growth-${report.scenario}.svg`, import.meta.url));
    await writeFile(svg, renderChart({ ...report.chart, subtitle }));
    log(`chart: ${svg}`);
  }
  log(`results: ${file}.json and .md; ${((performance.now() - started) / 1000).toFixed(0)} s in all`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
