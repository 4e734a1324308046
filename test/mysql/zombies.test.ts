/**
 * Zombie reaping against a real server (the aux one: the test user is given PROCESS and CONNECTION
 * ADMIN, so it could see and kill other users' threads, and only the connector's own filters stop it).
 *
 * The account allows 6 connections. Each scene: the connector's own connection, 4 abandoned raw
 * connections of the same user (zombies), one busy connection of the user running SELECT SLEEP(2):
 * 6 of 6, utilization 1, so the adaptive threshold is `zombieMinTimeoutMs` (1 s). Another user's idle
 * connections and a root session stand by, as old as the zombies.
 */
import { type Connector, type ConnectorEvents, type ConnectorOptions, createConnector, sql } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUX_MYSQL } from '../support/env.js';
import {
  adminConnection,
  closeQuietly,
  connectionId,
  createAccount,
  killThreadsOf,
  rawConnection,
  rows,
  type TestAccount,
  thread,
  threadExists,
  threadsOf,
  waitForThreadGone,
} from '../support/mysql.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait-for.js';

let admin: Connection;
let account: TestAccount;
let other: TestAccount;
const opened: Connection[] = [];
const connectors: Connector[] = [];

beforeAll(async () => {
  admin = await adminConnection(AUX_MYSQL);
  account = await createAccount(admin, AUX_MYSQL, { maxUserConnections: 6, globalPrivileges: ['PROCESS', 'CONNECTION ADMIN'] });
  other = await createAccount(admin, AUX_MYSQL);
});

afterEach(async () => {
  await Promise.all(connectors.splice(0).map((db) => db.quit()));
  await Promise.all(opened.splice(0).map(closeQuietly));
  await killThreadsOf(admin, account.user);
  await killThreadsOf(admin, other.user);
});

afterAll(async () => {
  await account?.drop();
  await other?.drop();
  await admin?.end();
});

function connector(options: Partial<ConnectorOptions> = {}): Connector {
  const db = createConnector({ connection: account.connection, zombieMinTimeoutMs: 1000, ...options });
  connectors.push(db);
  return db;
}

async function open(config: TestAccount['connection'], count: number): Promise<{ connections: Connection[]; ids: number[] }> {
  const connections: Connection[] = [];
  for (let i = 0; i < count; i += 1) connections.push(await rawConnection(config));
  opened.push(...connections);
  return { connections, ids: await Promise.all(connections.map(connectionId)) };
}

async function ownId(db: Connector): Promise<number> {
  const [row] = await db.query<{ id: number }>(sql`SELECT CONNECTION_ID() AS id`);
  return Number(row?.id);
}

interface Scene {
  own: number;
  zombies: number[];
  busy: number;
  busyQuery: Promise<Array<{ slept: number }>>;
  bystanders: number[];
}

/** Sets the scene above and waits until every thread in it has been in its state for ≥ 1 s. */
async function stage(db: Connector): Promise<Scene> {
  const own = await ownId(db);
  const zombies = await open(account.connection, 4);
  const [busyConnection] = (await open(account.connection, 1)).connections;
  if (!busyConnection) throw new Error('no busy connection');
  const busy = await connectionId(busyConnection);
  const busyQuery = rows<{ slept: number }>(busyConnection, 'SELECT SLEEP(2) AS slept');
  const others = await open(other.connection, 2);
  const rootSession = await adminConnection(AUX_MYSQL);
  opened.push(rootSession);
  const bystanders = [...others.ids, await connectionId(rootSession)];
  await waitFor(
    async () => {
      const mine = await threadsOf(admin, account.user);
      const all = await Promise.all(bystanders.map((id) => thread(admin, id)));
      return (
        mine.length === 6 &&
        mine.every((row) => row.time >= 1) &&
        mine.find((row) => row.id === busy)?.command === 'Query' &&
        all.every((row) => row && row.time >= 1)
      );
    },
    { timeoutMs: 5000, message: 'every thread of the scene to be idle (or busy) for 1 s' },
  );
  return { own, zombies: zombies.ids, busy, busyQuery, bystanders };
}

