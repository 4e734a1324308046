/**
 * Nothing is done twice (DESIGN invariant 5), with a real TCP proxy between the connector and the
 * shared server that cuts the connection at the worst moment: after the server received (and ran)
 * a statement, before its answer reached the client.
 */
import {
  ConnectionLostError,
  type Connector,
  type ConnectorEvents,
  type ConnectorOptions,
  createConnector,
  DeadlineError,
  sql,
  TransactionError,
} from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL } from '../support/env.js';
import { adminConnection, createAccount, kill, rows, type TestAccount, threadsOf, waitForThreadGone } from '../support/mysql.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait-for.js';

let admin: Connection;
let account: TestAccount;
let proxy: TcpProxy;
let db: Connector;

beforeAll(async () => {
  admin = await adminConnection(MYSQL);
  account = await createAccount(admin, MYSQL);
  // No unique key on `body`: a re-run INSERT would add a second row, not fail.
  await admin.query(`CREATE TABLE \`${account.database}\`.entry (id INT AUTO_INCREMENT PRIMARY KEY, body VARCHAR(64) NOT NULL) ENGINE=InnoDB`);
});

function connector(options: Partial<ConnectorOptions> = {}): Connector {
  return createConnector({ connection: { ...account.connection, port: proxy.port }, ...options });
}

afterEach(async () => {
  await db?.quit();
  await proxy?.close();
});

afterAll(async () => {
  await account?.drop();
  await admin?.end();
});

async function count(body: string): Promise<number> {
  const [row] = await rows<{ n: number }>(admin, `SELECT COUNT(*) AS n FROM \`${account.database}\`.entry WHERE body = ?`, [body]);
  return Number(row?.n);
}

async function ownId(target: Connector): Promise<number> {
  const [row] = await target.query<{ id: number }>(sql`SELECT CONNECTION_ID() AS id`);
  return Number(row?.id);
}

/** The server-side thread of a cut connection rolls back and ends once it notices the socket closed. */
async function waitForServerSide(id: number): Promise<void> {
  await waitForThreadGone(admin, id);
}

describe('a connection cut mid-statement', () => {
  it('an INSERT whose answer was lost fails with ConnectionLostError (mayHaveApplied) and is applied exactly once', async () => {
    proxy = await TcpProxy.start(MYSQL);
    db = connector();
    const thread = await ownId(db);

    const cut = proxy.cutAfterNextClientPacket({ dropReply: true });
    const error = await db.execute(sql`INSERT INTO entry (body) VALUES (${'lost-answer'})`).catch((e: unknown) => e);
    await cut;

    expect(error).toBeInstanceOf(ConnectionLostError);
    expect((error as ConnectionLostError).mayHaveApplied).toBe(true);
    expect((error as ConnectionLostError).code).toBe('E_CONNECTION_LOST');
    await waitForServerSide(thread);
    expect(await count('lost-answer')).toBe(1);
    // Not re-sent on another connection: only the first connection went through the proxy.
    expect(proxy.connections).toBe(1);
    expect(db.stats().queryRetries).toBe(0);

    // The connector works again on the next statement, on a new connection.
    expect(await db.execute(sql`INSERT INTO entry (body) VALUES (${'next'})`)).toMatchObject({ affectedRows: 1 });
    expect(await count('next')).toBe(1);
    expect(await count('lost-answer')).toBe(1);
    expect(proxy.connections).toBe(2);
  });

  it('an INSERT cut as soon as it was sent is not re-run either (applied at most once)', async () => {
    proxy = await TcpProxy.start(MYSQL);
    db = connector();
    const thread = await ownId(db);

    const cut = proxy.cutAfterNextClientPacket();
    const error = await db.execute(sql`INSERT INTO entry (body) VALUES (${'cut-early'})`).catch((e: unknown) => e);
    await cut;

    expect(error).toBeInstanceOf(ConnectionLostError);
    expect((error as ConnectionLostError).mayHaveApplied).toBe(true);
    await waitForServerSide(thread);
    expect(await count('cut-early')).toBeLessThanOrEqual(1);
    expect(proxy.connections).toBe(1);
    expect(await ownId(db)).not.toBe(thread);
  });

  it('a read cut in flight is re-sent once on a new connection, transparently', async () => {
    proxy = await TcpProxy.start(MYSQL);
    db = connector();
    const first = await ownId(db);

    const cut = proxy.cutAfterNextClientPacket({ dropReply: true });
    const second = await ownId(db);
    await cut;

    expect(second).not.toBe(first);
    expect(db.stats()).toMatchObject({ queryRetries: 1, reconnects: 1, errors: 0 });
    expect(proxy.connections).toBe(2);
  });

  it('a statement whose connection hangs (proxy paused) times out; the next statement works', async () => {
    proxy = await TcpProxy.start(MYSQL);
    db = connector();
    const first = await ownId(db);

    proxy.pause();
    const error = await db.execute(sql`INSERT INTO entry (body) VALUES (${'hung'})`, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineError);
    expect((error as DeadlineError).mayHaveApplied).toBe(true);
    proxy.resume();

    expect(await ownId(db)).not.toBe(first);
    await waitFor(async () => (await threadsOf(admin, account.user)).length === 1, { message: 'the hung connection to end' });
    expect(await count('hung')).toBeLessThanOrEqual(1);
  });
});

