import { withTimeout } from '@cachefront/common';
import type { Context } from './context.js';
import type { DriverConnection } from './driver/driver.js';
import { ConnectorClosedError, DeadlineError } from './errors.js';
import type { ConnectorEvents } from './events.js';
import type { HeldLease } from './fleet/lease-keeper.js';
import { closeWithin } from './timeouts.js';

/** One physical connection slot. `connection` is undefined until first use and after a loss. */
export interface Slot {
  connection: DriverConnection | undefined;
  lastUsedAt: number;
  /** The connection's slot in the fleet budget; undefined without a budget, or when opened while its store was down. */
  lease: HeldLease | undefined;
}

type CloseReason = ConnectorEvents['close']['reason'];

/**
 * Which physical connection an operation uses: at most `maxConnections` slots, handed out one
 * operation at a time; an operation that finds none free waits in line until the operation's end.
 */
export class SlotPool {
  readonly #slots = new Set<Slot>();
  readonly #idle: Slot[] = [];
  readonly #waiters: Array<(slot: Slot) => void> = [];

  constructor(private readonly ctx: Context) {}

  async acquire(): Promise<Slot> {
    const { opts, lifecycle, bounds } = this.ctx;
    if (lifecycle.closed) throw new ConnectorClosedError();
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#slots.size < opts.maxConnections) {
      const slot: Slot = { connection: undefined, lastUsedAt: opts.now(), lease: undefined };
      this.#slots.add(slot);
      return slot;
    }
    let grant: (slot: Slot) => void = () => {};
    return withTimeout(
      () =>
        new Promise<Slot>((resolve) => {
          grant = resolve;
          this.#waiters.push(grant);
        }),
      Math.max(0, bounds.operationEnd() - opts.now()),
      {
        error: () =>
          new DeadlineError('No connection of this connector became free in time; raise `maxConnections` or `acquireTimeoutMs`.', { mayHaveApplied: false }),
        expired: () => {
          const index = this.#waiters.indexOf(grant);
          if (index >= 0) this.#waiters.splice(index, 1);
        },
        late: (slot) => this.release(slot),
      },
    );
  }

  /** Gives the slot to the next operation in line, or back to the idle list. */
  release(slot: Slot): void {
    slot.lastUsedAt = this.ctx.opts.now();
    if (slot.lease) this.ctx.leases?.unhold(slot.lease);
    if (this.ctx.lifecycle.closed) {
      void this.close(slot, 'quit');
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) waiter(slot);
    else this.#idle.push(slot);
  }

  /** An idle slot whose connection looks usable, left in place: `take()` it to use it. */
  idleConnection(): { slot: Slot; connection: DriverConnection } | undefined {
    for (const slot of this.#idle) if (slot.connection?.usable()) return { slot, connection: slot.connection };
    return undefined;
  }

  /** Whether the slot is in the idle list (no operation holds it). */
  isIdle(slot: Slot): boolean {
    return this.#idle.includes(slot);
  }

  /** Takes an idle slot out of the idle list; `release()` gives it back. */
  take(slot: Slot): void {
    const index = this.#idle.indexOf(slot);
    if (index >= 0) this.#idle.splice(index, 1);
  }

  /**
   * Closes the slot's connection: destroyed after a loss or a timeout, and when its lease lapsed
   * (another container may be killing it); closed gracefully otherwise. Then its lease goes back to
   * the fleet budget, unless it lapsed (it is another container's now).
   */
  async close(slot: Slot, reason: CloseReason): Promise<void> {
    const { connection, lease } = slot;
    slot.connection = undefined;
    slot.lease = undefined;
    if (connection) {
      this.ctx.stats.closes += 1;
      this.ctx.events.emit('close', { threadId: connection.threadId, reason });
      if (reason === 'lost' || reason === 'timeout' || reason === 'lapsed-lease') connection.destroy();
      else await closeWithin(connection);
    }
    if (lease) {
      this.ctx.leases?.unhold(lease);
      if (lease.held && reason !== 'lapsed-lease') await this.ctx.leases?.release(lease.lease);
    }
  }

  /** Closes every connection (`quit()`). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#slots].map((slot) => this.close(slot, 'quit')));
    this.#slots.clear();
    this.#idle.length = 0;
  }

  /** The thread ids of this connector's own connections, which reaping spares. */
  ownThreadIds(): Set<number> {
    return new Set([...this.#slots].flatMap((slot) => (slot.connection ? [slot.connection.threadId] : [])));
  }

  openConnections(): number {
    return [...this.#slots].filter((slot) => slot.connection?.usable()).length;
  }
}
