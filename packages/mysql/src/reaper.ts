import { connectionLimit, type ProcessRow, type UsageSnapshot, utilization, zombieCandidates, zombieThresholdMs } from './budget.js';
import type { Context } from './context.js';
import type { DriverConnection } from './driver/driver.js';
import { CachefrontMysqlError } from './errors.js';
import { LostInFlight, socketGone } from './failures.js';
import type { Opener } from './opener.js';
import { MARIADB_PROCESSLIST, MYSQL_PROCESSLIST, type ProcesslistDialect, recheck } from './processlist.js';
import type { SlotPool } from './slot-pool.js';
import { KILL_STATEMENT, RDS_KILL_STATEMENT } from './statements.js';
import { queryWithin } from './timeouts.js';

export interface ReapOptions {
  /** Kill sleeping connections of this user idle at least this long. @default the adaptive threshold for the current utilization (`zombieThresholdMs`) */
  olderThanMs?: number;
  /** Only list the candidates; kill nothing. @default false */
  dryRun?: boolean;
}

export interface ReapResult {
  readonly limit: number;
  readonly used: number;
  readonly thresholdMs: number;
  /** The zombies found: this user's sleeping connections idle at least `thresholdMs`, not this connector's own; oldest first. */
  readonly candidates: ReadonlyArray<{ readonly id: number; readonly idleMs: number }>;
  /** Thread ids of the connections killed (each re-checked at kill time), oldest first; none in a dry run. */
  readonly killed: readonly number[];
}

type UsageRow = { id: number | string; command: string; idle: number | string; maxConnections: number | string; maxUserConnections: number | string };

/**
 * Zombie reaping (invariant 4): reads the processlist (the limit and the own user's threads, in the
 * server's dialect), and kills only sleeping connections of that user, older than a threshold,
 * never one of this connector's own, each re-checked at kill time. Every statement here is bounded
 * by `adminTimeoutMs`.
 */
export class Reaper {
  /** How the processlist is read; MariaDB's form until the server shows it has no TIME_MS. */
  #dialect: ProcesslistDialect = MARIADB_PROCESSLIST;

  constructor(
    private readonly ctx: Context,
    private readonly pool: SlotPool,
    private readonly opener: Opener,
  ) {}

  /** For a scheduled cleanup, outside the request path: kills this user's zombies idle at least `olderThanMs`. */
  async reap(options: ReapOptions): Promise<ReapResult> {
    const { opts, failures } = this.ctx;
    if (opts.rdsProxy) return { limit: 0, used: 0, thresholdMs: 0, candidates: [], killed: [] };
    const slot = await this.pool.acquire();
    try {
      // Every kill is re-checked, so reaping may run again: once more on a new connection when the
      // connection turns out to have been closed behind our back (idle timeout, KILL, restart).
      for (let attempt = 0; ; attempt += 1) {
        try {
          const connection = await this.opener.ready(slot, false);
          const snapshot = await this.usage(connection);
          const thresholdMs = options.olderThanMs ?? zombieThresholdMs(utilization(snapshot), opts);
          const candidates = zombieCandidates(snapshot.threads, this.pool.ownThreadIds(), thresholdMs).map(({ id, idleMs }) => ({ id, idleMs }));
          const killed = options.dryRun === true ? [] : await this.kill(connection, snapshot, thresholdMs);
          return { limit: snapshot.limit, used: snapshot.used, thresholdMs, candidates, killed };
        } catch (error) {
          if (error instanceof CachefrontMysqlError) throw error;
          const { kind } = failures.classify(error);
          if (kind === 'timeout') await this.pool.close(slot, 'timeout');
          if (!socketGone(kind)) throw failures.raise(error, true);
          await this.pool.close(slot, 'lost');
          if (attempt > 0) throw failures.raise(new LostInFlight(error, false, kind !== 'never-sent'), true);
          this.opener.reconnecting('stale-socket', 0);
        }
      }
    } finally {
      this.pool.release(slot);
    }
  }

  /** One round trip: the limit and the own user's threads. */
  async usage(connection: DriverConnection): Promise<UsageSnapshot> {
    const { bounds, failures, stats } = this.ctx;
    const timeout = bounds.admin();
    let rows: UsageRow[];
    try {
      rows = (await queryWithin(connection, this.#dialect.usage, [], timeout)) as UsageRow[];
    } catch (error) {
      if (!failures.classify(error).unknownColumn || this.#dialect === MYSQL_PROCESSLIST) throw error;
      this.#dialect = MYSQL_PROCESSLIST; // no TIME_MS: MySQL, whole seconds
      rows = (await queryWithin(connection, this.#dialect.usage, [], timeout)) as UsageRow[];
    }
    stats.usageChecks += 1;
    const first = rows[0];
    const limit = first ? connectionLimit(Number(first.maxConnections), Number(first.maxUserConnections)) : 0;
    const unit = this.#dialect.unitMs;
    const threads: ProcessRow[] = rows.map((row) => ({ id: Number(row.id), command: String(row.command), idleMs: Number(row.idle) * unit }));
    return { limit, used: threads.length, threads };
  }

  /** Kills the zombies of a snapshot (at most `atMost`, oldest first), after re-checking each is still ours, asleep and old. */
  async kill(connection: DriverConnection, snapshot: UsageSnapshot, thresholdMs: number, atMost = Number.POSITIVE_INFINITY): Promise<number[]> {
    const { opts, bounds, failures, stats, events } = this.ctx;
    const candidates = zombieCandidates(snapshot.threads, this.pool.ownThreadIds(), thresholdMs);
    if (candidates.length === 0) return [];
    // Whole units of the dialect, rounded up: never reap younger than the threshold.
    const minimumIdle = Math.ceil(thresholdMs / this.#dialect.unitMs);
    const check = recheck(
      this.#dialect,
      candidates.map((row) => row.id),
      minimumIdle,
    );
    const still = (await queryWithin(connection, check.text, check.values, bounds.admin())) as Array<{ id: number | string }>;
    const confirmed = new Set(still.map((row) => Number(row.id)));
    const killed: number[] = [];
    for (const candidate of candidates) {
      if (killed.length >= atMost) break;
      if (!confirmed.has(candidate.id)) continue;
      try {
        await queryWithin(connection, opts.killMethod === 'rds_kill' ? RDS_KILL_STATEMENT : KILL_STATEMENT, [candidate.id], bounds.admin());
        killed.push(candidate.id);
        stats.kills += 1;
        events.emit('kill', { threadId: candidate.id, idleMs: candidate.idleMs, reason: 'idle' });
      } catch (error) {
        const verdict = failures.classify(error);
        if (verdict.threadGone) continue; // a concurrent reaper got there first
        if (socketGone(verdict.kind) || verdict.kind === 'timeout') throw error;
        stats.killErrors += 1;
        events.emit('killError', { threadId: candidate.id, code: verdict.info.code, errno: verdict.info.errno });
      }
    }
    return killed;
  }
}
