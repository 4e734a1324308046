import { withTimeout } from '@cachefront/common';
import { connectionLimit } from '../budget.js';
import type { Context } from '../context.js';
import type { DriverConnection } from '../driver/driver.js';
import { ConnectionLimitError } from '../errors.js';
import { socketGone } from '../failures.js';
import { LAPSED_RECHECK } from '../processlist.js';
import type { Slot } from '../slot-pool.js';
import { KILL_STATEMENT, LIMIT_STATEMENT, RDS_KILL_STATEMENT } from '../statements.js';
import { queryWithin } from '../timeouts.js';
import type { BudgetGrant, BudgetLease, BudgetLeaseState, ConnectionBudget } from './port.js';

/** The context a keeper works in: everything but the keeper itself. */
export type KeeperContext = Omit<Context, 'leases'>;

export type Grant = Extract<BudgetGrant, { kind: 'granted' }>;

/** A slot's lease in the fleet budget, and what the store last said about it. */
export interface HeldLease {
  readonly lease: BudgetLease;
  /** The MySQL thread the lease is bound to. */
  readonly threadId: number;
  /** When the last renewal (or the bind) was sent, on this process's clock: the lease runs at least `ttlMs` from then. */
  renewedAt: number;
  /** The lease's length from `renewedAt`: the budget's TTL, or less after a hand-over that kept the slot on a shortened lease. */
  ttlMs: number;
  /** Containers waiting for a slot, as the store said at the last renewal. */
  waiting: number;
  /** False once the store said the lease is no longer this container's. */
  held: boolean;
  /** Whether this invocation has renewed it yet (reset by `end()`). */
  renewedThisInvocation: boolean;
  /** The renewal in flight, if any. */
  pending: Promise<void> | undefined;
  /** The keep-alive of an operation that holds the connection for long (a transaction, a slow query). */
  keepAlive: ReturnType<typeof setInterval> | undefined;
}

/** What `beforeUse` found: the lease holds (or the connection has none), or it lapsed while the container was frozen. */
export type LeaseCheck = { readonly ok: true } | { readonly ok: false; readonly idleMs: number };

const OK: LeaseCheck = Object.freeze({ ok: true });
const KEEP = Object.freeze({ verdict: 'keep' as const });
const HAND_OVER = Object.freeze({ verdict: 'hand-over' as const });
const LAPSED = Object.freeze({ verdict: 'lapsed' as const });

/** A store call that overstayed its bound; it counts as the store being unreachable. */
class StoreTimeout extends Error {
  override readonly name = 'StoreTimeout';
  readonly code = 'E_BUDGET_TIMEOUT';
}

const storeTimeout = { error: () => new StoreTimeout('The budget store did not answer in time.') };

/** A lease in steady use is renewed at most this often (and at least once per invocation). */
const RENEW_INTERVAL_MS = 1000;

/** How often a connection opened without a lease (the store was unreachable) tries to get one again. */
const ADOPT_INTERVAL_MS = 5000;

/**
 * The connector's side of the fleet budget (fleet/port.ts): a slot before every physical connect,
 * the claimed zombie killed by id, the limit scouted once, the lease renewed alongside the
 * statements (and checked before the first statement after a freeze), handed over at `end()` when
 * others wait, and the processlist mode whenever the store cannot be reached.
 */
