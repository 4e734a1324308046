/**
 * The platform side of the fleet benchmark: container processes forked on demand, routed, frozen,
 * thawed and expired the way Lambda treats its execution environments.
 *
 * - An event goes to an idle warm container if there is one (the most recently used first), else to
 *   a cold one: a process that has never served an event and holds no connection. By default the
 *   cold processes are forked before the measured window (`prefork`) and the event waits for the
 *   process's own init time, measured when it started; when they run out (or with `prefork` 0) a
 *   process is forked on the event's arrival. On 2 cores, forking on arrival makes every burst a
 *   CPU storm (each tsx process takes ~0.4 s of CPU to start), and the cold starts then wait for
 *   CPU rather than for the database.
 * - Between invocations every container is frozen (SIGSTOP) and thawed (SIGCONT) just before its
 *   next event: nothing of it runs meanwhile, its timers included.
 * - An expired container is simply never thawed again: it stays stopped, its sockets open without a
 *   FIN (a zombie to the server), until the driver's run ends and every process is SIGKILLed.
 * - An invocation still running at its deadline fails with LAMBDA_TIMEOUT and its process is
 *   SIGKILLed (the platform resets the environment); so does an answer that arrives after the
 *   deadline (`LAMBDA_TIMEOUT (late …)`, with what the handler said). A process that dies counts as
 *   CONTAINER_EXITED.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { sleep } from '@cachefront/examples/connector-fleet';
import {
  type ContainerCounters,
  type ContainerMessage,
  type ContainerTask,
  isCollected,
  isReady,
  type ParentMessage,
  type ReadyMessage,
  type ReplyMessage,
} from './protocol.js';

const CONTAINER = fileURLToPath(new URL('./container.ts', import.meta.url));
const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
/** The loader of `pnpm --filter @cachefront/bench fleet` (bench/package.json): tsx with cachefront's source condition. */
const EXEC_ARGV = ['--import', 'tsx', '--conditions=@cachefront/source'];
const MYSQL_SOURCE = '/packages/mysql/src/index.ts';

export type ContainerState = 'starting' | 'running' | 'idle' | 'expired' | 'dead';

type Outcome = { readonly kind: 'reply'; readonly reply: ReplyMessage } | { readonly kind: 'timeout' } | { readonly kind: 'exited' };

/** One Lambda execution environment: a forked Node process. */
export class ContainerProcess {
  readonly number: number;
  readonly child: ChildProcess;
  readonly ready: Promise<ReadyMessage['ready']>;
  readonly exited: Promise<void>;
  state: ContainerState = 'starting';
  /** The counters of its last reply (cumulative). */
  counters: ContainerCounters | undefined;
  #stopped = false;
  #alive = true;
  #onReply: ((reply: ReplyMessage) => void) | undefined;
  #onCollected: (() => void) | undefined;

  constructor(number: number, task: ContainerTask, initTimeoutMs: number) {
    this.number = number;
    this.child = fork(CONTAINER, [JSON.stringify(task)], { cwd: BENCH_DIR, execArgv: EXEC_ARGV, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => {
        this.#alive = false;
        this.state = 'dead';
        resolve();
      });
      this.child.once('error', () => {
        this.#alive = false;
        this.state = 'dead';
        resolve();
      });
    });
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`container ${number} was not ready within ${initTimeoutMs} ms`)), initTimeoutMs);
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`container ${number} exited during its init`));
      });
      this.child.on('message', (message: ContainerMessage) => {
        if (isReady(message)) {
          clearTimeout(timer);
          if (!message.ready.resolvedMysql.endsWith(MYSQL_SOURCE)) {
            reject(new Error(`container ${number} resolved @cachefront/mysql to ${message.ready.resolvedMysql}, not its TypeScript source`));
          } else {
            resolve(message.ready);
          }
        } else if (isCollected(message)) {
          this.counters = message.counters;
          this.#onCollected?.();
        } else {
          this.counters = message.counters;
          this.#onReply?.(message);
        }
      });
    });
    this.ready.catch(() => {});
  }

  /** Thaws the process if frozen, sends it the event, and waits for its answer, its death or the deadline. */
  invoke(work: { readId: number; writeId: number | undefined; deadline: number }): Promise<Outcome> {
    this.state = 'running';
    this.thaw();
    return new Promise<Outcome>((resolve) => {
      const finish = (outcome: Outcome): void => {
        clearTimeout(timer);
        this.#onReply = undefined;
        resolve(outcome);
      };
      const timer = setTimeout(() => finish({ kind: 'timeout' }), Math.max(0, work.deadline - Date.now()));
      this.#onReply = (reply) => finish({ kind: 'reply', reply });
      void this.exited.then(() => finish({ kind: 'exited' }));
      const invoke = work.writeId === undefined ? { readId: work.readId, deadline: work.deadline } : work;
      this.#send({ invoke }, () => finish({ kind: 'exited' }));
    });
  }

  /** Asks a container past its deadline for its counters so far (it is killed next), waiting at most `timeoutMs`. */
  collect(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#onCollected = undefined;
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#onCollected = done;
      void this.exited.then(done);
      this.#send({ collect: true }, done);
    });
  }

  /** Thaws the process (a spare, frozen since its init). */
  thaw(): void {
    this.#signal('SIGCONT');
    this.#stopped = false;
  }

  #send(message: ParentMessage, onError: () => void): void {
    try {
      this.child.send(message, (error) => {
        if (error) onError();
      });
    } catch {
      onError();
    }
  }

  /** Freezes the process between invocations. */
  freeze(): void {
    this.#signal('SIGSTOP');
    this.#stopped = true;
  }

  get alive(): boolean {
    return this.#alive;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  kill(): void {
    this.#signal('SIGKILL');
  }

  #signal(signal: NodeJS.Signals): void {
    const { pid } = this.child;
    if (!this.#alive || pid === undefined) return;
    try {
      process.kill(pid, signal);
    } catch {
      // ESRCH: it is gone already; its exit event follows.
    }
  }
}

