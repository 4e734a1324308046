/**
 * Scenario 4: a cold key read by `processes` Node processes at once, `requests` concurrent reads in
 * each. The workers are forked with tsx and the `@cachefront/source` condition (so they run
 * cachefront's TypeScript source, like the parent); each must resolve `@cachefront/cache` to
 * packages/cache/src. Loader calls are counted in Redis by the loader itself.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RedisAdmin } from './redis-admin.js';
import type { ParentMessage, StampedeLibrary, StampedeTask, WorkerMessage } from './stampede-protocol.js';

export interface StampedePlan {
  readonly processes: number;
  readonly requests: number;
  readonly loaderMs: number;
  /** Longest a worker may take to get ready or to finish before the scenario fails. */
  readonly timeoutMs: number;
}

export const DEFAULT_STAMPEDE_PLAN: StampedePlan = { processes: 4, requests: 1000, loaderMs: 50, timeoutMs: 60_000 };

export interface StampedeResult {
  readonly library: StampedeLibrary;
  readonly loaderCalls: number;
  /** Slowest process: from its `go` to its last request settling. */
  readonly slowestProcessMs: number;
  readonly ok: number;
  readonly failed: number;
  readonly firstError: string | undefined;
  readonly statuses: Readonly<Record<string, number>>;
}

const WORKER = fileURLToPath(new URL('./stampede-worker.ts', import.meta.url));
const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
const CACHE_SOURCE = '/packages/cache/src/index.ts';

type Done = Extract<WorkerMessage, { type: 'done' }>;

class Worker {
  readonly child: ChildProcess;
  readonly ready: Promise<string>;
  readonly done: Promise<Done>;
  /** Resolves with the exit code when the process ends. */
  readonly exit: Promise<number | null>;

  constructor(task: StampedeTask, timeoutMs: number) {
    this.child = fork(WORKER, [JSON.stringify(task)], {
      cwd: BENCH_DIR,
      execArgv: ['--import', 'tsx', '--conditions=@cachefront/source'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exit = new Promise((resolve) => {
      this.child.once('exit', (code) => resolve(code));
      this.child.once('error', () => resolve(null));
    });
    const exited = this.exit.then((code) => {
      throw new Error(`a stampede worker exited early (code ${String(code)})`);
    });
    const message = <T extends WorkerMessage['type']>(type: T) =>
      new Promise<Extract<WorkerMessage, { type: T }>>((resolve) => {
        const listen = (m: WorkerMessage) => {
          if (m.type !== type) return;
          this.child.off('message', listen);
          resolve(m as Extract<WorkerMessage, { type: T }>);
        };
        this.child.on('message', listen);
      });
    const guarded = <T>(promise: Promise<T>, what: string) =>
      Promise.race([
        promise,
        exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`a stampede worker did not ${what} within ${timeoutMs} ms`)), timeoutMs).unref()),
      ]);
    this.ready = guarded(
      message('ready').then((m) => m.resolvedCache),
      'get ready',
    );
    this.done = guarded(message('done'), 'finish');
    // Both are awaited later; keep an early rejection from being reported as unhandled meanwhile.
    this.ready.catch(() => {});
    this.done.catch(() => {});
  }

  go(): void {
    const message: ParentMessage = { type: 'go' };
    this.child.send(message);
  }

  /** Lets the process close its connections and exit; kills it if it has not within `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    const timer = setTimeout(() => this.child.kill(), graceMs);
    await this.exit;
    clearTimeout(timer);
  }
}

export async function runStampede(library: StampedeLibrary, prefix: string, admin: RedisAdmin, plan: StampedePlan): Promise<StampedeResult> {
  const counterKey = `${prefix}:stampede:${library}:loads`;
  const task: StampedeTask = { library, prefix, id: 9_000_000, counterKey, requests: plan.requests, loaderMs: plan.loaderMs };
  const workers = Array.from({ length: plan.processes }, () => new Worker(task, plan.timeoutMs));
  try {
    const resolved = await Promise.all(workers.map((worker) => worker.ready));
    for (const url of resolved) {
      if (!url.endsWith(CACHE_SOURCE)) throw new Error(`a stampede worker resolved @cachefront/cache to ${url}, not its TypeScript source`);
    }
    for (const worker of workers) worker.go();
    const done = await Promise.all(workers.map((worker) => worker.done));
    const statuses: Record<string, number> = {};
    for (const d of done) for (const [status, n] of Object.entries(d.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
    return {
      library,
      loaderCalls: Number((await admin.redis.get(counterKey)) ?? 0),
      slowestProcessMs: Math.max(...done.map((d) => d.elapsedMs)),
      ok: done.reduce((sum, d) => sum + d.ok, 0),
      failed: done.reduce((sum, d) => sum + d.failed, 0),
      firstError: done.find((d) => d.firstError !== undefined)?.firstError,
      statuses,
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop(5000)));
  }
}
