/** What both cache benchmarks do around their runs: describe the machine, and clean up on Ctrl-C. */
import { cpus, loadavg } from 'node:os';
import type { RedisAdmin } from './redis-admin.js';

export interface Machine {
  /** For the report. */
  readonly long: string;
  /** For a chart's subtitle, which must fit under one panel. */
  readonly short: string;
}

export async function describeMachine(admin: RedisAdmin, quiet: boolean): Promise<Machine> {
  const redisVersion = /redis_version:(\S+)/.exec(await admin.redis.info('server'))?.[1] ?? 'unknown';
  const short = `${cpus().length} cores, Node ${process.version}, Redis ${redisVersion}, ${new Date().toISOString().slice(0, 10)}`;
  const load = loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
  const long = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown'}), Node ${process.version}, Redis ${redisVersion} on 127.0.0.1, load average ${load} at start${quiet ? '' : ', OTHER BENCHMARKS WERE RUNNING'}`;
  return { long, short };
}

/** On SIGINT / SIGTERM, deletes the keys of the run in progress (`current()`), then exits 130. */
export function deleteRunKeysOnSignal(admin: RedisAdmin, current: () => string | undefined): void {
  const onSignal = () => {
    const prefix = current();
    void (prefix ? admin.deleteByPrefix(prefix) : Promise.resolve(0)).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
