/**
 * The contract of a fleet budget (`ConnectionBudget`, fleet/port.ts), for vitest: the in-memory
 * budget in the unit tests, the Redis budget (and on Redis Cluster) in the integration tests.
 * Real time: leases of a few hundred milliseconds lapse while a test waits for them.
 */
import { describe, expect, it } from 'vitest';
import type { BudgetGrant, BudgetLease, ConnectionBudget } from '../fleet/port.js';

export interface BudgetFactoryOptions {
  /** A name no other test shares. */
  readonly name: string;
  readonly leaseTtlMs: number;
  /** The database's limit, known up front; undefined: the first grant is a scout. */
  readonly limit?: number;
  /** Share of the limit admitted. */
  readonly share: number;
  /** How long the head waiter waits before a holder's `handOver` gives its slot up. */
  readonly handOverAfterMs: number;
  /** With no free seat, a lease unused this long may be claimed. */
  readonly claimIdleMs: number;
}

export type BudgetFactory = (options: BudgetFactoryOptions) => ConnectionBudget | Promise<ConnectionBudget>;

let counter = 0;
function uniqueName(): string {
  counter += 1;
  return `contract-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
const soon = (ms: number) => Date.now() + ms;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function granted(grant: BudgetGrant): Extract<BudgetGrant, { kind: 'granted' }> {
  if (grant.kind !== 'granted') throw new Error(`expected a grant, got ${grant.kind}`);
  return grant;
}

export function runBudgetContract(label: string, make: BudgetFactory): void {
  describe(`fleet budget contract: ${label}`, () => {
    const budget = (options: Partial<BudgetFactoryOptions> = {}) =>
      make({ name: uniqueName(), leaseTtlMs: 2000, limit: 10, share: 0.5, handOverAfterMs: 50, claimIdleMs: 3000, ...options });

    it('admits its capacity (a share of the limit), then queues; a release wakes the head waiter', async () => {
      const b = await budget({ limit: 10, share: 0.3 });
      try {
        const first = await Promise.all([1, 2, 3].map(() => b.acquire({ deadline: soon(1000) })));
        expect(first.map((g) => g.kind)).toEqual(['granted', 'granted', 'granted']);
        const waiting = b.acquire({ deadline: soon(3000) });
        await sleep(50);
        const state = await b.renew(granted(first[0] as BudgetGrant).lease);
        expect(state).toEqual({ held: true, waiting: 1 });
        const before = Date.now();
        await b.release(granted(first[1] as BudgetGrant).lease);
        const next = granted(await waiting);
        expect(Date.now() - before).toBeLessThan(500); // woken, not polled after a long interval
        expect(next.zombie).toBeUndefined();
        expect(next.waitedMs).toBeGreaterThan(0);
      } finally {
        await b.close();
      }
    });

    it('serves waiters in the order they came', async () => {
      const b = await budget({ limit: 2, share: 0.5 });
      try {
        const held = granted(await b.acquire({ deadline: soon(1000) }));
        const order: number[] = [];
        const waiters = [1, 2, 3].map(async (n) => {
          await sleep(n * 40); // arrive one after another
          const grant = granted(await b.acquire({ deadline: soon(5000) }));
          order.push(n);
          await sleep(20);
          await b.release(grant.lease);
        });
        await sleep(200);
        await b.release(held.lease);
        await Promise.all(waiters);
        expect(order).toEqual([1, 2, 3]);
      } finally {
        await b.close();
      }
    });

    it('times out at the deadline, and says how many are queued', async () => {
      const b = await budget({ limit: 2, share: 0.5 });
      try {
        granted(await b.acquire({ deadline: soon(1000) }));
        const started = Date.now();
        const grant = await b.acquire({ deadline: soon(300) });
        expect(grant.kind).toBe('timeout');
        expect(Date.now() - started).toBeGreaterThanOrEqual(250);
        expect(Date.now() - started).toBeLessThan(1500);
      } finally {
        await b.close();
      }
    });

    it('a lapsed lease is claimed by exactly one waiter, with its thread as the zombie; its old holder learns it lost it', async () => {
      const b = await budget({ limit: 2, share: 0.5, leaseTtlMs: 300 });
      try {
        const old = granted(await b.acquire({ deadline: soon(1000) }));
        expect(await b.bind(old.lease, 4242)).toEqual({ held: true, waiting: 0 });
        // The holder freezes: it stops renewing. Two containers want a slot meanwhile.
        const claims = await Promise.all([b.acquire({ deadline: soon(2000) }), b.acquire({ deadline: soon(520) })]);
        const grants = claims.filter((g): g is Extract<BudgetGrant, { kind: 'granted' }> => g.kind === 'granted');
        expect(grants).toHaveLength(1);
        expect(grants[0]?.zombie).toBe(4242);
        expect(claims.filter((g) => g.kind === 'timeout')).toHaveLength(1);
        expect((await b.renew(old.lease)).held).toBe(false);
        expect((await b.bind(old.lease, 4242)).held).toBe(false);
      } finally {
        await b.close();
      }
    });

    it("a lapsed lease nobody claimed is still its holder's: a renewal revives it", async () => {
      const b = await budget({ limit: 2, share: 0.5, leaseTtlMs: 200 });
      try {
        const lease = granted(await b.acquire({ deadline: soon(1000) })).lease;
        await b.bind(lease, 11);
        await sleep(350); // lapsed; nobody wanted the seat
        expect(await b.renew(lease)).toEqual({ held: true, waiting: 0 });
        // Revived, it is live again: nobody can claim it now.
        expect((await b.acquire({ deadline: soon(100) })).kind).toBe('timeout');
      } finally {
        await b.close();
      }
    });

    it('no more claims at once than half the headroom holds; a bind lets the next claimer in', async () => {
      // Limit 10, capacity 5: a headroom of 5, so at most 2 claimers connect before they kill.
      const b = await budget({ limit: 10, share: 0.5, leaseTtlMs: 600 });
      try {
        const held = await Promise.all([1, 2, 3, 4, 5].map(() => b.acquire({ deadline: soon(1000) })));
        await Promise.all(held.map((g, n) => b.bind(granted(g).lease, 100 + n)));
        await sleep(700); // all five lapse
        // (Well before a claim could lapse in its turn.)
        const claims = await Promise.all([1, 2, 3].map(() => b.acquire({ deadline: soon(250) })));
        const claimed = claims.filter((g): g is Extract<BudgetGrant, { kind: 'granted' }> => g.kind === 'granted');
        expect(claimed).toHaveLength(2);
        expect(new Set(claimed.map((g) => g.zombie)).size).toBe(2);
        const third = b.acquire({ deadline: soon(2000) });
        await sleep(50);
        await b.bind((claimed[0] as Extract<BudgetGrant, { kind: 'granted' }>).lease, 200);
        const next = granted(await third);
        expect(next.zombie).toBeGreaterThanOrEqual(100);
        expect(claimed.map((g) => g.zombie)).not.toContain(next.zombie);
      } finally {
        await b.close();
      }
    });

    it('a hand-over gives a seat up only for a waiter past the grace, and only one seat per waiter', async () => {
      const b = await budget({ limit: 4, share: 0.5, handOverAfterMs: 100 });
      try {
        const [one, two] = (await Promise.all([1, 2].map(() => b.acquire({ deadline: soon(1000) })))).map((g) => granted(g).lease) as [
          BudgetLease,
          BudgetLease,
        ];
        expect(await b.handOver(one)).toEqual({ give: false, leaseMs: undefined }); // nobody waits
        const waiter = b.acquire({ deadline: soon(3000) });
        await sleep(20);
        // It has not waited past the grace yet: the holder keeps the seat, on a lease of twice the grace.
        const kept = await b.handOver(one);
        expect(kept.give).toBe(false);
        expect(kept.leaseMs).toBeGreaterThan(100);
        expect(kept.leaseMs).toBeLessThanOrEqual(200);
        expect((await b.renew(one)).held).toBe(true); // a use renews it to the whole TTL again
        await sleep(150);
        const given = await Promise.all([b.handOver(one), b.handOver(two)]);
        expect(given.filter((g) => g.give)).toHaveLength(1);
        const gone = given[0]?.give ? one : two;
        // The seat stays taken until the holder, its connection closed, releases it.
        await sleep(50);
        expect(await b.renew(gone)).toEqual({ held: true, waiting: 1 });
        await b.release(gone);
        const next = granted(await waiter);
        expect(next.zombie).toBeUndefined();
        expect((await b.handOver(gone)).give).toBe(true); // no longer its lease: close the connection
      } finally {
        await b.close();
      }
    });

    it('a holder that keeps its seat inside the grace and then freezes loses it to the waiter within twice the grace', async () => {
      const b = await budget({ limit: 2, share: 0.5, handOverAfterMs: 100, leaseTtlMs: 30_000 });
      try {
        const holder = granted(await b.acquire({ deadline: soon(1000) })).lease;
        await b.bind(holder, 77);
        const started = Date.now();
        const waiter = b.acquire({ deadline: soon(5000) });
        await sleep(10);
        expect((await b.handOver(holder)).give).toBe(false); // kept, on a short lease; then frozen
        const claim = granted(await waiter);
        expect(claim.zombie).toBe(77); // claimed, not after the 30 s TTL
        expect(Date.now() - started).toBeLessThan(1000);
        expect((await b.renew(holder)).held).toBe(false);
      } finally {
        await b.close();
      }
    });

    it('with no free seat, a lease unused past claim-idle is claimed, before its TTL; one in use is not', async () => {
      const b = await budget({ limit: 4, share: 0.5, leaseTtlMs: 30_000, claimIdleMs: 300 });
      try {
        const [idle, busy] = (await Promise.all([1, 2].map(() => b.acquire({ deadline: soon(1000) })))).map((g) => granted(g).lease) as [
          BudgetLease,
          BudgetLease,
        ];
        await b.bind(idle, 501);
        await b.bind(busy, 502);
        const started = Date.now();
        const waiter = b.acquire({ deadline: soon(3000) });
        const keepBusy = (async () => {
          while (Date.now() - started < 600) {
            await b.renew(busy);
            await sleep(50);
          }
        })();
        const claim = granted(await waiter);
        await keepBusy;
        expect(claim.zombie).toBe(501);
        expect(Date.now() - started).toBeGreaterThanOrEqual(250);
        expect((await b.renew(idle)).held).toBe(false);
        expect((await b.renew(busy)).held).toBe(true);
      } finally {
        await b.close();
      }
    });

    it('renewal keeps a lease from lapsing', async () => {
      const b = await budget({ limit: 2, share: 0.5, leaseTtlMs: 300 });
      try {
        const lease = granted(await b.acquire({ deadline: soon(1000) })).lease;
        await b.bind(lease, 7);
        for (let i = 0; i < 5; i += 1) {
          await sleep(120);
          expect((await b.renew(lease)).held).toBe(true);
        }
        expect((await b.acquire({ deadline: soon(200) })).kind).toBe('timeout');
      } finally {
        await b.close();
      }
    });

    it('without a known limit, admits one scout until the limit is published', async () => {
      const b = await budget({ limit: undefined, share: 0.5 });
      try {
        const scout = granted(await b.acquire({ deadline: soon(1000) }));
        expect(scout.needsLimit).toBe(true);
        const next = b.acquire({ deadline: soon(3000) });
        await sleep(100);
        await b.publishLimit(8);
        const second = granted(await next);
        expect(second.needsLimit).toBe(false);
        // Capacity 4 (8 × 0.5): the scout's slot and three more.
        const more = await Promise.all([1, 2].map(() => b.acquire({ deadline: soon(500) })));
        expect(more.map((g) => g.kind)).toEqual(['granted', 'granted']);
        expect((await b.acquire({ deadline: soon(200) })).kind).toBe('timeout');
      } finally {
        await b.close();
      }
    });

    it('never admits more than its capacity, whatever the concurrency', async () => {
      const b = await budget({ limit: 10, share: 0.5 });
      try {
        let inside = 0;
        let most = 0;
        const leases: BudgetLease[] = [];
        await Promise.all(
          Array.from({ length: 30 }, async () => {
            const grant = granted(await b.acquire({ deadline: soon(10_000) }));
            inside += 1;
            most = Math.max(most, inside);
            leases.push(grant.lease);
            await sleep(5 + Math.random() * 20);
            inside -= 1;
            await b.release(grant.lease);
          }),
        );
        expect(most).toBeLessThanOrEqual(5);
        expect(most).toBeGreaterThan(1);
        expect(new Set(leases.map((lease) => lease.token)).size).toBe(30);
      } finally {
        await b.close();
      }
    });

    it('a released slot is free for the next caller at once when nobody waits', async () => {
      const b = await budget({ limit: 2, share: 0.5 });
      try {
        const grant = granted(await b.acquire({ deadline: soon(1000) }));
        await b.release(grant.lease);
        const again = granted(await b.acquire({ deadline: soon(1000) }));
        expect(again.zombie).toBeUndefined();
        expect((await b.renew(grant.lease)).held).toBe(false);
      } finally {
        await b.close();
      }
    });
  });
}
