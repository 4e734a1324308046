/**
 * The machine has 2 cores: a benchmark measured while another one runs measures both. Before
 * starting, wait (bounded) until no other benchmark process is running.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { sleep } from './fixtures.js';

const BENCHMARK = /(?:burst|cache)\/run\.ts|cache\/growth-run\.ts|bench:(?:burst|cache|growth)|vitest/;

function parentOf(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function ancestors(): Set<number> {
  const out = new Set<number>([process.pid]);
  let pid: number | undefined = process.ppid;
  for (let depth = 0; pid !== undefined && depth < 64; depth += 1) {
    out.add(pid);
    pid = parentOf(pid);
  }
  return out;
}

/** Other processes that look like a benchmark or a test run: "pid command line". */
export function otherBenchmarks(): string[] {
  const mine = ancestors();
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || mine.has(pid)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch {
      continue;
    }
    if (BENCHMARK.test(cmdline) && !mine.has(parentOf(pid) ?? -1)) found.push(`${pid} ${cmdline.slice(0, 160)}`);
  }
  return found;
}

/** Waits until no other benchmark runs, polling every `pollMs`, at most `maxWaitMs`. Returns whether the machine was quiet. */
export async function waitForQuietMachine(maxWaitMs: number, pollMs = 10_000, log: (line: string) => void = console.error): Promise<boolean> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const others = otherBenchmarks();
    if (others.length === 0) return true;
    if (Date.now() >= deadline) {
      log(`Other benchmarks still running after ${Math.round(maxWaitMs / 1000)} s; measuring anyway, results are suspect:\n  ${others.join('\n  ')}`);
      return false;
    }
    log(`Waiting for other benchmarks to finish (load ${loadavg()[0]?.toFixed(2)}):\n  ${others.join('\n  ')}`);
    await sleep(pollMs);
  }
}
