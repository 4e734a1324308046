import type { Context } from './context.js';
import type { DriverConnection } from './driver/driver.js';
import type { HeldLease, LeaseKeeper } from './fleet/lease-keeper.js';
import type { Opener } from './opener.js';
import type { Slot, SlotPool } from './slot-pool.js';

export interface EndResult {
  /**
   * Whether the connection budget was checked in this call: for the processlist policy, the
   * processlist was read; with a fleet budget, its last renewal was consulted (no round trip).
   */
  readonly checked: boolean;
  readonly limit: number | undefined;
  readonly used: number | undefined;
  /** Thread ids of the zombies killed in this call, oldest first. */
  readonly killed: readonly number[];
  /** Whether this container's connection was closed: to get under the threshold, or handed over to the fleet budget's waiters. */
  readonly closed: boolean;
}

/** What `end()` answers when it checks nothing. */
export const NOT_CHECKED: EndResult = Object.freeze({ checked: false, limit: undefined, used: undefined, killed: Object.freeze([]), closed: false });
/** With a fleet budget: nobody waited, the connection stays warm. */
const KEPT: EndResult = Object.freeze({ ...NOT_CHECKED, checked: true });
/** With a fleet budget: others waited, the slot went to them. */
const HANDED_OVER: EndResult = Object.freeze({ ...KEPT, closed: true });

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
    const { opts, stats, events, failures, leases } = this.ctx;
    stats.ends += 1;
    const used = this.opener.takeUse();
    if (!opts.manageConns || opts.rdsProxy) return NOT_CHECKED;
    const idle = this.pool.idleConnection();
    if (idle === undefined) return NOT_CHECKED;
    // This invocation waited for a slot (1040 / 1203 / 1226): the server is full whatever our own
    // user's count says (other users, monitoring sessions), so check now and act as at full use.
    const pressure = this.opener.takeRefusal();
    // An invocation that never touched the database (a cache hit) changed nothing to check.
    if (!used && !pressure) return NOT_CHECKED;
    const { slot, connection } = idle;
    // With a fleet budget, what the last renewal said decides: no round trip to the database.
    if (slot.lease && leases && !pressure) return this.#budgetEnd(slot, slot.lease, leases);
    if (!this.policy.due(pressure)) return NOT_CHECKED;
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

  /**
   * Hands the slot over when the budget says a waiter needs it (closes the connection, then
   * releases the lease); keeps it warm otherwise. When the budget kept it only because a waiter's
   * grace is not over, asks again once it is, if the connection is still idle by then (a frozen
   * container never does: its shortened lease lets the waiter claim the seat instead).
   */
  async #budgetEnd(slot: Slot, held: HeldLease, leases: LeaseKeeper, immediate = false): Promise<EndResult> {
    const { stats, events } = this.ctx;
    // Held while the store decides: an operation that starts meanwhile waits for the slot.
    this.pool.take(slot);
    try {
      const { verdict, recheckMs } = await leases.handOver(held, immediate);
      if (verdict === 'keep') {
        if (recheckMs !== undefined) this.#recheckLater(slot, held, leases, recheckMs);
        return KEPT;
      }
      if (verdict === 'hand-over') {
        stats.handOvers += 1;
        events.emit('handOver', { budget: leases.budget.name, threadId: held.threadId, waiting: held.waiting });
      }
      await this.pool.close(slot, verdict === 'hand-over' ? 'hand-over' : 'lapsed-lease');
      return HANDED_OVER;
    } finally {
      this.pool.release(slot);
    }
  }

  #recheckLater(slot: Slot, held: HeldLease, leases: LeaseKeeper, ms: number): void {
    const timer = setTimeout(
      () => {
        // Used since (its next end() decides), closed, or no longer this lease: nothing to do.
        if (slot.lease !== held || !this.pool.isIdle(slot)) return;
        // Awake and still idle: nothing to wait for, the waiter gets the slot now.
        this.#budgetEnd(slot, held, leases, true).catch((error: unknown) => this.ctx.events.emit('error', { error: this.ctx.failures.wrap(error, false) }));
      },
      Math.max(1, ms),
    );
    timer.unref?.();
  }
}
