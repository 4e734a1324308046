import type { AdminSession } from '../shared/admin-session.js';
import { ConnectionMonitor } from '../shared/connection-monitor.js';
import { abortableSleep, disposeWithin } from '../shared/lifecycle.js';
import { InvocationLog, type InvocationTally } from '../shared/metrics.js';
import { type BurstPlan, totalInvocations, validatePlan } from './burst-plan.js';
import { Container } from './container.js';
import type { AppDatabase, DriverAdapter, DriverCounters } from './driver-adapter.js';

export interface BurstProgress {
  readonly driver: string;
  readonly wave: number;
  readonly waves: number;
  /** `wave` while containers handle requests, `gap` while they are frozen between waves. */
  readonly phase: 'wave' | 'gap';
  readonly done: number;
  readonly total: number;
  readonly failed: number;
  readonly connections: number;
  readonly peak: number;
}

export interface BurstOptions {
  readonly adapter: DriverAdapter;
  readonly database: AppDatabase;
  readonly plan: BurstPlan;
  /** The privileged session that samples the processlist and cleans up; not one of the fleet's. */
  readonly admin: AdminSession;
  /** The connection limit the user runs against, for the report. */
  readonly connectionLimit: number;
  /** Stops the run after the invocations in flight (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** Called about five times a second while the run lasts. */
  readonly onProgress?: (progress: BurstProgress) => void;
  /** How often the processlist is sampled. @default 20 */
  readonly sampleIntervalMs?: number;
}

export interface BurstResult extends InvocationTally {
  readonly driver: string;
  readonly description: string;
  readonly connectionLimit: number;
  /** Most connections of the user seen at once (sampled every ~20 ms). */
  readonly peakConnections: number;
  /** Connections of the user still open when the last wave ended (warm containers and zombies). */
  readonly leftOpen: number;
  /** Of those, connections whose container the platform had dropped: nothing will ever close them. */
  readonly zombiesLeftOpen: number;
  readonly containersStarted: number;
  readonly containersExpired: number;
  readonly counters: DriverCounters;
  /** From the first request to the end of the last wave, quiet gaps between waves included. */
  readonly wallMs: number;
  readonly aborted: boolean;
}

/**
 * Runs a burst of simulated containers through one driver: every wave, each live container handles
 * `invocationsPerWave` requests; between waves some containers are dropped without closing
 * anything (their connections stay open) and replaced by cold ones. Afterwards every client is
 * disposed and the user's remaining connections are killed, so the next run starts clean.
 */
export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const { adapter, database, admin, signal } = options;
  const plan = validatePlan(options.plan);
  const log = new InvocationLog();
  const monitor = new ConnectionMonitor(admin, database.user, options.sampleIntervalMs ?? 20);
  let nextNumber = 0;
  const spawn = (): Container => new Container(nextNumber++, adapter, database, plan.seed);
  let live = Array.from({ length: plan.containers }, spawn);
  const expired: Container[] = [];
  let wave = 0;
  let phase: BurstProgress['phase'] = 'wave';

  const report = (): void =>
    options.onProgress?.({
      driver: adapter.name,
      wave: wave + 1,
      waves: plan.waves,
      phase,
      done: log.count,
      total: totalInvocations(plan),
      failed: log.failed,
      connections: monitor.latest,
      peak: monitor.peak,
    });
  const ticker = setInterval(report, 200);
  monitor.start();
  const started = performance.now();
  let wallMs = 0;
  try {
    for (; wave < plan.waves && !signal?.aborted; wave += 1) {
      phase = 'wave';
      const profile = { writeRatio: plan.writeRatio, thinkMs: plan.thinkMs, timeoutMs: plan.invocationTimeoutMs };
      await Promise.all(
        live.map(async (container) => {
          await container.arrive(plan.rampMs);
          await container.serve(plan.invocationsPerWave, profile, log, signal);
        }),
      );
      if (wave === plan.waves - 1) break;
      // The platform drops some containers: their clients are abandoned mid-life, sockets open.
      const dropped = live.filter((container) => container.drawExpiry(plan.expireRatio));
      expired.push(...dropped);
      live = live.map((container) => (dropped.includes(container) ? spawn() : container));
      phase = 'gap';
      report();
      await abortableSleep(plan.waveGapMs, signal);
    }
    wallMs = performance.now() - started;
  } finally {
    clearInterval(ticker);
    report();
  }
  try {
    const peakConnections = await monitor.stop();
    const open = new Set(await admin.threadIdsOf(database.user));
    const zombieIds = expired.map((container) => container.client.threadId()).filter((id): id is number => id !== undefined && open.has(id));
    return {
      ...log.tally(),
      driver: adapter.name,
      description: adapter.description,
      connectionLimit: options.connectionLimit,
      peakConnections,
      leftOpen: open.size,
      zombiesLeftOpen: zombieIds.length,
      containersStarted: nextNumber,
      containersExpired: expired.length,
      counters: adapter.counters(),
      wallMs,
      aborted: signal?.aborted ?? false,
    };
  } finally {
    await monitor.stop();
    await disposeWithin([...live, ...expired].map((container) => () => container.client.dispose()));
    await admin.killAllOf(database.user);
  }
}
