/**
 * The seam of the fleet-wide connection budget: connection slots as leases in a store every
 * container reaches. The connector of `@cachefront/mysql` takes one (`budget`) and never imports
 * the store, so it keeps no Redis dependency; `createRedisBudget` of `@cachefront/cache` is the
 * Redis implementation, `MemoryBudget` of `@cachefront/mysql/testing` the in-memory one. The types
 * live here, in the package both depend on, so neither declares them twice.
 *
 * A budget is one semaphore per database and user, its capacity a share of the database's limit:
 * - a slot is a **lease**: a holder's token, the MySQL thread id of its connection, an expiry from
 *   the store's clock, extended by every use;
 * - a container frozen past the lease TTL, or dropped by the platform, stops renewing: its lease
 *   lapses, and its thread id is a *known* zombie — no age guess, no processlist scan;
 * - a container that needs a slot takes a free one, or claims one lapsed lease atomically (no two
 *   claimers get the same one) and kills exactly that thread, or waits in a FIFO queue bounded by
 *   its deadline; a release or a lapse wakes the head waiter;
 * - every operation is atomic in the store; the store's clock decides expiries.
 */

/** One slot, held by this connector for one physical connection. */
export interface BudgetLease {
  /** The slot's id in the budget. */
  readonly slot: string;
  /** The holder's token: only it can bind, renew or release the lease. */
  readonly token: string;
}

/** What `acquire` answered. */
export type BudgetGrant =
  | {
      readonly kind: 'granted';
      readonly lease: BudgetLease;
      /** How long this caller waited in the queue. */
      readonly waitedMs: number;
      /**
       * The slot was claimed from a lapsed lease whose connection is this MySQL thread: a known
       * zombie. Once connected, kill exactly it — after re-checking it is still the user's and asleep.
       */
      readonly zombie: number | undefined;
      /**
       * The budget does not know the database's limit yet (this is its first slot, or the limit
       * expired): once connected, read it and `publishLimit` it. Until then the budget admits this
       * one scout only.
       */
      readonly needsLimit: boolean;
    }
  /** No slot came before the deadline. */
  | { readonly kind: 'timeout'; readonly waitedMs: number; readonly queued: number };

export interface BudgetAcquireOptions {
  /** Epoch ms (this process's clock) by which a slot must be granted. */
  readonly deadline: number;
}

/** A lease's state, as the store sees it after a bind or a renewal. */
export interface BudgetLeaseState {
  /** Whether the lease is still this holder's. False: it lapsed, and another container may be killing its thread. */
  readonly held: boolean;
  /** Containers waiting for a slot right now: when there are any, a holder asks `handOver` at `end()`. */
  readonly waiting: number;
}

export interface BudgetHandOverOptions {
  /**
   * The holder is idle now (its container is not frozen: a timer fired): hand over if any waiter
   * lacks a seat, whatever the grace. @default false
   */
  readonly immediate?: boolean;
}

/** What `handOver` decided. */
export interface BudgetHandOver {
  readonly give: boolean;
  /** The lease's remaining time when it was shortened (the holder keeps it for now); undefined when unchanged. */
  readonly leaseMs: number | undefined;
}

export interface ConnectionBudget {
  /** The budget's name in events (database and user it separates). */
  readonly name: string;
  /** The lease TTL: a lease not renewed for this long lapses. */
  readonly leaseTtlMs: number;
  /**
   * With no free seat, a lease unused for this long may be claimed too (undefined: only lapsed
   * ones): the holder checks its lease before the first statement after half of it.
   */
  readonly claimIdleMs?: number;
  /**
   * A slot: free, or claimed from a lapsed lease, in FIFO order with the other waiters; woken by a
   * release or a lapse, never by a fixed poll. Rejects (with the store's error) when the store
   * cannot be reached: the connector then falls back to reading the processlist, never to no limit.
   */
  acquire(options: BudgetAcquireOptions): Promise<BudgetGrant>;
  /** Records the MySQL thread id of the connection opened under the lease, and renews it. */
  bind(lease: BudgetLease, threadId: number): Promise<BudgetLeaseState>;
  /** Extends the lease by its TTL. */
  renew(lease: BudgetLease): Promise<BudgetLeaseState>;
  /**
   * At a holder's `end()`, when others wait: whether to give the slot up — when the waiters past
   * the budget's grace outnumber the seats already free or being handed over for them; decided
   * atomically, so no two holders give a seat up for the same waiter. `give`: close the
   * connection, then `release` the lease (which wakes the head waiter; until then the seat stays
   * taken, so the server never holds both connections); also true when the lease is no longer this
   * holder's. Otherwise the holder keeps its connection; when a waiter will need the seat once its
   * grace is over, the lease is shortened to `leaseMs`, so that a holder frozen now loses its seat
   * (and its thread, to the claimer) soon, not after a whole TTL.
   */
  handOver(lease: BudgetLease, options?: BudgetHandOverOptions): Promise<BudgetHandOver>;
  /** Gives the slot back (its connection is closed, or never opened); wakes the head waiter. */
  release(lease: BudgetLease): Promise<void>;
  /** The database's limit, `LEAST(@@max_connections, @@max_user_connections)`, as a scout read it. */
  publishLimit(limit: number): Promise<void>;
  /** Closes what the budget opened itself (not a client it was given). */
  close(): Promise<void>;
}
