/**
 * Fleet-wide single flight (invariant 2) across real processes: 4 Node processes (workers/lease-worker.ts,
 * run with tsx), each with its own Redis connections, released at the same moment, each making 50
 * concurrent gets of one cold key whose loader takes ~100 ms. Exactly one loader call in total, and
 * all 200 gets answer the value it loaded: the lease holder's get as a miss, the other 199 (in its
 * own process too) fresh from the fill — none is handed a load that began before it did.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../support/env.js';
import { randomNamespace } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';
import type { WorkerConfig, WorkerReport } from './workers/lease-worker.js';

const PROCESSES = 4;
const GETS = 50;
const LOAD_MS = 100;

/** tsx's CLI, run by this Node: what `npx tsx` runs, without npm in between. */
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const worker = fileURLToPath(new URL('./workers/lease-worker.ts', import.meta.url));
/** From test/, the package's "@cachefront/source" export condition resolves `@cachefront/cache` to its sources. */
const cwd = fileURLToPath(new URL('..', import.meta.url));

let redis: Redis;
const namespaces: string[] = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  // The control keys; the cache's own keys carry TTLs and expire by themselves.
  for (const namespace of namespaces) await redis.del(`${namespace}:counter`, `${namespace}:ready`, `${namespace}:go`);
  redis.disconnect();
});

interface Run {
  reports: WorkerReport[];
  loaderCalls: number;
}

function startWorker(config: WorkerConfig): { child: ChildProcess; done: Promise<WorkerReport> } {
  const child = spawn(process.execPath, [tsxCli, '--conditions=@cachefront/source', worker], {
    cwd,
    env: { ...process.env, CF_LEASE_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<WorkerReport>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`lease worker exited with ${String(code)}: ${stderr.slice(-2000)}`));
      try {
        resolve(JSON.parse(stdout.trim()) as WorkerReport);
      } catch (error) {
        reject(new Error(`lease worker printed no report: ${stdout.slice(0, 500)} ${stderr.slice(-2000)}`, { cause: error }));
      }
    });
  });
  return { child, done };
}

/** Starts the workers, waits until every one is connected and blocked on the go key, then releases them all at once. */
async function stampede(mode: WorkerConfig['mode']): Promise<Run> {
  const namespace = randomNamespace();
  namespaces.push(namespace);
  const config: WorkerConfig = {
    redisUrl: REDIS_URL,
    namespace,
    counterKey: `${namespace}:counter`,
    readyKey: `${namespace}:ready`,
    goKey: `${namespace}:go`,
    gets: GETS,
    loadMs: LOAD_MS,
    leaseWaitMs: 2000,
    mode,
  };
  const workers = Array.from({ length: PROCESSES }, () => startWorker(config));
  try {
    await Promise.race([
      waitFor(async () => Number(await redis.get(config.readyKey)) === PROCESSES, { timeoutMs: 30_000, message: 'every worker ready' }),
      // A worker that dies while starting fails the test at once, with its stderr.
      Promise.all(workers.map((w) => w.done)).then(() => {
        throw new Error('the workers ended before the start');
      }),
    ]);
    // One RPUSH wakes every blocked worker: one element each.
    await redis.rpush(config.goKey, ...Array.from({ length: PROCESSES }, () => 'go'));
    const reports = await Promise.all(workers.map((w) => w.done));
    return { reports, loaderCalls: Number(await redis.get(config.counterKey)) };
  } finally {
    for (const { child } of workers) if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}

describe('one load across 4 processes', () => {
  for (const mode of ['shared', 'separate'] as const) {
    // One view per process: its concurrent gets share attempts (never one that began before them):
    // one lease contender per process. One view per get: every get is its own lease contender.
    const how = mode === 'shared' ? 'one entity view per process' : 'one entity view per get';
    it(`200 concurrent gets of a cold key, ${how}: one loader call, one value`, async () => {
      const { reports, loaderCalls } = await stampede(mode);
      expect(reports).toHaveLength(PROCESSES);
      expect(new Set(reports.map((r) => r.pid)).size).toBe(PROCESSES);
      const results = reports.flatMap((r) => r.results);
      expect(results).toHaveLength(PROCESSES * GETS);

      expect(loaderCalls).toBe(1);
      const [first] = results;
      expect(first?.value.n).toBe(1);
      for (const result of results) expect(result.value).toEqual(first?.value);

      // The process whose get took the lease loaded; every other one waited for it and read its fill.
      const loaders = reports.filter((r) => r.stats.loads === 1);
      expect(loaders.map((r) => r.pid)).toEqual([first?.value.pid]);
      expect(reports.reduce((sum, r) => sum + r.stats.loads, 0)).toBe(1);
      expect(reports.reduce((sum, r) => sum + r.stats.fills, 0)).toBe(1);
      const waiters = reports.filter((r) => r.pid !== first?.value.pid);
      for (const report of waiters) {
        // It was there while the load ran: it started before the value was loaded, and waited on the lease.
        expect(report.startedAt).toBeLessThan(first?.value.loadedAt ?? 0);
        expect(report.stats.leaseWaits).toBeGreaterThanOrEqual(1);
        expect(report.leaseWaits.every((w) => w.outcome === 'value')).toBe(true);
        expect(report.results.every((r) => r.status === 'fresh')).toBe(true);
      }
      const statuses = results.map((r) => r.status);
      // Only the lease holder's get loaded; every other get, in its process too, waited and read the fill.
      expect(statuses.filter((s) => s === 'miss')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'fresh')).toHaveLength(PROCESSES * GETS - 1);
      const contenders = reports.reduce((sum, r) => sum + r.stats.leaseWaits, 0);
      expect(contenders).toBe(mode === 'shared' ? PROCESSES - 1 : PROCESSES * GETS - 1);
    });
  }
});