/** What the platform records of one event. */
export interface InvocationRecord {
  readonly ok: boolean;
  readonly error: string | undefined;
  readonly cold: boolean;
  /** The child's own measure of its handler; for a timeout, the time until the deadline. */
  readonly handlerMs: number;
  /** From the event's arrival to the answer: a cold start's fork and init included. */
  readonly endToEndMs: number;
}

export interface FleetOptions {
  readonly task: ContainerTask;
  readonly deadlineMs: number;
  readonly initTimeoutMs: number;
  readonly writeRatio: number;
  readonly random: () => number;
}

/** How long a container past its deadline is given to report its counters before it is killed. */
const COLLECT_MS = 500;
/** A spare is frozen only once it is this old (see prefork). */
const SETTLE_MS = 12_000;

/** The containers of one driver's run of one scenario. */
export class Fleet {
  readonly records: InvocationRecord[] = [];
  readonly containers: ContainerProcess[] = [];
  /** Per cold start: from the event's arrival to its process ready (fork, tsx, module scope). */
  readonly initMs: number[] = [];
  readonly #idle: ContainerProcess[] = [];
  /** Processes forked ahead, initialized and frozen: cold containers waiting for their first event. */
  readonly #spares: ContainerProcess[] = [];
  readonly #options: FleetOptions;
  #inFlight = 0;
  #forkedOnArrival = 0;
  /** Every process forked, spares included: all of them are killed at the end. */
  readonly #all: ContainerProcess[] = [];

  constructor(options: FleetOptions) {
    this.#options = options;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get failed(): number {
    return this.records.filter((record) => !record.ok).length;
  }

  /** Cold starts that found no spare and forked a process on the event's arrival. */
  get forkedOnArrival(): number {
    return this.#forkedOnArrival;
  }

  /** Spares not used yet. */
  get spares(): number {
    return this.#spares.length;
  }

  /**
   * Forks `count` processes before the measured window, `concurrency` at a time, lets them settle,
   * and freezes them. Returns their init times (fork to ready, as each child measured it).
   *
   * Settling: about 8 s after start V8's memory reducer runs a few full GCs in each isolate (the
   * main one and tsx's loader thread; ~50 ms of CPU, and the heap shrinks from ~30 to ~12 MB). A
   * process frozen before that runs them right after its thaw: 80 spares thawed by one wave then
   * starve everything else on 2 cores for seconds. So every spare stays unfrozen, idle, until it
   * is `SETTLE_MS` old.
   */
  async prefork(count: number, concurrency = cpus().length, signal?: AbortSignal): Promise<number[]> {
    const initMs: number[] = [];
    const forked: ContainerProcess[] = [];
    let newest = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count && !signal?.aborted) {
        next += 1;
        const container = this.#fork();
        const ready = await container.ready;
        initMs.push(ready.initMs);
        forked.push(container);
        newest = performance.now();
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
    await sleep(newest + SETTLE_MS - performance.now());
    for (const container of forked) container.freeze();
    this.#spares.push(...forked);
    return initMs;
  }

