/**
 * `pnpm soak`: longer history runs than CI's, to find what a minute cannot.
 *
 *   pnpm soak                                  # 10 minutes, every fault, standalone Redis
 *   pnpm soak -- --minutes 2 --seed 7 --redis cluster --faults redis-flush,mysql-kill
 *   pnpm soak -- --mode skip-invalidation      # the negative control: must report violations
 *
 * Prints the figures and the first violations; exits 1 when a normal run finds a violation, or when
 * the negative control finds none.
 */
import { parseArgs } from 'node:util';
import { FAULTS, type Fault, historyRun, summarize } from './run.js';

// pnpm hands on the `--` that separates its own flags from the script's.
const args = process.argv.slice(2);
const { values } = parseArgs({
  args: args[0] === '--' ? args.slice(1) : args,
  options: {
    minutes: { type: 'string', default: '10' },
    seed: { type: 'string' },
    redis: { type: 'string', default: 'standalone' },
    faults: { type: 'string' },
    mode: { type: 'string', default: 'normal' },
    processes: { type: 'string', default: '3' },
    layers: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '3' },
    keys: { type: 'string', default: '20' },
  },
});

const redis = values.redis === 'cluster' ? 'cluster' : 'standalone';
const mode = values.mode === 'skip-invalidation' ? 'skip-invalidation' : 'normal';
const chosen = (
  values.faults === 'none'
    ? []
    : (values.faults?.split(',') ?? FAULTS.filter((f) => (redis === 'cluster' ? f !== 'redis-restart' : f !== 'redis-node-restart')))
) as Fault[];
for (const fault of chosen) if (!FAULTS.includes(fault)) throw new Error(`unknown fault ${fault}; use ${FAULTS.join(', ')}`);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);

const report = await historyRun({
  seed,
  durationMs: Number(values.minutes) * 60_000,
  processes: Number(values.processes),
  layers: Number(values.layers),
  concurrency: Number(values.concurrency),
  keys: Number(values.keys),
  faults: chosen,
  faultEveryMs: [700, 2000],
  redis,
  mode,
  log: (line) => console.error(line),
});
console.log(summarize(report));
for (const text of report.described) console.log(`\n${text}`);
const failed = mode === 'normal' ? report.violations.length > 0 : report.violations.length === 0;
process.exit(failed ? 1 : 0);
