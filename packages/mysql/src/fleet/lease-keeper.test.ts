import { describe, expect, it } from 'vitest';
import { seededRandom } from '../backoff.js';
import { createConnector } from '../connector.js';
import { ConnectionLimitError } from '../errors.js';
import type { ConnectorEventName, ConnectorEvents } from '../events.js';
import type { ConnectorOptions } from '../options.js';
import { sql } from '../sql.js';
import { FakeServer } from '../testing/fake-server.js';
import { MemoryBudget } from '../testing/memory-budget.js';
import type { ConnectionBudget } from './port.js';

const USER = 'app';
const TTL = 30_000;

/** Containers of one fleet on one fake server and one budget, all on a manual clock. */
function fleet(budgetOptions: { limit?: number; share?: number; handOverAfterMs?: number } = { limit: 10, share: 0.1 }, { realClock = false } = {}) {
  const clock = { now: 1_000_000 };
  const now = realClock ? Date.now : () => clock.now;
  const fake = new FakeServer({ now });
  const budget = new MemoryBudget({ now, leaseTtlMs: TTL, ...budgetOptions });
  const container = (overrides: Partial<ConnectorOptions> = {}) => {
    const events: Array<{ event: ConnectorEventName; payload: unknown }> = [];
    const db = createConnector({
      connection: { user: USER, password: 'hunter2' },
      driver: fake,
      budget,
      now,
      random: seededRandom(1),
      sleep: async (ms) => {
        clock.now += ms;
      },
      ...overrides,
    });
    const names: ConnectorEventName[] = [
      'connect',
      'kill',
      'close',
      'budgetGrant',
      'budgetTimeout',
      'handOver',
      'leaseLapsed',
      'budgetFallback',
      'budgetRestored',
    ];
    for (const event of names) db.on(event, (payload: ConnectorEvents[typeof event]) => events.push({ event, payload }));
    const eventsOf = <E extends ConnectorEventName>(event: E) => events.filter((e) => e.event === event).map((e) => e.payload as ConnectorEvents[E]);
    return { db, eventsOf };
  };
  const statementsOn = (threadId: number, since = 0) => fake.log.slice(since).filter((entry) => entry.thread === threadId);
  return { clock, fake, budget, container, statementsOn };
}

