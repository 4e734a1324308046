/**
 * What the fleet budget must do for a fleet of containers on the real server, for any budget
 * implementation: never admit more than its capacity, kill each expired container's thread exactly
 * once and no live one, serve waiters in order, survive a thaw after a lapsed lease, and send
 * nothing to the database in end(). The account's MAX_USER_CONNECTIONS is the database's limit
 * (the budget scouts it); the AUX server is used so that the server's Questions counter counts this
 * file's statements only.
 */
import type { ConnectionBudget, Connector, ConnectorEvents, ConnectorOptions } from '@cachefront/mysql';
import { sql } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { AUX_MYSQL } from '../support/env.js';
import { adminConnection, createAccount, killThreadsOf, rows, type TestAccount, threadsOf } from '../support/mysql.js';
import { TcpProxy } from '../support/tcp-proxy.js';

export interface BudgetOptions {
  readonly leaseTtlMs: number;
  readonly share: number;
}

/** The budget the containers of one scenario share: one object for all (in memory), or one client per container (Redis). */
export interface BudgetFleet {
  budget(): ConnectionBudget;
  close(): Promise<void>;
  /** Resolves once every budget made so far has its store connection (a cluster client takes a while), where that can be told. */
  connected?(): Promise<void>;
}

export interface FleetBudgetSuite {
  readonly label: string;
  readonly make: (options: BudgetOptions) => BudgetFleet | ConnectionBudget;
  readonly connector: (options: ConnectorOptions) => Connector;
}

/** One container: a connector with the fleet's budget, and everything it reported. */
interface Container {
  readonly db: Connector;
  readonly events: { [E in keyof ConnectorEvents]?: Array<ConnectorEvents[E] & { at: number }> };
  /** One invocation: the deadline set, the work, then end(). */
  invoke<T>(work: (db: Connector) => Promise<T>, deadlineMs?: number): Promise<T>;
}

