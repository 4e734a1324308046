import { randomBytes } from 'node:crypto';
import type {
  BudgetAcquireOptions,
  BudgetGrant,
  BudgetHandOver,
  BudgetHandOverOptions,
  BudgetLease,
  BudgetLeaseState,
  ConnectionBudget,
} from '../fleet/port.js';

const KEEP: BudgetHandOver = Object.freeze({ give: false, leaseMs: undefined });

export interface MemoryBudgetOptions {
  readonly name?: string;
  /** @default 30000 */
  readonly leaseTtlMs?: number;
  /** Share of the database's limit the budget admits. @default 0.8 */
  readonly share?: number;
  /** The database's limit, when known up front (no scout). */
  readonly limit?: number;
  /** With no free seat, a lease unused for this long may be claimed too (0: only lapsed ones). @default 3000 */
  readonly claimIdleMs?: number;
  /** How long a waiter waits before a holder gives its slot up at `end()` (see `createRedisBudget`). @default 50 */
  readonly handOverAfterMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Held {
  token: string;
  threadId: number | undefined;
  expiresAt: number;
  /** The last grant or renewal. */
  usedAt: number;
}

interface Waiter {
  readonly wake: () => void;
  /** When it joined the queue (the budget's clock). */
  readonly since: number;
}

/**
 * The fleet budget in memory, for unit tests: the semantics of the Redis budget (the budget
 * contract suite runs against both), on one process's clock.
 */
export class MemoryBudget implements ConnectionBudget {
  readonly name: string;
  readonly leaseTtlMs: number;
  readonly claimIdleMs: number;
  readonly #share: number;
  readonly #handOverAfterMs: number;
  readonly #now: () => number;
  readonly #slots = new Map<string, Held>();
  readonly #queue: Waiter[] = [];
  /** Slots claimed from a lapsed lease and not bound yet, with when the claim itself lapses. */
  readonly #claims = new Map<string, number>();
  /** Slots whose holder is closing its connection to hand the seat over. */
  readonly #handing = new Set<string>();
  #capacity: number | undefined;
  #limit = 0;
  #scout: string | undefined;
  #nextSlot = 0;

  constructor(options: MemoryBudgetOptions = {}) {
    this.name = options.name ?? 'memory';
    this.leaseTtlMs = options.leaseTtlMs ?? 30_000;
    this.claimIdleMs = options.claimIdleMs ?? 3000;
    this.#share = options.share ?? 0.8;
    this.#handOverAfterMs = options.handOverAfterMs ?? 50;
    this.#now = options.now ?? Date.now;
    if (options.limit !== undefined) this.#setLimit(options.limit);
  }

