/**
 * Reconnects after the server closed the connection behind the connector's back: a KILL from
 * another session, the session's wait_timeout, a server restart. Reads and writes both go through,
 * and a write is sent exactly once.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Connector, type ConnectorEvents, type ConnectorOptions, createConnector, sql } from '@cachefront/mysql';
import mysql, { type Connection } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUX_MYSQL, MYSQL } from '../support/env.js';
import { adminConnection, connectionId, createAccount, kill, rawConnection, rows, type TestAccount, thread, waitForThreadGone } from '../support/mysql.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait-for.js';

let admin: Connection;
let account: TestAccount;
const connectors: Connector[] = [];

beforeAll(async () => {
  admin = await adminConnection(MYSQL);
  account = await createAccount(admin, MYSQL);
  await admin.query(`CREATE TABLE \`${account.database}\`.note (id INT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(64) NOT NULL)`);
});

afterEach(async () => {
  await Promise.all(connectors.splice(0).map((db) => db.quit()));
});

afterAll(async () => {
  await account?.drop();
  await admin?.end();
});

function connector(options: Partial<ConnectorOptions> = {}): Connector {
  const db = createConnector({ connection: account.connection, ...options });
  connectors.push(db);
  return db;
}

async function ownId(db: Connector): Promise<number> {
  const [row] = await db.query<{ id: number }>(sql`SELECT CONNECTION_ID() AS id`);
  return Number(row?.id);
}

async function notes(body: string): Promise<number> {
  const [row] = await rows<{ n: number }>(admin, `SELECT COUNT(*) AS n FROM \`${account.database}\`.note WHERE body = ?`, [body]);
  return Number(row?.n);
}

describe('after a KILL from another session', () => {
  it('the next read reconnects transparently', async () => {
    const db = connector();
    const first = await ownId(db);
    await kill(admin, first);
    await waitForThreadGone(admin, first);

    const second = await ownId(db);

    expect(second).not.toBe(first);
    const stats = db.stats();
    // Either the connector saw the socket close (reconnect before sending), or the read was lost in
    // flight and re-sent once (queryRetries): both are one reconnect and no error.
    expect(stats).toMatchObject({ connects: 2, reconnects: 1, errors: 0 });
    expect(stats.queryRetries).toBeLessThanOrEqual(1);
  });

  it('the next write goes to a fresh connection, once (probed first with probeIdleMs: 0)', async () => {
    const db = connector({ probeIdleMs: 0 });
    const reconnects: ConnectorEvents['reconnect'][] = [];
    db.on('reconnect', (event) => reconnects.push(event));
    const first = await ownId(db);
    await kill(admin, first);
    await waitForThreadGone(admin, first);

    const result = await db.execute(sql`INSERT INTO note (body) VALUES (${'after-kill'})`);

    expect(result.affectedRows).toBe(1);
    expect(await notes('after-kill')).toBe(1);
    expect(await ownId(db)).not.toBe(first);
    expect(reconnects).toHaveLength(1);
    expect(['probe-failed', 'stale-socket']).toContain(reconnects[0]?.reason);
    expect(db.stats()).toMatchObject({ connects: 2, reconnects: 1, errors: 0 });
  });
});

describe('reap() after its connection was closed behind its back', () => {
  it('reconnects once and completes (reaping re-checks every kill, so it may run again)', async () => {
    const proxy = await TcpProxy.start(MYSQL);
    const zombie = await rawConnection(account.connection);
    try {
      const db = connector({ connection: { ...account.connection, port: proxy.port } });
      const first = await ownId(db);
      const zombieId = await connectionId(zombie);
      await waitFor(async () => ((await thread(admin, zombieId))?.time ?? 0) >= 1, { message: 'zombie idle for 1 s' });
      // The proxy holds back the server's close: the connector still believes its connection is fine.
      proxy.pause();
      await kill(admin, first);
      await waitForThreadGone(admin, first);
      const reaping = db.reap({ olderThanMs: 1000 });
      proxy.resume();

      const result = await reaping.catch((e: unknown) => e);

      expect(result).toMatchObject({ killed: [zombieId] });
      await waitForThreadGone(admin, zombieId);
      expect(db.stats()).toMatchObject({ connects: 2, reconnects: 1, kills: 1 });
    } finally {
      zombie.destroy();
      await proxy.close();
    }
  });
});

describe('after the session wait_timeout closed the connection', () => {
  /** Makes the server close the connector's connection after 1 s idle, and waits until it has. */
  async function idleOut(db: Connector): Promise<number> {
    await db.execute(sql`SET SESSION wait_timeout = 1`);
    const id = await ownId(db);
    await waitForThreadGone(admin, id, 5000);
    return id;
  }

  it('a read and then a write both succeed', async () => {
    const db = connector();

    const firstId = await idleOut(db);
    expect(await db.query(sql`SELECT COUNT(*) AS n FROM note`)).toHaveLength(1);
    const secondId = await ownId(db);
    expect(secondId).not.toBe(firstId);

    await idleOut(db);
    const result = await db.execute(sql`INSERT INTO note (body) VALUES (${'after-idle'})`);
    expect(result.affectedRows).toBe(1);
    expect(await notes('after-idle')).toBe(1);
    expect(db.stats()).toMatchObject({ connects: 3, reconnects: 2, errors: 0 });
  });
});

describe('after the server restarts', () => {
  const script = fileURLToPath(new URL('../../scripts/mariadb-aux.sh', import.meta.url));

  async function refused(): Promise<boolean> {
    try {
      const probe = await mysql.createConnection({ ...AUX_MYSQL, connectTimeout: 500 });
      await probe.end();
      return false;
    } catch (error) {
      return (error as { code?: unknown }).code === 'ECONNREFUSED';
    }
  }

  it('the next statement waits for it, retrying ECONNREFUSED within its deadline', async () => {
    const db = createConnector({ connection: AUX_MYSQL, maxRetries: 1000, backoffCapMs: 100 });
    connectors.push(db);
    const retries: ConnectorEvents['retry'][] = [];
    db.on('retry', (event) => retries.push(event));
    await ownId(db);

    const restart = promisify(execFile)('bash', [script, 'restart', String(AUX_MYSQL.port)]);
    try {
      await waitFor(refused, { timeoutMs: 20_000, intervalMs: 10, message: 'the aux server to refuse connections' });
      db.setDeadline(Date.now() + 30_000);
      const rowsAfter = await db.query<{ up: number }>(sql`SELECT 1 AS up`);
      expect(rowsAfter).toEqual([{ up: 1 }]);
    } finally {
      await restart;
    }

    expect(retries.length).toBeGreaterThan(0);
    expect(retries.some((event) => event.code === 'ECONNREFUSED')).toBe(true);
    // (Thread ids start again from 1 after a restart: compare connects, not ids.)
    expect(db.stats()).toMatchObject({ connects: 2, reconnects: 1, connectErrors: 0, errors: 0 });
  });
});