describe('connector with a fleet budget', () => {
  it('connects under a slot, binds it to its thread, and end() sends nothing to the database', async () => {
    const { fake, budget, container } = fleet();
    const { db, eventsOf } = container();
    await db.query(sql`SELECT 1`);
    expect(budget.live).toBe(1);
    expect(eventsOf('budgetGrant')).toEqual([{ budget: 'memory', waitedMs: 0, claimed: false, scout: false }]);
    const sent = fake.log.length;
    expect(await db.end()).toMatchObject({ checked: true, closed: false, killed: [] });
    expect(fake.log.length).toBe(sent);
    expect(db.stats()).toMatchObject({ openConnections: 1, usageChecks: 0, budgetGrants: 1 });
  });

  it('hands its slot over at end() once another container has waited past the grace, and keeps it when nobody does', async () => {
    const { clock, fake, budget, container } = fleet({ limit: 10, share: 0.1, handOverAfterMs: 50 }); // capacity 1
    const a = container();
    const b = container();
    await a.db.query(sql`SELECT 1`);
    await a.db.end();
    expect(a.db.stats().openConnections).toBe(1);
    const waiting = b.db.query(sql`SELECT 2`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(budget.waiting).toBe(1);
    // b has waited less than the grace (50 ms): a keeps its connection for one more invocation.
    await a.db.query(sql`SELECT 1`);
    expect(await a.db.end()).toMatchObject({ checked: true });
    expect(a.db.stats()).toMatchObject({ openConnections: 1, handOvers: 0 });
    clock.now += 60;
    await a.db.query(sql`SELECT 1`); // its renewal learns that one waits
    await Promise.resolve();
    expect(await a.db.end()).toMatchObject({ checked: true, closed: true });
    await waiting;
    expect(a.eventsOf('handOver')).toHaveLength(1);
    expect(a.eventsOf('close').map((c) => c.reason)).toEqual(['hand-over']);
    expect(b.eventsOf('budgetGrant')[0]?.waitedMs).toBeGreaterThanOrEqual(0);
    expect(fake.liveThreads(USER)).toHaveLength(1);
    expect(budget.live).toBe(1);
  });

  it('claims a lapsed lease and kills exactly its thread, re-checked; the frozen owner never uses that connection again', async () => {
    const { clock, fake, container, statementsOn } = fleet({ limit: 10, share: 0.1 });
    const a = container();
    await a.db.query(sql`SELECT 1`);
    await a.db.end();
    const [old] = fake.liveThreads(USER);
    const frozenAt = fake.log.length;
    clock.now += TTL + 1; // a is frozen past its lease
    const b = container();
    await b.db.query(sql`SELECT 2`);
    expect(b.eventsOf('budgetGrant')[0]).toMatchObject({ claimed: true });
    expect(b.eventsOf('kill')).toEqual([{ threadId: old?.id, idleMs: expect.any(Number), reason: 'lapsed-lease' }]);
    expect(b.db.stats()).toMatchObject({ kills: 1, preciseKills: 1, claims: 1, usageChecks: 0 });
    expect(fake.applied(/PROCESSLIST WHERE USER = .* AND COMMAND = 'Sleep' AND ID = \?$/)).toBe(1);
    await b.db.quit();
    // a thaws: its lease lapsed, so it reconnects before its first statement.
    await expect(a.db.query(sql`SELECT 3`)).resolves.toEqual([]);
    expect(a.eventsOf('leaseLapsed')).toEqual([{ budget: 'memory', threadId: old?.id, idleMs: TTL + 1 }]);
    expect(a.eventsOf('close').map((c) => c.reason)).toEqual(['lapsed-lease']);
    expect(statementsOn(old?.id ?? -1, frozenAt)).toEqual([]);
    expect(a.db.stats()).toMatchObject({ leaseLapses: 1, connects: 2 });
  });

  it('keeps its connection after a freeze shorter than the lease, checking the lease first when it was long', async () => {
    const { clock, fake, container } = fleet();
    const { db, eventsOf } = container();
    await db.query(sql`SELECT 1`);
    await db.end();
    clock.now += TTL * 0.75;
    await db.query(sql`SELECT 1`);
    await db.end();
    expect(eventsOf('connect')).toHaveLength(1);
    expect(eventsOf('leaseLapsed')).toEqual([]);
    expect(fake.liveThreads(USER)).toHaveLength(1);
  });

  it('does not kill a claimed zombie that is already gone, and sends no KILL for it', async () => {
    const { clock, fake, container } = fleet({ limit: 10, share: 0.1 });
    const a = container();
    await a.db.query(sql`SELECT 1`);
    await a.db.end();
    const [old] = fake.liveThreads(USER);
    fake.kill(old?.id ?? -1); // the server's wait_timeout closed it
    clock.now += TTL + 1;
    const b = container();
    await b.db.query(sql`SELECT 2`);
    expect(b.eventsOf('budgetGrant')[0]).toMatchObject({ claimed: true });
    expect(fake.applied(/^KILL/)).toBe(0);
    expect(b.db.stats().kills).toBe(0);
  });

  it('scouts the limit once when the budget does not know it', async () => {
    const { fake, budget, container } = fleet({ share: 0.5 }, { realClock: true });
    fake.maxConnections = 8;
    const a = container();
    await a.db.query(sql`SELECT 1`);
    expect(a.eventsOf('budgetGrant')[0]).toMatchObject({ scout: true });
    const b = container();
    await b.db.query(sql`SELECT 1`);
    expect(fake.applied(/^SELECT @@max_connections/)).toBe(1);
    expect(budget.live).toBe(2);
    // Capacity 4: two more, then the next one times out.
    await Promise.all([container().db.query(sql`SELECT 1`), container().db.query(sql`SELECT 1`)]);
    const late = container();
    late.db.setDeadline(Date.now() + 300);
    await expect(late.db.query(sql`SELECT 1`)).rejects.toBeInstanceOf(ConnectionLimitError);
  });

  it('fails with a ConnectionLimitError, and says so in an event, when no slot comes before the deadline', async () => {
    const { container } = fleet({ limit: 10, share: 0.1 }, { realClock: true });
    await container().db.query(sql`SELECT 1`);
    const late = container();
    late.db.setDeadline(Date.now() + 500);
    const error = await late.db.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLimitError);
    expect((error as Error).message).toMatch(/fleet budget "memory"/);
    expect(late.eventsOf('budgetTimeout')).toHaveLength(1);
    expect(late.db.stats()).toMatchObject({ budgetTimeouts: 1, connects: 0, errors: 1 });
  });

  it('falls back to the processlist mode when the store is unreachable, never to no limit, and says so once', async () => {
    const { fake, container } = fleet();
    const down = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    const unreachable: ConnectionBudget = {
      name: 'down',
      leaseTtlMs: TTL,
      acquire: async () => {
        throw Object.assign(down, { code: 'E_BUDGET_UNAVAILABLE' });
      },
      bind: async () => {
        throw down;
      },
      renew: async () => {
        throw down;
      },
      handOver: async () => {
        throw down;
      },
      release: async () => {
        throw down;
      },
      publishLimit: async () => {
        throw down;
      },
      close: async () => {},
    };
    const { db, eventsOf } = container({ budget: unreachable });
    await db.query(sql`SELECT 1`);
    expect(await db.end()).toMatchObject({ checked: true });
    await db.query(sql`SELECT 1`);
    await db.end();
    expect(fake.applied(/^SELECT ID AS id, COMMAND AS command/)).toBe(2);
    expect(db.stats()).toMatchObject({ budgetFallbacks: 1, usageChecks: 2 });
    expect(eventsOf('budgetFallback')).toEqual([{ budget: 'down', code: 'E_BUDGET_UNAVAILABLE' }]);
  });

  it('a connection opened while the store was down takes a free slot once the store answers again', async () => {
    const { clock, budget, container } = fleet();
    let reachable = false;
    const flaky: ConnectionBudget = {
      name: budget.name,
      leaseTtlMs: budget.leaseTtlMs,
      acquire: (options) => (reachable ? budget.acquire(options) : Promise.reject(new Error('down'))),
      bind: (lease, threadId) => budget.bind(lease, threadId),
      renew: (lease) => budget.renew(lease),
      handOver: (lease) => budget.handOver(lease),
      release: (lease) => budget.release(lease),
      publishLimit: (limit) => budget.publishLimit(limit),
      close: async () => {},
    };
    const { db, eventsOf } = container({ budget: flaky });
    await db.query(sql`SELECT 1`);
    await db.end();
    expect(budget.live).toBe(0);
    reachable = true;
    clock.now += 6000;
    await db.query(sql`SELECT 1`);
    expect(budget.live).toBe(1);
    expect(eventsOf('budgetRestored')).toHaveLength(1);
    expect(eventsOf('connect')).toHaveLength(1);
  });

  it('does not touch the budget in an end() after an invocation that did not use the database', async () => {
    const { budget, container } = fleet();
    const calls: string[] = [];
    const counted: ConnectionBudget = {
      name: budget.name,
      leaseTtlMs: budget.leaseTtlMs,
      acquire: (options) => {
        calls.push('acquire');
        return budget.acquire(options);
      },
      bind: (lease, threadId) => {
        calls.push('bind');
        return budget.bind(lease, threadId);
      },
      renew: (lease) => {
        calls.push('renew');
        return budget.renew(lease);
      },
      handOver: (lease) => {
        calls.push('handOver');
        return budget.handOver(lease);
      },
      release: (lease) => {
        calls.push('release');
        return budget.release(lease);
      },
      publishLimit: (limit) => {
        calls.push('publishLimit');
        return budget.publishLimit(limit);
      },
      close: async () => {},
    };
    const { db } = container({ budget: counted });
    await db.query(sql`SELECT 1`);
    await db.end();
    const before = calls.length;
    await db.end();
    await db.end();
    expect(calls.slice(before)).toEqual([]);
    expect(calls).toEqual(['acquire', 'bind']);
  });

  it('releases its slot on quit()', async () => {
    const { budget, container } = fleet();
    const { db } = container();
    await db.query(sql`SELECT 1`);
    expect(budget.live).toBe(1);
    await db.quit();
    expect(budget.live).toBe(0);
  });
});