/** The killed zombies are gone; everything else survived: own connection, the busy query (not interrupted), other users. */
async function expectOnlyZombiesGone(scene: Scene, killed: readonly number[] = scene.zombies): Promise<void> {
  for (const id of killed) await waitForThreadGone(admin, id);
  for (const id of scene.zombies.filter((zombie) => !killed.includes(zombie))) expect(await threadExists(admin, id)).toBe(true);
  expect(await threadExists(admin, scene.own)).toBe(true);
  expect(await threadExists(admin, scene.busy)).toBe(true);
  for (const id of scene.bystanders) expect(await threadExists(admin, id)).toBe(true);
  // SLEEP() returns 1 when it was interrupted by a KILL.
  expect(await scene.busyQuery).toEqual([{ slept: 0 }]);
}

const sorted = (ids: readonly number[]) => [...ids].sort((a, b) => a - b);

describe('zombie reaping', () => {
  it('end() kills sleeping connections of its own user older than the threshold — as many as it takes — and nothing else', async () => {
    const db = connector();
    const kills: ConnectorEvents['kill'][] = [];
    db.on('kill', (event) => kills.push(event));
    const scene = await stage(db);

    const result = await db.end();

    // 6 of 6 used, threshold 0.8 × 6 = 4.8: two must go, and only two do.
    const killed = kills.map((event) => event.threadId);
    expect(result).toEqual({ checked: true, limit: 6, used: 6, killed, closed: false });
    expect(killed).toHaveLength(2);
    expect(killed.every((id) => scene.zombies.includes(id))).toBe(true);
    expect(kills.every((event) => event.idleMs >= 1000)).toBe(true);
    expect(db.stats()).toMatchObject({ kills: 2, killErrors: 0, errors: 0 });
    await expectOnlyZombiesGone(scene, killed);
    // The connector kept its own connection: same thread, no reconnect.
    expect(await ownId(db)).toBe(scene.own);
    expect(db.stats().connects).toBe(1);
  });

  it('reap() does the same outside the request path, at the adaptive threshold', async () => {
    const db = connector();
    const scene = await stage(db);

    const result = await db.reap();

    expect(result.limit).toBe(6);
    expect(result.used).toBe(6);
    expect(result.thresholdMs).toBe(1000);
    expect(sorted(result.killed)).toEqual(sorted(scene.zombies));
    expect(db.stats()).toMatchObject({ kills: 4, killErrors: 0, errors: 0 });
    await expectOnlyZombiesGone(scene);
  });

  it('two connectors reaping the same zombies at once both succeed', async () => {
    const zombies = await open(account.connection, 3);
    await waitFor(async () => (await threadsOf(admin, account.user)).every((row) => row.time >= 1), { message: 'zombies idle for 1 s' });
    // Fresh connectors: their own connections are new (TIME 0), so neither takes the other for a zombie.
    const a = connector();
    const b = connector();

    const [ra, rb] = await Promise.all([a.reap({ olderThanMs: 1000 }), b.reap({ olderThanMs: 1000 })]);

    expect(sorted([...new Set([...ra.killed, ...rb.killed])])).toEqual(sorted(zombies.ids));
    for (const db of [a, b]) expect(db.stats()).toMatchObject({ killErrors: 0, errors: 0 });
    for (const id of zombies.ids) await waitForThreadGone(admin, id);
    expect(await a.query(sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
    expect(await b.query(sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
    expect(a.stats().reconnects + b.stats().reconnects).toBe(0);
  });

  it('many reapers over many zombies at once: every zombie dies, and no kill is reported as failed', async () => {
    // No per-user limit here: 60 zombies and 16 reapers. The race this guards: a KILL reaching a
    // thread another reaper is tearing down gets ER_NO_SUCH_THREAD, or ER_KILL_DENIED_ERROR (1095).
    const crowd = await createAccount(admin, AUX_MYSQL);
    try {
      for (let round = 0; round < 4; round += 1) {
        const zombies = await open(crowd.connection, 60);
        await waitFor(async () => (await threadsOf(admin, crowd.user)).every((row) => row.time >= 1), { message: 'zombies idle for 1 s' });
        const reapers = Array.from({ length: 16 }, () => connector({ connection: crowd.connection }));
        const killErrors: ConnectorEvents['killError'][] = [];
        for (const db of reapers) db.on('killError', (event) => killErrors.push(event));

        const results = await Promise.all(reapers.map((db) => db.reap({ olderThanMs: 1000 })));

        expect(killErrors).toEqual([]);
        expect(sorted([...new Set(results.flatMap((result) => result.killed))])).toEqual(sorted(zombies.ids));
        await waitFor(async () => (await threadsOf(admin, crowd.user)).length === reapers.length, { message: 'only the reapers left' });
        await Promise.all(reapers.map((db) => db.quit()));
      }
    } finally {
      await crowd.drop();
    }
  });

  it('a reaper whose KILL finds the thread already gone (ER_NO_SUCH_THREAD) carries on without error', async () => {
    const zombies = await open(account.connection, 3);
    await waitFor(async () => (await threadsOf(admin, account.user)).every((row) => row.time >= 1), { message: 'zombies idle for 1 s' });
    const proxy = await TcpProxy.start(AUX_MYSQL);
    try {
      const slow = connector({ connection: { ...account.connection, port: proxy.port } });
      const fast = connector();
      // `slow` has re-checked its candidates and is about to KILL the first: hold it there.
      const held = proxy.pauseBeforeClientPacket((chunk) => chunk.subarray(5).toString('latin1').startsWith('KILL'));
      const slowReap = slow.reap({ olderThanMs: 1000 });
      await held;
      const fastResult = await fast.reap({ olderThanMs: 1000 });
      expect(sorted(fastResult.killed)).toEqual(sorted(zombies.ids));
      for (const id of zombies.ids) await waitForThreadGone(admin, id);
      proxy.resume();

      const slowResult = await slowReap;
      expect(slowResult.killed).toEqual([]);
      expect(slow.stats()).toMatchObject({ kills: 0, killErrors: 0, errors: 0 });
      expect(await slow.query(sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
    } finally {
      await proxy.close();
    }
  });

  it('end() closes its own connection when reaping cannot bring utilization under the threshold', async () => {
    // The other connections are young: none is a zombie at a 5 s threshold.
    const db = connector({ zombieMinTimeoutMs: 5000 });
    const closes: ConnectorEvents['close'][] = [];
    db.on('close', (event) => closes.push(event));
    const own = await ownId(db);
    const young = await open(account.connection, 5);

    const result = await db.end();

    expect(result).toEqual({ checked: true, limit: 6, used: 6, killed: [], closed: true });
    expect(closes).toEqual([{ threadId: own, reason: 'utilization' }]);
    await waitForThreadGone(admin, own);
    for (const id of young.ids) expect(await threadExists(admin, id)).toBe(true);
    // The next statement opens a new connection in the slot it freed.
    const next = await ownId(db);
    expect(next).not.toBe(own);
    expect(db.stats()).toMatchObject({ connects: 2, kills: 0 });
  });

  it('end() kills connections idle longer than zombieMaxTimeoutMs even at low utilization', async () => {
    const db = connector({ zombieMinTimeoutMs: 1000, zombieMaxTimeoutMs: 2000 });
    const zombie = await open(account.connection, 1);
    await waitFor(async () => ((await thread(admin, zombie.ids[0] ?? 0))?.time ?? 0) >= 2, { message: 'zombie idle for 2 s' });
    const own = await ownId(db);

    const result = await db.end();

    expect(result).toEqual({ checked: true, limit: 6, used: 2, killed: [zombie.ids[0]], closed: false });
    await waitForThreadGone(admin, zombie.ids[0] ?? 0);
    expect(await threadExists(admin, own)).toBe(true);
  });

  it('rdsProxy: true reads no processlist and kills nothing', async () => {
    const proxy = await TcpProxy.start(AUX_MYSQL);
    try {
      const db = connector({ connection: { ...account.connection, port: proxy.port }, rdsProxy: true });
      await ownId(db);
      const zombies = await open(account.connection, 4);
      await waitFor(async () => (await threadsOf(admin, account.user)).every((row) => row.time >= 1), { message: 'zombies idle for 1 s' });
      const bytes = proxy.bytesFromClient;

      expect(await db.end()).toEqual({ checked: false, limit: undefined, used: undefined, killed: [], closed: false });
      expect(await db.reap()).toEqual({ limit: 0, used: 0, thresholdMs: 0, candidates: [], killed: [] });

      expect(proxy.bytesFromClient).toBe(bytes);
      expect(db.stats()).toMatchObject({ usageChecks: 0, kills: 0 });
      for (const id of zombies.ids) expect(await threadExists(admin, id)).toBe(true);
    } finally {
      await proxy.close();
    }
  });
});