  /** Slots whose lease has not lapsed. */
  get live(): number {
    const now = this.#now();
    return [...this.#slots.values()].filter((held) => held.expiresAt > now).length;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  async acquire(options: BudgetAcquireOptions): Promise<BudgetGrant> {
    const started = this.#now();
    let waiter: Waiter | undefined;
    for (;;) {
      const head = this.#queue[0];
      if (head === undefined || head === waiter) {
        const grant = this.#tryGrant();
        if (grant) {
          if (waiter) this.#queue.shift();
          this.#queue[0]?.wake();
          return { kind: 'granted', ...grant, waitedMs: this.#now() - started };
        }
      }
      const remaining = options.deadline - this.#now();
      if (remaining <= 0) {
        if (waiter) this.#queue.splice(this.#queue.indexOf(waiter), 1);
        this.#queue[0]?.wake();
        return { kind: 'timeout', waitedMs: this.#now() - started, queued: this.#queue.length };
      }
      // Wait for a release, a published limit, the earliest lapse, or the deadline.
      // (A lapsed lease that cannot be claimed yet waits for a bind's wake-up, not a timer.)
      const now = this.#now();
      const times = [...this.#slots.values()].flatMap((held) => (this.claimIdleMs > 0 ? [held.expiresAt, held.usedAt + this.claimIdleMs] : [held.expiresAt]));
      const earliest = Math.min(...times.filter((at) => at > now));
      const until = Math.min(remaining, Number.isFinite(earliest) ? Math.max(1, earliest - now) : remaining);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, until);
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        if (waiter) {
          const index = this.#queue.indexOf(waiter);
          waiter = { wake, since: waiter.since };
          this.#queue[index] = waiter;
        } else {
          waiter = { wake, since: started };
          this.#queue.push(waiter);
        }
      });
    }
  }

  #tryGrant(): { lease: BudgetLease; zombie: number | undefined; needsLimit: boolean } | undefined {
    const now = this.#now();
    const token = randomBytes(8).toString('hex');
    if (this.#capacity === undefined) {
      if (this.#scout !== undefined && (this.#slots.get(this.#scout)?.expiresAt ?? 0) > now) return undefined;
      const slot = this.#newSlot(token, now);
      this.#scout = slot;
      return { lease: { slot, token }, zombie: undefined, needsLimit: true };
    }
    // A lapsed lease still holds its seat: its zombie may still be connected, until a claimer kills it.
    if (this.#slots.size < this.#capacity) {
      return { lease: { slot: this.#newSlot(token, now), token }, zombie: undefined, needsLimit: false };
    }
    let lapsed: [string, Held] | undefined;
    for (const entry of this.#slots) {
      if (entry[1].expiresAt <= now && (lapsed === undefined || entry[1].expiresAt < lapsed[1].expiresAt)) lapsed = entry;
    }
    if (lapsed === undefined && this.claimIdleMs > 0) {
      // No free seat: a lease unused for claimIdleMs may be claimed too, oldest use first (not one being handed over).
      for (const entry of this.#slots) {
        const idle = now - entry[1].usedAt >= this.claimIdleMs && !this.#handing.has(entry[0]);
        if (idle && (lapsed === undefined || entry[1].usedAt < lapsed[1].usedAt)) lapsed = entry;
      }
    }
    for (const [slot, until] of this.#claims) if (until <= now) this.#claims.delete(slot);
    // Claimers connect before they kill: no more of them at once than half the headroom holds.
    if (lapsed && this.#claims.size < this.#claimCap()) {
      const [slot, held] = lapsed;
      const zombie = held.threadId;
      this.#slots.set(slot, { token, threadId: undefined, expiresAt: now + this.leaseTtlMs, usedAt: now });
      if (zombie !== undefined) this.#claims.set(slot, now + this.leaseTtlMs);
      return { lease: { slot, token }, zombie, needsLimit: false };
    }
    return undefined;
  }

  #newSlot(token: string, now: number): string {
    this.#nextSlot += 1;
    const slot = `s${this.#nextSlot}`;
    this.#slots.set(slot, { token, threadId: undefined, expiresAt: now + this.leaseTtlMs, usedAt: now });
    return slot;
  }

  async bind(lease: BudgetLease, threadId: number): Promise<BudgetLeaseState> {
    const held = this.#slots.get(lease.slot);
    if (held?.token === lease.token) {
      held.threadId = threadId;
      if (this.#claims.delete(lease.slot)) this.#queue[0]?.wake();
    }
    return this.renew(lease);
  }

  async renew(lease: BudgetLease): Promise<BudgetLeaseState> {
    const held = this.#slots.get(lease.slot);
    const now = this.#now();
    // A lapsed lease nobody claimed is still the holder's: its seat was never given away, so nobody kills its thread.
    if (held?.token !== lease.token) return { held: false, waiting: this.#queue.length };
    held.expiresAt = now + this.leaseTtlMs;
    held.usedAt = now;
    return { held: true, waiting: this.#queue.length };
  }

  async handOver(lease: BudgetLease, options: BudgetHandOverOptions = {}): Promise<BudgetHandOver> {
    const held = this.#slots.get(lease.slot);
    if (held?.token !== lease.token || this.#handing.has(lease.slot)) return { give: true, leaseMs: undefined };
    if (this.#capacity === undefined) return KEEP;
    const now = this.#now();
    const spare = Math.max(0, this.#capacity - this.#slots.size) + this.#handing.size;
    const grace = options.immediate ? 0 : this.#handOverAfterMs;
    const overdue = this.#queue.filter((waiter) => now - waiter.since >= grace).length;
    if (overdue > spare) {
      // The seat stays taken until the holder has closed its connection and released it.
      this.#handing.add(lease.slot);
      return { give: true, leaseMs: undefined };
    }
    if (this.#queue.length <= spare) return KEEP;
    // A waiter will need the seat once its grace is over: frozen now, this holder loses it then.
    if (now + 2 * grace < held.expiresAt) {
      held.expiresAt = now + 2 * grace;
      this.#queue[0]?.wake(); // its next lapse moved closer
    }
    return { give: false, leaseMs: held.expiresAt - now };
  }

  async release(lease: BudgetLease): Promise<void> {
    if (this.#slots.get(lease.slot)?.token === lease.token) {
      this.#slots.delete(lease.slot);
      this.#claims.delete(lease.slot);
      this.#handing.delete(lease.slot);
    }
    if (this.#scout === lease.slot) this.#scout = undefined;
    this.#queue[0]?.wake();
  }

  async publishLimit(limit: number): Promise<void> {
    this.#setLimit(limit);
    this.#scout = undefined;
    this.#queue[0]?.wake();
  }

  async close(): Promise<void> {}

  #claimCap(): number {
    const capacity = this.#capacity ?? 1;
    return Math.max(1, Math.floor((this.#limit - capacity) / 2));
  }

  #setLimit(limit: number): void {
    this.#limit = limit;
    this.#capacity = Math.max(1, Math.floor(limit * this.#share));
  }
}