  get expired(): number {
    return this.containers.filter((container) => container.state === 'expired').length;
  }

  /** One event, arrived at `arrivedAt` (performance.now()): to a warm container, or to a new one. */
  async handle(arrivedAt: number): Promise<void> {
    this.#inFlight += 1;
    try {
      const { random, writeRatio, deadlineMs } = this.#options;
      const rows = this.#options.task.database.rows;
      const readId = 1 + Math.floor(random() * rows);
      const writeId = random() < writeRatio ? 1 + Math.floor(random() * rows) : undefined;
      let container = this.#idle.pop();
      const cold = container === undefined;
      if (container === undefined) {
        const spare = this.#spares.shift();
        container = spare ?? this.#fork();
        if (spare === undefined) this.#forkedOnArrival += 1;
        this.containers.push(container);
        container.state = 'running';
        try {
          const ready = await container.ready;
          if (spare !== undefined) {
            // A spare's init ran before the window: the event waits as long as that init took.
            spare.thaw();
            await sleep(ready.initMs);
          }
          this.initMs.push(performance.now() - arrivedAt);
        } catch (error) {
          container.kill();
          this.#record({ ok: false, error: `INIT_FAILED: ${(error as Error).message.slice(0, 60)}`, cold, handlerMs: 0, arrivedAt });
          return;
        }
      }
      const deadline = Date.now() + deadlineMs;
      const outcome = await container.invoke({ readId, writeId, deadline });
      switch (outcome.kind) {
        case 'reply': {
          const { reply } = outcome;
          if (Date.now() > deadline) {
            // The answer beat the timer by a few ms of event-loop lag, yet came after the deadline: a timeout on the platform.
            this.#record({ ok: false, error: `LAMBDA_TIMEOUT (late ${reply.ok ? 'success' : reply.error})`, cold, handlerMs: reply.handlerMs, arrivedAt });
            container.kill();
            container.state = 'dead';
            break;
          }
          // Frozen right after its answer, as the platform does once the handler returned.
          container.freeze();
          container.state = 'idle';
          this.#idle.push(container);
          this.#record({ ok: reply.ok, error: reply.error, cold, handlerMs: reply.handlerMs, arrivedAt });
          break;
        }
        case 'timeout':
          this.#record({ ok: false, error: 'LAMBDA_TIMEOUT', cold, handlerMs: deadlineMs, arrivedAt });
          // The platform resets the environment; its statements so far still count.
          await container.collect(COLLECT_MS);
          container.kill();
          container.state = 'dead';
          break;
        case 'exited':
          container.state = 'dead';
          this.#record({ ok: false, error: 'CONTAINER_EXITED', cold, handlerMs: 0, arrivedAt });
          break;
      }
    } finally {
      this.#inFlight -= 1;
    }
  }

  /** Each idle container expires with `probability`: it is left frozen, never used again. */
  expireIdle(probability: number, random: () => number): number {
    let expired = 0;
    for (let index = this.#idle.length - 1; index >= 0; index -= 1) {
      const container = this.#idle[index];
      if (container === undefined || random() >= probability) continue;
      container.state = 'expired';
      this.#idle.splice(index, 1);
      expired += 1;
    }
    return expired;
  }

  /** The counters of every container, summed (each container's last reply). */
  counters(): ContainerCounters {
    const sum: Record<string, number | undefined> = {};
    for (const container of this.containers) {
      if (container.counters === undefined) continue;
      for (const [name, value] of Object.entries(container.counters) as Array<[string, number | undefined]>) {
        if (value === undefined) continue;
        sum[name] = (sum[name] ?? 0) + value;
      }
    }
    return sum as unknown as ContainerCounters;
  }

  /** SIGKILLs every process (frozen, expired or running) and waits for them all to exit. */
  async teardown(): Promise<void> {
    for (const container of this.#all) container.kill();
    await Promise.all(this.#all.map((container) => container.exited));
    this.#idle.length = 0;
    this.#spares.length = 0;
  }

  #fork(): ContainerProcess {
    const container = new ContainerProcess(this.#all.length, this.#options.task, this.#options.initTimeoutMs);
    this.#all.push(container);
    return container;
  }

  #record(record: { ok: boolean; error: string | undefined; cold: boolean; handlerMs: number; arrivedAt: number }): void {
    this.records.push({ ok: record.ok, error: record.error, cold: record.cold, handlerMs: record.handlerMs, endToEndMs: performance.now() - record.arrivedAt });
  }
}
