/**
 * The cache benchmark against the local Redis (127.0.0.1:6379): cachefront next to raw ioredis,
 * bentocache 1.6.1 (Redis L2 only) and cache-manager 7.2.9 (@keyv/redis), on
 *
 *   1. the hit path (one after another, and 64 in flight),
 *   2. Redis commands per hit,
 *   3. getMany of 100 keys with half missing (2 ms loader),
 *   4. a cold key read 1,000 times at once by each of 4 processes (50 ms loader),
 *   5. hot keys with a short TTL, without and with refresh-ahead (16 containers, 20 ms loader).
 *
 * Each run uses its own random key prefix and deletes its keys at the end; nothing is flushed.
 * `--runs N` repeats everything N times, rotating the order of the clients, and reports medians.
 *
 *   pnpm bench:cache -- --runs 5
 *   pnpm bench:cache -- --runs 1 --scenarios hit       # hit path and commands per hit only
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CONTENDER_LABELS, CONTENDER_NAMES, type ContenderName } from './contenders.js';
import { runPrefix } from './fixtures.js';
import { runsFlag, waitMinutesFlag } from './flags.js';
import { BATCH_APPROACHES, DEFAULT_GET_MANY_PLAN, type GetManyResult, runGetMany } from './get-many.js';
import { DEFAULT_HIT_PATH_PLAN, type HitPathResult, runHitPath } from './hit-path.js';
import { otherBenchmarks, waitForQuietMachine } from './quiet-machine.js';
import { RedisAdmin } from './redis-admin.js';
import { DEFAULT_REFRESH_PLAN, REFRESH_VARIANTS, type RefreshResult, runRefreshAhead } from './refresh-ahead.js';
import { getManyTable, hitPathTable, type RunRecord, refreshTable, roundTripTable, stampedeTable } from './report.js';
import { deleteRunKeysOnSignal, describeMachine } from './session.js';
import { DEFAULT_STAMPEDE_PLAN, runStampede, type StampedeResult } from './stampede.js';
import { STAMPEDE_LIBRARIES } from './stampede-protocol.js';

const SCENARIOS = ['hit', 'many', 'stampede', 'refresh'] as const;
type Scenario = (typeof SCENARIOS)[number];

const HELP = `Usage: pnpm bench:cache -- [--runs N] [--scenarios hit,many,stampede,refresh] [--wait-minutes M] [--contenders LIST]

  --runs N            repeat everything N times (1-50) and report medians; default 1
  --scenarios LIST    which scenarios to run; default all (hit includes Redis commands per hit)
  --wait-minutes M    wait at most M minutes for other benchmarks to finish first; default 30
  --contenders LIST   the hit path's clients; default all (${CONTENDER_NAMES.join(',')})
`;

interface Flags {
  readonly runs: number;
  readonly scenarios: ReadonlySet<Scenario>;
  readonly waitMinutes: number;
  readonly contenders: readonly ContenderName[];
}

function parseFlags(argv: readonly string[]): Flags | undefined {
  const { values } = parseArgs({
    args: argv.filter((arg) => arg !== '--'),
    options: {
      runs: { type: 'string', default: '1' },
      scenarios: { type: 'string', default: SCENARIOS.join(',') },
      'wait-minutes': { type: 'string', default: '30' },
      contenders: { type: 'string', default: CONTENDER_NAMES.join(',') },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const runs = runsFlag(values.runs);
  const waitMinutes = waitMinutesFlag(values['wait-minutes']);
  const scenarios = new Set<Scenario>();
  for (const name of values.scenarios.split(',')) {
    const scenario = SCENARIOS.find((s) => s === name.trim());
    if (scenario === undefined) throw new RangeError(`Unknown scenario ${JSON.stringify(name)}; choose from ${SCENARIOS.join(', ')}.`);
    scenarios.add(scenario);
  }
  const contenders: ContenderName[] = [];
  for (const name of values.contenders.split(',')) {
    const contender = CONTENDER_NAMES.find((c) => c === name.trim());
    if (contender === undefined) throw new RangeError(`Unknown contender ${JSON.stringify(name)}; choose from ${CONTENDER_NAMES.join(', ')}.`);
    contenders.push(contender);
  }
  // Ratios are to raw ioredis: it is always measured.
  if (!contenders.includes('ioredis')) contenders.unshift('ioredis');
  return { runs, scenarios, waitMinutes, contenders };
}

/** The list rotated left by `by`, so each client takes each position across runs. */
const rotate = <T>(list: readonly T[], by: number): T[] => list.map((_, i) => list[(i + by) % list.length] as T);

const log = (line: string) => console.error(line);

