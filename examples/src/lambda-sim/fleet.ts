import type { AdminSession } from '../shared/admin-session.js';
import { ConnectionMonitor } from '../shared/connection-monitor.js';
import { abortableSleep, disposeWithin, sleep } from '../shared/lifecycle.js';
import { errorLabel } from '../shared/metrics.js';
import { type Random, randomInt } from '../shared/random.js';
import { type AppFactory, type AppInstance, type CacheReads, type DbTarget, eventFor, type HttpResult, type InvocationContext } from './app.js';
import type { ChartPoint } from './chart.js';
import { type CatalogShape, containerRandom, drawRequest, type Route, type TrafficMix } from './traffic.js';

/** The shape of one run's traffic. Both apps face exactly the same plan and seed. */
export interface FleetPlan {
  /** Containers alive in each wave (expired ones are replaced by cold ones). */
  readonly containers: number;
  readonly waves: number;
  /** Invocations each container serves per wave; ignored when `waveMs` is set. */
  readonly invocationsPerWave: number;
  /** When set, each container serves requests for this long per wave instead of a fixed count. */
  readonly waveMs: number | undefined;
  /** Share of containers the platform drops between waves, without closing anything. */
  readonly expireRatio: number;
  /** Quiet time between waves: every container is frozen. */
  readonly waveGapMs: number;
  /** A container's first request of a wave arrives within this window. */
  readonly rampMs: number;
  /** Largest pause (frozen) before each invocation of a container. */
  readonly thinkMs: number;
  /** The function's timeout. */
  readonly timeoutMs: number;
  readonly seed: number;
  readonly mix: TrafficMix;
  readonly shape: CatalogShape;
}

export interface FleetProgress {
  readonly app: string;
  readonly wave: number;
  readonly waves: number;
  readonly phase: 'wave' | 'frozen';
  readonly done: number;
  /** Invocations planned, or undefined in duration mode. */
  readonly total: number | undefined;
  /** 0..1: of the invocations, or of the planned time in duration mode. */
  readonly fraction: number;
  readonly failed: number;
  readonly connections: number;
  readonly peak: number;
}

export interface RunResult {
  readonly app: string;
  readonly description: string;
  readonly invocations: number;
  readonly ok: number;
  readonly failed: number;
  /** Failed invocations by label: `HTTP 503 E_CONNECTION_LIMIT`, `ER_USER_LIMIT_REACHED (1226)`, `LAMBDA_TIMEOUT`. */
  readonly failures: ReadonlyMap<string, number>;
  readonly byRoute: ReadonlyMap<Route, number>;
  readonly latenciesMs: readonly number[];
  readonly queries: number;
  /** Undefined for an app without a cache. */
  readonly cache: CacheReads | undefined;
  readonly connectionLimit: number;
  readonly peakConnections: number;
  readonly leftOpen: number;
  readonly zombiesLeftOpen: number;
  readonly containersStarted: number;
  readonly containersExpired: number;
  readonly timeline: readonly ChartPoint[];
  readonly waveBands: ReadonlyArray<{ fromMs: number; toMs: number; label: string }>;
  readonly wallMs: number;
  readonly aborted: boolean;
}

export interface FleetOptions {
  readonly factory: AppFactory;
  readonly target: DbTarget;
  /** The user whose connections are counted. */
  readonly user: string;
  readonly plan: FleetPlan;
  readonly admin: AdminSession;
  readonly connectionLimit: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: FleetProgress) => void;
}

/** The function ran past its timeout: the platform kills the invocation. */
export class InvocationTimeoutError extends Error {
  override readonly name = 'InvocationTimeoutError';
  readonly code = 'LAMBDA_TIMEOUT';
}

class Outcomes {
  readonly latencies: number[] = [];
  readonly failures = new Map<string, number>();
  readonly byRoute = new Map<Route, number>();
  ok = 0;
  get done(): number {
    return this.latencies.length;
  }
  get failed(): number {
    return this.latencies.length - this.ok;
  }
  record(route: Route, latencyMs: number, failure: string | undefined): void {
    this.latencies.push(latencyMs);
    this.byRoute.set(route, (this.byRoute.get(route) ?? 0) + 1);
    if (failure === undefined) this.ok += 1;
    else this.failures.set(failure, (this.failures.get(failure) ?? 0) + 1);
  }
}

