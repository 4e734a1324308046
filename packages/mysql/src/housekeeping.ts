import type { Context } from './context.js';
import type { DriverConnection } from './driver/driver.js';
import type { Opener } from './opener.js';
import type { SlotPool } from './slot-pool.js';

export interface EndResult {
  /** Whether the connection budget was checked in this call (for the processlist policy: the processlist was read). */
  readonly checked: boolean;
  readonly limit: number | undefined;
  readonly used: number | undefined;
  /** Thread ids of the zombies killed in this call, oldest first. */
  readonly killed: readonly number[];
  /** Whether this container's connection was closed to get under the threshold. */
  readonly closed: boolean;
}

/** What `end()` answers when it checks nothing. */
export const NOT_CHECKED: EndResult = Object.freeze({ checked: false, limit: undefined, used: undefined, killed: Object.freeze([]), closed: false });

/** What an end policy found and did. */
export interface EndOutcome {
  readonly limit: number;
  readonly used: number;
  readonly killed: readonly number[];
  /** Whether this container must give its own connection back. */
  readonly close: boolean;
}

/**
 * The seam of `end()`: what keeps the application's user inside its connection budget after an
 * invocation, given this container's idle connection. Built in: the processlist policy
 * (`processlist-policy.ts`: read the processlist, reap zombies, close when that is not enough). The
 * fleet budget — connection slots as leases in Redis (DESIGN.md) — plugs in here, beside it.
 */
export interface EndPolicy {
  /** Whether a check is due now. `pressure`: a connect of this invocation was refused for the connection count. */
  due(pressure: boolean): boolean;
  check(connection: DriverConnection, pressure: boolean): Promise<EndOutcome>;
}

/**
 * `end()` after every invocation: takes this container's idle connection, asks the policy, closes
 * the connection when told to. A failure here must not fail the invocation that already succeeded:
 * it is reported once, as an `error` event (not counted among the errors raised to callers), and
 * the connection is dropped.
 */
export class Housekeeping {
  constructor(
    private readonly ctx: Context,
    private readonly pool: SlotPool,
    private readonly opener: Opener,
    private readonly policy: EndPolicy,
  ) {}

  async end(): Promise<EndResult> {
    const { opts, stats, events, failures } = this.ctx;
    stats.ends += 1;
    if (!opts.manageConns || opts.rdsProxy) return NOT_CHECKED;
    const idle = this.pool.idleConnection();
    if (idle === undefined) return NOT_CHECKED;
    // This invocation waited for a slot (1040 / 1203 / 1226): the server is full whatever our own
    // user's count says (other users, monitoring sessions), so check now and act as at full use.
    const pressure = this.opener.takeRefusal();
    if (!this.policy.due(pressure)) return NOT_CHECKED;
    const { slot, connection } = idle;
    this.pool.take(slot);
    try {
      const outcome = await this.policy.check(connection, pressure);
      if (outcome.close) await this.pool.close(slot, 'utilization');
      return { checked: true, limit: outcome.limit, used: outcome.used, killed: outcome.killed, closed: outcome.close };
    } catch (error) {
      events.emit('error', { error: failures.wrap(error, false) });
      await this.pool.close(slot, failures.classify(error).kind === 'timeout' ? 'timeout' : 'lost');
      return NOT_CHECKED;
    } finally {
      this.pool.release(slot);
    }
  }
}