describe('a connection the server closed while the client could not see it', () => {
  it('a write is preceded by a ping that finds it dead (probeIdleMs: 0): reconnect, then the write, once', async () => {
    proxy = await TcpProxy.start(MYSQL);
    db = connector({ probeIdleMs: 0 });
    const reconnects: ConnectorEvents['reconnect'][] = [];
    db.on('reconnect', (event) => reconnects.push(event));
    const first = await ownId(db);

    // The proxy holds back the server's close: the client still believes its connection is fine.
    proxy.pause();
    await kill(admin, first);
    await waitForThreadGone(admin, first);
    const write = db.execute(sql`INSERT INTO entry (body) VALUES (${'after-silent-close'})`);
    proxy.resume();

    expect(await write).toMatchObject({ affectedRows: 1 });
    expect(reconnects).toEqual([expect.objectContaining({ reason: 'probe-failed' })]);
    expect(await count('after-silent-close')).toBe(1);
    expect(db.stats()).toMatchObject({ connects: 2, reconnects: 1, errors: 0 });
  });
});

describe('a connection cut inside a transaction', () => {
  it('rejects with TransactionError (mayHaveCommitted: false) and re-runs nothing on a fresh connection', async () => {
    proxy = await TcpProxy.start(MYSQL);
    db = connector();
    const thread = await ownId(db);
    let cut: Promise<void> | undefined;
    let statementsAfterCut = 0;

    const error = await db
      .transaction(async (tx) => {
        await tx.execute(sql`INSERT INTO entry (body) VALUES (${'tx-first'})`);
        cut = proxy.cutAfterNextClientPacket({ dropReply: true });
        await tx.execute(sql`INSERT INTO entry (body) VALUES (${'tx-second'})`);
        statementsAfterCut += 1;
        await tx.execute(sql`INSERT INTO entry (body) VALUES (${'tx-third'})`);
      })
      .catch((e: unknown) => e);
    await cut;

    expect(error).toBeInstanceOf(TransactionError);
    expect((error as TransactionError).mayHaveCommitted).toBe(false);
    expect(statementsAfterCut).toBe(0);
    await waitForServerSide(thread);
    // The server rolled the transaction back; nothing was replayed elsewhere.
    for (const body of ['tx-first', 'tx-second', 'tx-third']) expect(await count(body)).toBe(0);
    expect(proxy.connections).toBe(1);
    expect(db.stats().transactions).toBe(0);

    // The connector works again, transactions included.
    await db.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO entry (body) VALUES (${'tx-after'})`);
    });
    expect(await count('tx-after')).toBe(1);
  });

  it('a cut after COMMIT was sent says mayHaveCommitted: true, and the commit happened once', async () => {
    proxy = await TcpProxy.start(MYSQL);
    db = connector();
    const thread = await ownId(db);

    const error = await db
      .transaction(async (tx) => {
        await tx.execute(sql`INSERT INTO entry (body) VALUES (${'commit-lost'})`);
        // The next packet the client sends is COMMIT.
        void proxy.cutAfterNextClientPacket({ dropReply: true });
      })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TransactionError);
    expect((error as TransactionError).mayHaveCommitted).toBe(true);
    await waitForServerSide(thread);
    expect(await count('commit-lost')).toBe(1);
    expect(proxy.connections).toBe(1);
  });
});
