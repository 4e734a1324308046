/**
 * Creating a connector does no I/O (Lambda module scope); configuration given as a function is
 * resolved on first use and again on every physical connect, so rotated secrets (Secrets Manager,
 * IAM tokens that expire after 15 minutes) are picked up on the next connect.
 */
import { randomBytes } from 'node:crypto';
import { ConnectError, type Connector, createConnector, sql } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MYSQL } from '../support/env.js';
import { adminConnection, createAccount, kill, type TestAccount, waitForThreadGone } from '../support/mysql.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { sleep } from '../support/wait-for.js';

let admin: Connection;
let account: TestAccount;
const connectors: Connector[] = [];

beforeAll(async () => {
  admin = await adminConnection(MYSQL);
});

beforeEach(async () => {
  account = await createAccount(admin, MYSQL);
});

afterEach(async () => {
  await Promise.all(connectors.splice(0).map((db) => db.quit()));
  await account.drop();
});

afterAll(async () => {
  await admin?.end();
});

function track(db: Connector): Connector {
  connectors.push(db);
  return db;
}

async function ownId(db: Connector): Promise<number> {
  const [row] = await db.query<{ id: number }>(sql`SELECT CONNECTION_ID() AS id`);
  return Number(row?.id);
}

/** Changes the account's password on the server; open connections stay as they are. */
async function rotatePassword(): Promise<string> {
  const next = `pw_${randomBytes(9).toString('hex')}`;
  await admin.query(`ALTER USER '${account.user}'@'%' IDENTIFIED BY ?`, [next]);
  return next;
}

describe('lazy connect', () => {
  it('createConnector(async () => options) does no I/O until the first statement', async () => {
    const proxy = await TcpProxy.start(MYSQL);
    try {
      let optionCalls = 0;
      const db = track(
        createConnector(async () => {
          optionCalls += 1;
          return { connection: { ...account.connection, port: proxy.port } };
        }),
      );
      // Nothing may start in the background: give it the chance, then look.
      await sleep(50);
      expect(optionCalls).toBe(0);
      expect(proxy.connections).toBe(0);
      // end() before any statement (an invocation that only hit the cache) does no I/O either.
      expect(await db.end()).toEqual({ checked: false, limit: undefined, used: undefined, killed: [], closed: false });
      expect(proxy.connections).toBe(0);
      expect(db.stats()).toMatchObject({ connects: 0, queries: 0, usageChecks: 0 });

      expect(await db.query(sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
      expect(optionCalls).toBe(1);
      expect(proxy.connections).toBe(1);
      await db.query(sql`SELECT 1 AS one`);
      expect(optionCalls).toBe(1);
      expect(proxy.connections).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it('createConnector(options) with a connection function does no I/O and calls nothing until the first statement', async () => {
    const proxy = await TcpProxy.start(MYSQL);
    try {
      let connectionCalls = 0;
      const db = track(
        createConnector({
          connection: async () => {
            connectionCalls += 1;
            return { ...account.connection, port: proxy.port };
          },
        }),
      );
      await sleep(50);
      expect(connectionCalls).toBe(0);
      expect(proxy.connections).toBe(0);
      await db.query(sql`SELECT 1`);
      expect(connectionCalls).toBe(1);
      expect(proxy.connections).toBe(1);
    } finally {
      await proxy.close();
    }
  });
});

describe('rotated credentials', () => {
  it('a connection function is called again on every physical connect: after a KILL the new password is used', async () => {
    let password = account.password;
    let calls = 0;
    const db = track(
      createConnector({
        connection: () => {
          calls += 1;
          return { ...account.connection, password };
        },
      }),
    );
    const first = await ownId(db);
    expect(calls).toBe(1);

    const old = password;
    password = await rotatePassword();
    // The open connection is kept: no connect, no call.
    expect(await ownId(db)).toBe(first);
    expect(calls).toBe(1);

    await kill(admin, first);
    await waitForThreadGone(admin, first);
    expect(await ownId(db)).not.toBe(first);
    expect(calls).toBe(2);
    expect(db.stats()).toMatchObject({ connects: 2, errors: 0 });

    // The rotation was real: the old password no longer gets in.
    const stale = track(createConnector({ connection: { ...account.connection, password: old } }));
    const error = await stale.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).errno).toBe(1045);
  });

  it('an options function returning a plain connection is resolved again on every physical connect: after a KILL the new password is used', async () => {
    let password = account.password;
    let calls = 0;
    const db = track(
      createConnector(async () => {
        calls += 1;
        return { connection: { ...account.connection, password } };
      }),
    );
    const first = await ownId(db);
    expect(calls).toBe(1);

    password = await rotatePassword();
    expect(await ownId(db)).toBe(first);
    expect(calls).toBe(1);

    await kill(admin, first);
    await waitForThreadGone(admin, first);
    expect(await ownId(db)).not.toBe(first);
    expect(calls).toBe(2);
    expect(db.stats()).toMatchObject({ connects: 2, errors: 0 });
  });
});
