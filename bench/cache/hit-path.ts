/**
 * Scenario 1 and 2: reads of warm keys. Each contender reads the same rows (its own keys), first
 * untimed to warm the JIT, then counted under MONITOR (Redis commands per hit), then timed
 * one after another and with 16, 64 and 256 requests in flight. Keys cycle over `keys` ids, so
 * concurrent requests are for different keys and no in-process de-duplication can help.
 */
import { type Contender, type ContenderName, createContender } from './contenders.js';
import { measure, type Throughput } from './measure.js';
import { type CommandsPerOp, perOp, type RedisAdmin } from './redis-admin.js';

export interface HitPathPlan {
  readonly keys: number;
  readonly warmupOps: number;
  readonly countOps: number;
  readonly sequentialOps: number;
  readonly concurrentOps: number;
  /** Requests in flight, one measurement each. */
  readonly concurrency: readonly number[];
}

export const DEFAULT_HIT_PATH_PLAN: HitPathPlan = {
  keys: 1000,
  warmupOps: 3000,
  countOps: 1000,
  sequentialOps: 5000,
  concurrentOps: 20_000,
  concurrency: [16, 64, 256],
};

export interface HitPathResult {
  readonly name: ContenderName;
  readonly setup: string;
  readonly sequential: Throughput;
  /** By requests in flight (the plan's `concurrency`). */
  readonly concurrent: Readonly<Record<string, Throughput>>;
  /** Redis commands per hit, by command (sent by the client; run inside Lua). */
  readonly commandsPerHit: CommandsPerOp;
  /** Loader calls while measuring: must be 0 (every read a hit). */
  readonly loadsWhileMeasuring: number;
}

const ids = (keys: number) => Array.from({ length: keys }, (_, i) => i + 1);

export async function runHitPath(name: ContenderName, prefix: string, admin: RedisAdmin, plan: HitPathPlan): Promise<HitPathResult> {
  const contender: Contender = createContender(name, prefix);
  try {
    const all = ids(plan.keys);
    await contender.warm(all);
    const warmLoads = contender.loads();
    const get = (i: number) => contender.get((i % plan.keys) + 1);
    await measure(get, plan.warmupOps, 64);
    await measure(get, plan.warmupOps / 3, 1);

    const counts = await admin.countCommands(prefix, async () => {
      await measure(get, plan.countOps, 1);
    });
    const commandsPerHit = perOp(counts, plan.countOps);

    const sequential = await measure(get, plan.sequentialOps, 1);
    const concurrent: Record<string, Throughput> = {};
    for (const inFlight of plan.concurrency) concurrent[inFlight] = await measure(get, plan.concurrentOps, inFlight);
    return { name, setup: contender.setup, sequential, concurrent, commandsPerHit, loadsWhileMeasuring: contender.loads() - warmLoads };
  } finally {
    await contender.close();
  }
}