const WATCHED = ['connect', 'kill', 'killError', 'close', 'reconnect', 'query', 'budgetGrant', 'handOver', 'leaseLapsed', 'error'] as const;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function fleetBudgetSuite(suite: FleetBudgetSuite): void {
  let admin: Connection;
  let account: TestAccount;
  const containers: Container[] = [];
  const fleets: BudgetFleet[] = [];

  beforeAll(async () => {
    admin = await adminConnection(AUX_MYSQL);
    // A limit of 10 with the default share of 0.8: a capacity of 8, and 2 of headroom.
    account = await createAccount(admin, AUX_MYSQL, { maxUserConnections: 10 });
  });

  afterEach(async () => {
    await Promise.all(containers.splice(0).map((c) => c.db.quit()));
    await Promise.all(fleets.splice(0).map((f) => f.close()));
    await killThreadsOf(admin, account.user);
  });

  afterAll(async () => {
    await account?.drop();
    await admin?.end();
  });

  const fleet = (options: Partial<BudgetOptions> = {}): BudgetFleet => {
    const made = suite.make({ leaseTtlMs: 30_000, share: 0.8, ...options });
    const shaped = 'budget' in made && typeof made.budget === 'function' ? made : { budget: () => made as ConnectionBudget, close: async () => {} };
    fleets.push(shaped);
    return shaped;
  };

  const container = (budgets: BudgetFleet, overrides: Partial<ConnectorOptions> = {}): Container => {
    const db = suite.connector({ connection: account.connection, budget: budgets.budget(), ...overrides });
    const events: Container['events'] = {};
    for (const name of WATCHED) {
      const list: Array<ConnectorEvents[typeof name] & { at: number }> = [];
      (events as Record<string, unknown>)[name] = list;
      db.on(name, (payload) => list.push({ ...payload, at: Date.now() } as never));
    }
    const c: Container = {
      db,
      events,
      async invoke(work, deadlineMs = 10_000) {
        db.setDeadline(Date.now() + deadlineMs);
        try {
          return await work(db);
        } finally {
          await db.end();
        }
      },
    };
    containers.push(c);
    return c;
  };

  /** Samples the account's threads every few ms until stopped; the largest count seen. */
  const sampleThreads = () => {
    let most = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        most = Math.max(most, (await threadsOf(admin, account.user)).length);
        await sleep(3);
      }
    })();
    return {
      async stop(): Promise<number> {
        running = false;
        await loop;
        return most;
      },
    };
  };

  it(`${suite.label}: a burst of 40 containers never holds more than the budget's capacity, and nobody is refused`, async () => {
    const budgets = fleet();
    const fleetOf = Array.from({ length: 40 }, () => container(budgets));
    const sampler = sampleThreads();
    const results = await Promise.allSettled(
      fleetOf.map(async (c) => {
        for (let i = 0; i < 5; i += 1) await c.invoke((db) => db.query(sql`SELECT SLEEP(${0.005}) AS s`));
      }),
    );
    const most = await sampler.stop();
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const stats = fleetOf.map((c) => c.db.stats());
    // The capacity, plus the one claimer the headroom admits at a time when a holder's short lease
    // lapsed before it handed over (a claimer connects before it kills; it happens under load).
    const claims = stats.reduce((n, s) => n + s.claims, 0);
    expect(most).toBeLessThanOrEqual(8 + Math.min(1, claims));
    expect(most).toBeGreaterThanOrEqual(2);
    expect(stats.reduce((n, s) => n + s.retries, 0)).toBe(0);
    expect(stats.reduce((n, s) => n + s.usageChecks, 0)).toBe(0);
    expect(stats.reduce((n, s) => n + s.handOvers, 0)).toBeGreaterThan(0);
    expect(stats.reduce((n, s) => n + s.budgetWaits, 0)).toBeGreaterThan(0);
  });

  it(`${suite.label}: each expired container's thread is killed exactly once, and no live container's`, async () => {
    const budgets = fleet({ leaseTtlMs: 600 });
    const first = Array.from({ length: 8 }, () => container(budgets));
    // One after another, so that nobody waits and nobody hands a slot over: all 8 stay connected.
    const ids: number[] = [];
    for (const c of first) ids.push(await c.invoke(async (db) => Number((await db.query<{ id: number }>(sql`SELECT CONNECTION_ID() AS id`))[0]?.id)));
    const expired = ids.slice(0, 4); // these containers are dropped: their sockets stay open, never used again
    const live = first.slice(4);
    let stop = false;
    const liveWork = live.map(async (c) => {
      while (!stop) {
        await c.invoke((db) => db.query(sql`SELECT ${1} AS n`));
        await sleep(100);
      }
    });
    await sleep(800); // the expired leases lapse
    const sampler = sampleThreads();
    // Newcomers one after another: the budget is full (4 live, 4 lapsed), so each claims a lapsed
    // lease. (Arriving at once, they would queue behind the one claim the headroom allows at a
    // time, and the live containers would hand their slots over: the burst test covers that.)
    for (let i = 0; i < 4; i += 1) await container(budgets).invoke((db) => db.query(sql`SELECT ${2} AS n`));
    stop = true;
    await Promise.all(liveWork);
    const most = await sampler.stop();
    const kills = containers.flatMap((c) => c.events.kill ?? []);
    expect(kills.map((k) => k.threadId).sort()).toEqual([...expired].sort());
    expect(kills.every((k) => k.reason === 'lapsed-lease')).toBe(true);
    expect(containers.reduce((n, c) => n + c.db.stats().killErrors, 0)).toBe(0);
    for (const c of live) expect(c.db.stats()).toMatchObject({ connects: 1, leaseLapses: 0, reconnects: 0, errors: 0 });
    // Claimers connect before they kill: the server held at most the capacity plus the headroom.
    expect(most).toBeLessThanOrEqual(10);
    const remaining = (await threadsOf(admin, account.user)).map((t) => t.id);
    for (const id of expired) expect(remaining).not.toContain(id);
  });

  it(`${suite.label}: waiters get the slot in the order they came`, async () => {
    const budgets = fleet({ share: 0.1 }); // a capacity of 1
    const holder = container(budgets);
    await holder.invoke((db) => db.query(sql`SELECT 1`));
    const waiters = Array.from({ length: 8 }, () => container(budgets));
    // Connected first: the order they arrive in is then the order they ask, not how fast each connected.
    await budgets.connected?.();
    const arrivals = waiters.map(async (c, n) => {
      await sleep(n * 40);
      await c.invoke((db) => db.query(sql`SELECT ${n} AS n`));
    });
    await sleep(8 * 40 + 100);
    await holder.invoke((db) => db.query(sql`SELECT 1`)); // learns that others wait, hands over at end()
    await Promise.all(arrivals);
    const granted = waiters.map((c, n) => ({ n, at: c.events.budgetGrant?.[0]?.at ?? Number.POSITIVE_INFINITY }));
    const order = [...granted].sort((a, b) => a.at - b.at).map((g) => g.n);
    // Nobody is overtaken by more than one later arrival.
    for (const [position, n] of order.entries()) expect(Math.abs(position - n)).toBeLessThanOrEqual(1);
    expect(holder.events.handOver).toHaveLength(1);
  });

  it(`${suite.label}: a container thawed after its lease lapsed reconnects before its first statement, and nothing fails`, async () => {
    const budgets = fleet({ leaseTtlMs: 500, share: 0.1 }); // a capacity of 1
    const a = container(budgets);
    const b = container(budgets);
    const before = await a.invoke(async (db) => Number((await db.query<{ id: number }>(sql`SELECT CONNECTION_ID() AS id`))[0]?.id));
    await sleep(700); // a is frozen past its lease
    await b.invoke((db) => db.query(sql`SELECT 1`)); // claims a's lease, kills a's thread
    expect(b.events.kill?.map((k) => k.threadId)).toEqual([before]);
    // a thaws: a read and a write, with b now frozen holding the slot until its own lease lapses.
    const [after] = await a.invoke(async (db) => {
      const id = await db.query<{ id: number }>(sql`SELECT CONNECTION_ID() AS id`);
      await db.execute(sql`DO ${1}`);
      return id;
    });
    expect(Number(after?.id)).not.toBe(before);
    expect(a.events.leaseLapsed?.map((e) => e.threadId)).toEqual([before]);
    expect(a.events.reconnect?.map((e) => e.reason)).toEqual(['lease-lapsed']);
    expect(a.db.stats()).toMatchObject({ errors: 0, queryRetries: 0, probes: 0 });
  });

  it(`${suite.label}: end() sends nothing to the database, after a cache hit or after a query`, async () => {
    const proxy = await TcpProxy.start(AUX_MYSQL);
    try {
      const budgets = fleet();
      const c = container(budgets, { connection: { ...account.connection, port: proxy.port } });
      const questions = async () => Number((await rows<{ Value: string }>(admin, "SHOW GLOBAL STATUS LIKE 'Questions'"))[0]?.Value);
      await c.invoke((db) => db.query(sql`SELECT 1`));
      const bytes = proxy.bytesFromClient;
      const start = await questions();
      for (let i = 0; i < 20; i += 1) await c.invoke(async () => 'a cache hit');
      const afterHits = await questions();
      expect(proxy.bytesFromClient).toBe(bytes);
      expect(afterHits - start).toBe(1); // the SHOW STATUS itself
      for (let i = 0; i < 20; i += 1) await c.invoke((db) => db.query(sql`SELECT 1`));
      expect((await questions()) - afterHits).toBe(21);
      expect(c.events.query?.length).toBe(21);
      expect(c.db.stats()).toMatchObject({ usageChecks: 0, connects: 1 });
    } finally {
      await proxy.close();
    }
  });
}