export class LeaseKeeper {
  /** When the store stopped answering; undefined while it answers. */
  #fallbackSince: number | undefined;
  #lastAdoptAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ctx: KeeperContext,
    readonly budget: ConnectionBudget,
  ) {}

  /**
   * Before a physical connect: a slot, in the budget's FIFO order, by the operation's end. Undefined
   * when the store cannot be reached (connect without a lease: processlist mode). Throws a
   * `ConnectionLimitError` when no slot came in time.
   */
  async admit(): Promise<Grant | undefined> {
    const { bounds, stats, events, failures } = this.ctx;
    const deadline = bounds.operationEnd();
    const grant = await this.#acquire(deadline);
    if (grant === undefined) {
      stats.budgetFallbacks += 1;
      return undefined;
    }
    if (grant.kind === 'timeout') {
      stats.budgetTimeouts += 1;
      events.emit('budgetTimeout', { budget: this.budget.name, waitedMs: grant.waitedMs, queued: grant.queued });
      throw failures.report(
        new ConnectionLimitError(
          `No slot of the fleet budget "${this.budget.name}" came free in ${Math.round(grant.waitedMs)} ms (${grant.queued} containers waiting); raise the deadline, or the budget's share of the limit.`,
          { attempts: 0 },
        ),
      );
    }
    return grant;
  }

  /**
   * After the connect under a grant: kills the claimed lease's zombie (re-checked: still this
   * user's, asleep, there), reads and publishes the limit when the budget asked this one to scout,
   * and binds the lease to the new thread. A failure here is the caller's to clean up (close the
   * connection, `release` the grant).
   */
  async settle(connection: DriverConnection, grant: Grant): Promise<HeldLease> {
    const { opts } = this.ctx;
    const held: HeldLease = {
      lease: grant.lease,
      threadId: connection.threadId,
      renewedAt: opts.now(),
      ttlMs: this.budget.leaseTtlMs,
      waiting: 0,
      held: true,
      renewedThisInvocation: true,
      pending: undefined,
      keepAlive: undefined,
    };
    this.#track(held, this.budget.bind(grant.lease, connection.threadId));
    if (grant.zombie !== undefined && grant.zombie !== connection.threadId) await this.#killLapsed(connection, grant.zombie);
    if (grant.needsLimit) await this.#scout(connection);
    return held;
  }

  /** Gives back a grant whose connection never opened, or a lease whose connection is closed. */
  async release(lease: BudgetLease): Promise<void> {
    await withTimeout(() => this.budget.release(lease), this.ctx.opts.adminTimeoutMs, storeTimeout).catch(() => undefined);
  }

  /**
   * Before an operation on an open connection. A lease last renewed more than half its TTL ago may
   * have lapsed while the container was frozen, and another container may be killing its thread:
   * it is renewed first, and nothing is sent on the connection if it lapsed. Otherwise the renewal
   * travels alongside the operation (once per invocation), never as an extra round trip before it.
   * A connection without a lease (opened while the store was down) tries to get one now and then.
   */
  async beforeUse(slot: Slot, connection: DriverConnection): Promise<LeaseCheck> {
    const { opts } = this.ctx;
    const held = slot.lease;
    if (held === undefined) {
      slot.lease = await this.#adopt(connection);
      return OK;
    }
    if (!held.held) return { ok: false, idleMs: opts.now() - held.renewedAt };
    const idleMs = opts.now() - held.renewedAt;
    // Half the time after which another container may take the seat: the lease's length, or the
    // budget's claim-idle time (a seat unused that long may be claimed when none is free).
    if (idleMs < Math.min(held.ttlMs, this.budget.claimIdleMs || Number.POSITIVE_INFINITY) / 2) {
      if (!held.renewedThisInvocation || idleMs >= RENEW_INTERVAL_MS) this.renew(held);
      return OK;
    }
    const state = await this.#callStore(() => this.budget.renew(held.lease));
    held.renewedThisInvocation = true;
    if (state === undefined) return OK; // the store is down: the processlist mode trusts the connection, as without a budget
    held.renewedAt = opts.now();
    this.#record(held, state);
    return state.held ? OK : { ok: false, idleMs };
  }

  /** Renews the lease in the background, unless a renewal is already in flight. */
  renew(held: HeldLease): void {
    held.renewedThisInvocation = true;
    if (held.pending !== undefined || !held.held) return;
    held.renewedAt = this.ctx.opts.now();
    this.#track(held, this.budget.renew(held.lease));
  }

  /** While an operation holds the connection, keeps its lease from lapsing (a long transaction). */
  hold(held: HeldLease): void {
    if (held.keepAlive !== undefined) return;
    held.keepAlive = setInterval(
      () => this.renew(held),
      Math.max(1, Math.min(this.budget.leaseTtlMs, this.budget.claimIdleMs || Number.POSITIVE_INFINITY) / 3),
    );
    held.keepAlive.unref?.();
  }

  unhold(held: HeldLease): void {
    if (held.keepAlive === undefined) return;
    clearInterval(held.keepAlive);
    held.keepAlive = undefined;
  }

  /**
   * At `end()`: keep the connection warm, or close it — its slot handed over to a waiter (the
   * budget decides, atomically), or its lease lapsed. Sends nothing when the last renewal saw
   * nobody waiting; waits for this invocation's renewal when it is still in flight (it went out
   * beside the statements, and its answer says who waits). `recheckMs`: the budget kept the slot
   * on a shortened lease because a waiter's grace is not over yet; ask again after that long if
   * the connection is still idle (`immediate`: the container is awake and idle, so the grace no
   * longer matters).
   */
  async handOver(held: HeldLease, immediate = false): Promise<{ readonly verdict: 'keep' | 'hand-over' | 'lapsed'; readonly recheckMs?: number }> {
    held.renewedThisInvocation = false;
    if (held.pending !== undefined) await held.pending;
    if (!held.held) return LAPSED;
    if (held.waiting === 0) return KEEP;
    const asked = this.ctx.opts.now();
    const decided = await this.#callStore(() => this.budget.handOver(held.lease, { immediate }));
    // Closing the connection then releases the slot: the waiter connects only once this one is gone.
    if (decided?.give) return HAND_OVER;
    if (decided?.leaseMs === undefined) return KEEP;
    held.renewedAt = asked;
    held.ttlMs = decided.leaseMs;
    // Well before the shortened lease runs out, so that an awake holder hands over rather than be claimed.
    return { verdict: 'keep', recheckMs: decided.leaseMs / 3 };
  }

  /** The store answered or failed: moves in and out of the processlist mode, with an event on each change. */
  #store(ok: boolean, error?: unknown): void {
    const { opts, events } = this.ctx;
    if (ok) {
      if (this.#fallbackSince === undefined) return;
      events.emit('budgetRestored', { budget: this.budget.name, fallbackMs: opts.now() - this.#fallbackSince });
      this.#fallbackSince = undefined;
      return;
    }
    if (this.#fallbackSince !== undefined) return;
    this.#fallbackSince = opts.now();
    const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
    events.emit('budgetFallback', { budget: this.budget.name, code });
  }

  async #acquire(deadline: number): Promise<BudgetGrant | undefined> {
    const { opts, stats, events } = this.ctx;
    let grant: BudgetGrant;
    try {
      // The budget bounds its own wait by the deadline; the margin only guards against a store that hangs.
      grant = await withTimeout(() => this.budget.acquire({ deadline }), Math.max(1, deadline - opts.now()) + opts.adminTimeoutMs, {
        ...storeTimeout,
        late: (late) => {
          if (late.kind === 'granted') void this.release(late.lease);
        },
      });
    } catch (error) {
      this.#store(false, error);
      return undefined;
    }
    this.#store(true);
    if (grant.kind === 'granted') {
      stats.budgetGrants += 1;
      if (grant.waitedMs > 0) stats.budgetWaits += 1;
      stats.budgetWaitMs += grant.waitedMs;
      if (grant.zombie !== undefined) stats.claims += 1;
      events.emit('budgetGrant', { budget: this.budget.name, waitedMs: grant.waitedMs, claimed: grant.zombie !== undefined, scout: grant.needsLimit });
    }
    return grant;
  }

  /** A connection opened without a lease takes a free slot when one is there now; it never waits for one. */
  async #adopt(connection: DriverConnection): Promise<HeldLease | undefined> {
    const { opts } = this.ctx;
    if (opts.now() - this.#lastAdoptAt < ADOPT_INTERVAL_MS) return undefined;
    this.#lastAdoptAt = opts.now();
    const grant = await this.#acquire(opts.now());
    if (grant?.kind !== 'granted') return undefined;
    try {
      return await this.settle(connection, grant);
    } catch (error) {
      await this.release(grant.lease);
      throw error;
    }
  }

  /** A store call bounded by `adminTimeoutMs`; undefined when the store failed (and the mode changed to processlist). */
  async #callStore<T>(run: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await withTimeout(run, this.ctx.opts.adminTimeoutMs, storeTimeout);
      this.#store(true);
      return result;
    } catch (error) {
      this.#store(false, error);
      return undefined;
    }
  }

  #track(held: HeldLease, call: Promise<BudgetLeaseState>): void {
    const pending = this.#callStore(() => call).then((state) => {
      if (state !== undefined) this.#record(held, state);
      if (held.pending === pending) held.pending = undefined;
    });
    held.pending = pending;
  }

  #record(held: HeldLease, state: BudgetLeaseState): void {
    held.held &&= state.held;
    if (state.held) held.ttlMs = this.budget.leaseTtlMs;
    held.waiting = state.waiting;
    this.ctx.stats.budgetQueue = state.waiting;
  }

  /** Kills exactly the claimed lease's thread, after re-checking it is still this user's and asleep. */
  async #killLapsed(connection: DriverConnection, threadId: number): Promise<void> {
    const { opts, bounds, stats, events, failures } = this.ctx;
    const still = (await queryWithin(connection, LAPSED_RECHECK, [threadId], bounds.admin())) as Array<{ id: number | string; idle: number | string }>;
    const row = still[0];
    if (row === undefined) return; // already gone (its container closed it, or the server's wait_timeout did)
    try {
      await queryWithin(connection, opts.killMethod === 'rds_kill' ? RDS_KILL_STATEMENT : KILL_STATEMENT, [threadId], bounds.admin());
      stats.kills += 1;
      stats.preciseKills += 1;
      events.emit('kill', { threadId, idleMs: Number(row.idle) * 1000, reason: 'lapsed-lease' });
    } catch (error) {
      const verdict = failures.classify(error);
      if (verdict.threadGone) return; // it ended between the re-check and the KILL
      if (socketGone(verdict.kind) || verdict.kind === 'timeout') throw error;
      stats.killErrors += 1;
      events.emit('killError', { threadId, code: verdict.info.code, errno: verdict.info.errno });
    }
  }

  /** The scout: reads the database's limit and publishes it to the budget. */
  async #scout(connection: DriverConnection): Promise<void> {
    const rows = (await queryWithin(connection, LIMIT_STATEMENT, [], this.ctx.bounds.admin())) as Array<{
      maxConnections: number | string;
      maxUserConnections: number | string;
    }>;
    const first = rows[0];
    if (first === undefined) return;
    const limit = connectionLimit(Number(first.maxConnections), Number(first.maxUserConnections));
    await withTimeout(() => this.budget.publishLimit(limit), this.ctx.opts.adminTimeoutMs, storeTimeout).catch((error: unknown) => this.#store(false, error));
  }
}