async function runOnce(run: number, flags: Flags, admin: RedisAdmin, prefix: string): Promise<RunRecord> {
  const order = rotate(flags.contenders, run);
  const hitPath: HitPathResult[] = [];
  const getMany: GetManyResult[] = [];
  const stampede: StampedeResult[] = [];
  const refresh: RefreshResult[] = [];
  // Sampled before every measurement and at the end: a benchmark that starts meanwhile spoils the run.
  const disturbedBy = new Set<string>();
  const watch = () => {
    for (const other of otherBenchmarks()) disturbedBy.add(other);
  };
  if (flags.scenarios.has('hit')) {
    for (const name of order) {
      watch();
      const result = await runHitPath(name, prefix, admin, DEFAULT_HIT_PATH_PLAN);
      hitPath.push(result);
      log(
        `  run ${run + 1} hit  ${CONTENDER_LABELS[name].padEnd(46)} seq ${Math.round(result.sequential.opsPerSec)} ops/s, 16 / 64 / 256 in flight ${Object.values(
          result.concurrent,
        )
          .map((t) => Math.round(t.opsPerSec))
          .join(' / ')} ops/s`,
      );
    }
  }
  if (flags.scenarios.has('many')) {
    for (const name of rotate(BATCH_APPROACHES, run)) {
      watch();
      const result = await runGetMany(name, prefix, admin, DEFAULT_GET_MANY_PLAN);
      getMany.push(result);
      log(`  run ${run + 1} many ${name.padEnd(14)} ${result.medianBatchMs.toFixed(2)} ms per batch, ${result.loaderCallsPerBatch} loader calls per batch`);
    }
  }
  if (flags.scenarios.has('stampede')) {
    for (const library of rotate(STAMPEDE_LIBRARIES, run)) {
      watch();
      const result = await runStampede(library, prefix, admin, DEFAULT_STAMPEDE_PLAN);
      stampede.push(result);
      log(`  run ${run + 1} cold ${library.padEnd(14)} ${result.loaderCalls} loader calls, ${result.failed} failed`);
    }
  }
  if (flags.scenarios.has('refresh')) {
    for (const variant of rotate(REFRESH_VARIANTS, run)) {
      watch();
      const result = await runRefreshAhead(variant, prefix, DEFAULT_REFRESH_PLAN);
      refresh.push(result);
      log(
        `  run ${run + 1} refresh-ahead ${variant.padEnd(3)} ${(result.loaderWaitShare * 100).toFixed(2)}% of ${result.reads} reads waited for a loader, p99 ${result.p99Ms.toFixed(2)} ms`,
      );
    }
  }
  watch();
  return { run: run + 1, prefix, order, hitPath, getMany, stampede, refresh, disturbedBy: [...disturbedBy] };
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags === undefined) {
    process.stdout.write(HELP);
    return 0;
  }
  const quiet = await waitForQuietMachine(flags.waitMinutes * 60_000);
  const admin = new RedisAdmin();
  const machine = (await describeMachine(admin, quiet)).long;
  log(`cache benchmark: ${flags.runs} run(s); ${machine}`);

  let current: string | undefined;
  deleteRunKeysOnSignal(admin, () => current);

  const runs: RunRecord[] = [];
  const discarded: RunRecord[] = [];
  try {
    // A run during which another benchmark ran is discarded and done again, at most `runs` extra times.
    for (let attempt = 0; runs.length < flags.runs && attempt < flags.runs * 2; attempt += 1) {
      if (attempt > 0) await waitForQuietMachine(flags.waitMinutes * 60_000);
      const prefix = runPrefix();
      current = prefix;
      log(`run ${runs.length + 1}/${flags.runs}: key prefix ${prefix}`);
      try {
        const record = await runOnce(runs.length, flags, admin, prefix);
        if (record.disturbedBy.length === 0) {
          runs.push(record);
        } else {
          discarded.push(record);
          log(`  discarded: another benchmark ran meanwhile:\n    ${record.disturbedBy.join('\n    ')}`);
        }
      } finally {
        const deleted = await admin.deleteByPrefix(prefix);
        const left = await admin.countByPrefix(prefix);
        log(`  deleted ${deleted} keys${left > 0 ? `, ${left} LEFT` : ''}`);
      }
    }
  } finally {
    current = undefined;
    await admin.close();
  }

  if (runs.length === 0) throw new Error('Every run was disturbed by another benchmark; nothing to report.');
  const sections = [
    `Cache benchmark, medians of ${runs.length} run(s)${runs.length < flags.runs ? ` (${flags.runs} asked for)` : ''}${discarded.length > 0 ? `, ${discarded.length} more discarded because another benchmark ran meanwhile` : ''}. ${machine}.`,
    flags.scenarios.has('hit')
      ? `### Hit path (same ~600-byte product row, warm keys; ratios to raw ioredis GET + JSON.parse in the same run)\n\n${hitPathTable(runs)}`
      : '',
    flags.scenarios.has('hit')
      ? `### Redis commands per hit (MONITOR, ${DEFAULT_HIT_PATH_PLAN.countOps} sequential hits, untimed)\n\n${roundTripTable(runs)}`
      : '',
    flags.scenarios.has('many')
      ? `### getMany: ${DEFAULT_GET_MANY_PLAN.size} keys, half missing, loader ${DEFAULT_GET_MANY_PLAN.dbDelayMs} ms\n\n${getManyTable(runs)}`
      : '',
    flags.scenarios.has('stampede')
      ? `### Cold key: ${DEFAULT_STAMPEDE_PLAN.processes} processes × ${DEFAULT_STAMPEDE_PLAN.requests} concurrent reads, loader ${DEFAULT_STAMPEDE_PLAN.loaderMs} ms\n\n${stampedeTable(runs)}`
      : '',
    flags.scenarios.has('refresh')
      ? `### Refresh-ahead: ${DEFAULT_REFRESH_PLAN.hotKeys} hot keys, TTL ${DEFAULT_REFRESH_PLAN.ttlMs} ms, loader ${DEFAULT_REFRESH_PLAN.loaderMs} ms, ${DEFAULT_REFRESH_PLAN.containers} containers reading for ${DEFAULT_REFRESH_PLAN.durationMs / 1000} s\n\n${refreshTable(runs)}`
      : '',
  ].filter((section) => section !== '');
  const markdown = `${sections.join('\n\n')}\n`;
  process.stdout.write(markdown);

  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replaceAll(':', '-').replace('.', '-');
  const file = `${dir}cache-${stamp}`;
  await writeFile(`${file}.json`, JSON.stringify({ machine, flags: { ...flags, scenarios: [...flags.scenarios] }, runs, discarded }, null, 2));
  await writeFile(`${file}.md`, markdown);
  log(`results: ${file}.json and .md`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