/** How a response counts: 2xx is a success; anything else is a failure labelled with its status and error code. */
export function responseFailure(result: HttpResult): string | undefined {
  if (result.statusCode >= 200 && result.statusCode < 300) return undefined;
  let code: string | undefined;
  try {
    const body = JSON.parse(result.body ?? '') as { code?: unknown; error?: unknown };
    const candidate = body.code ?? body.error;
    if (typeof candidate === 'string') code = candidate;
    else if (typeof candidate === 'object' && candidate !== null && typeof (candidate as { code?: unknown }).code === 'string') {
      code = (candidate as { code: string }).code;
    }
  } catch {
    // not JSON: the status alone
  }
  return code ? `HTTP ${result.statusCode} ${code}` : `HTTP ${result.statusCode}`;
}

/** One Lambda execution environment: an app created at cold start, reused warm, frozen between invocations. */
class Container {
  readonly app: AppInstance;
  readonly #random: Random;
  #requests = 0;

  constructor(
    readonly number: number,
    factory: AppFactory,
    target: DbTarget,
    seed: number,
  ) {
    this.app = factory.create(target, number);
    this.#random = containerRandom(seed, number);
  }

  async serveWave(plan: FleetPlan, outcomes: Outcomes, waveEnds: number | undefined, signal: AbortSignal | undefined): Promise<void> {
    await sleep(randomInt(this.#random, 0, plan.rampMs));
    for (let index = 0; !signal?.aborted; index += 1) {
      if (waveEnds === undefined ? index >= plan.invocationsPerWave : Date.now() >= waveEnds) break;
      await this.#invoke(plan, outcomes);
      // Frozen until the next request arrives.
      await sleep(randomInt(this.#random, 0, plan.thinkMs));
    }
  }

  /**
   * Whether the platform drops this container after wave `wave`: drawn from a stream of its own
   * (seed, wave, container), so both apps lose the same containers even when, in duration mode,
   * they served different numbers of requests.
   */
  drawExpiry(ratio: number, seed: number, wave: number): boolean {
    return containerRandom((seed ^ 0x5bd1e995) + wave * 104_729, this.number)() < ratio;
  }

  async #invoke(plan: FleetPlan, outcomes: Outcomes): Promise<void> {
    const request = drawRequest(this.#random, plan.mix, plan.shape);
    const deadline = Date.now() + plan.timeoutMs;
    this.#requests += 1;
    const context: InvocationContext = {
      awsRequestId: `c${this.number}-r${this.#requests}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    const started = performance.now();
    const running = this.app.handlers[request.route](eventFor(request, context.awsRequestId), context);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), plan.timeoutMs);
    });
    try {
      const outcome = await Promise.race([running, timeout]);
      if (outcome === 'timeout') {
        outcomes.record(request.route, plan.timeoutMs, errorLabel(new InvocationTimeoutError('timeout')));
        // The container stays busy until the work really stops.
        await running.catch(() => {});
      } else {
        const failure = responseFailure(outcome);
        const code = failure === undefined ? undefined : this.app.failureCode(context.awsRequestId);
        outcomes.record(request.route, performance.now() - started, code === undefined ? failure : `${failure} (${code})`);
      }
    } catch (error) {
      // The handler threw: the platform answers 502 for it.
      outcomes.record(request.route, performance.now() - started, errorLabel(error));
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Runs the plan through one app: each wave, every live container serves its requests; between
 * waves the whole fleet is frozen and some containers are dropped without closing anything (their
 * connections and Redis clients stay open) and replaced by cold ones. The user's connections are
 * sampled from the processlist all along. Afterwards every app is disposed and the user's
 * connections are killed, so the next run starts clean.
 */
export async function runFleet(options: FleetOptions): Promise<RunResult> {
  const { factory, target, plan, admin, signal } = options;
  const outcomes = new Outcomes();
  const monitor = new ConnectionMonitor(admin, options.user, 20);
  let next = 0;
  const spawn = (): Container => new Container(next++, factory, target, plan.seed);
  let live = Array.from({ length: plan.containers }, spawn);
  const expired: Container[] = [];
  const timeline: ChartPoint[] = [];
  const bands: Array<{ fromMs: number; toMs: number; label: string }> = [];
  const total = plan.waveMs === undefined ? plan.containers * plan.waves * plan.invocationsPerWave : undefined;
  const plannedMs = plan.waves * ((plan.waveMs ?? 0) + plan.rampMs) + (plan.waves - 1) * plan.waveGapMs;
  let wave = 0;
  let phase: FleetProgress['phase'] = 'wave';
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;

  const report = (): void => {
    const fraction = total !== undefined ? outcomes.done / Math.max(1, total) : Math.min(1, elapsed() / Math.max(1, plannedMs));
    options.onProgress?.({
      app: factory.name,
      wave: Math.min(wave + 1, plan.waves),
      waves: plan.waves,
      phase,
      done: outcomes.done,
      total,
      fraction,
      failed: outcomes.failed,
      connections: monitor.latest,
      peak: monitor.peak,
    });
  };
  monitor.start();
  const sampler = setInterval(() => timeline.push({ tMs: Math.round(elapsed()), value: monitor.latest }), 100);
  const ticker = setInterval(report, 200);
  let wallMs = 0;
  try {
    for (; wave < plan.waves && !signal?.aborted; wave += 1) {
      phase = 'wave';
      const from = elapsed();
      const waveEnds = plan.waveMs === undefined ? undefined : Date.now() + plan.rampMs + plan.waveMs;
      await Promise.all(live.map((container) => container.serveWave(plan, outcomes, waveEnds, signal)));
      bands.push({ fromMs: Math.round(from), toMs: Math.round(elapsed()), label: `wave ${wave + 1}` });
      if (wave === plan.waves - 1) break;
      // The platform drops some containers: apps abandoned mid-life, sockets open.
      const dropped = new Set(live.filter((container) => container.drawExpiry(plan.expireRatio, plan.seed, wave)));
      expired.push(...dropped);
      live = live.map((container) => (dropped.has(container) ? spawn() : container));
      phase = 'frozen';
      report();
      await abortableSleep(plan.waveGapMs, signal);
    }
    wallMs = elapsed();
    // A last look at what stays open once the traffic stops.
    await sleep(150);
    timeline.push({ tMs: Math.round(elapsed()), value: monitor.latest });
  } finally {
    clearInterval(ticker);
    clearInterval(sampler);
    report();
  }
  const all = [...live, ...expired];
  try {
    const peakConnections = await monitor.stop();
    const open = new Set(await admin.threadIdsOf(options.user));
    const zombies = expired.map((container) => container.app.threadId()).filter((id): id is number => id !== undefined && open.has(id));
    const cacheReads = all.map((container) => container.app.cacheReads());
    const cache = cacheReads.some((reads) => reads !== undefined)
      ? cacheReads.reduce<CacheReads>(
          (sum, reads) => ({
            hits: sum.hits + (reads?.hits ?? 0),
            stale: sum.stale + (reads?.stale ?? 0),
            misses: sum.misses + (reads?.misses ?? 0),
            loaderWaits: sum.loaderWaits + (reads?.loaderWaits ?? 0),
          }),
          { hits: 0, stale: 0, misses: 0, loaderWaits: 0 },
        )
      : undefined;
    return {
      app: factory.name,
      description: factory.description,
      invocations: outcomes.done,
      ok: outcomes.ok,
      failed: outcomes.failed,
      failures: new Map([...outcomes.failures].sort((a, b) => b[1] - a[1])),
      byRoute: outcomes.byRoute,
      latenciesMs: outcomes.latencies,
      queries: all.reduce((sum, container) => sum + container.app.queries(), 0),
      cache,
      connectionLimit: options.connectionLimit,
      peakConnections,
      leftOpen: open.size,
      zombiesLeftOpen: zombies.length,
      containersStarted: next,
      containersExpired: expired.length,
      timeline,
      waveBands: bands,
      wallMs,
      aborted: signal?.aborted ?? false,
    };
  } finally {
    await monitor.stop();
    await disposeWithin(all.map((container) => () => container.app.dispose()));
    await admin.killAllOf(options.user);
  }
}
