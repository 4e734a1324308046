/**
 * "Too many connections" from a real server: a burst of connectors backs off and gets through once
 * slots free up; when they never do, the operation fails at its deadline with a typed error that
 * keeps the server's errno / SQLSTATE and never the password.
 */
import { inspect } from 'node:util';
import { ConnectionLimitError, type Connector, type ConnectorEvents, createConnector, sql } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUX_MYSQL, MYSQL } from '../support/env.js';
import { adminConnection, closeQuietly, createAccount, holdEverySlot, lowerMaxConnections, type TestAccount } from '../support/mysql.js';
import { waitFor } from '../support/wait-for.js';

async function expectLimitError(error: unknown, account: TestAccount, errnos: readonly number[], sqlState: string): Promise<void> {
  expect(error).toBeInstanceOf(ConnectionLimitError);
  const limit = error as ConnectionLimitError;
  expect(limit.code).toBe('E_CONNECTION_LIMIT');
  expect(errnos).toContain(limit.errno);
  expect(limit.sqlState).toBe(sqlState);
  expect(limit.attempts).toBeGreaterThan(1);
  expect(limit.cause).toBeInstanceOf(Error);
  expect((limit.cause as { errno?: unknown }).errno).toBe(limit.errno);
  const everything = `${limit.message}\n${(limit.cause as Error).message}\n${JSON.stringify(limit)}\n${inspect(limit, { depth: 5 })}`;
  expect(everything).not.toContain(account.password);
}

describe('1040 Too many connections (aux server, lowered max_connections)', () => {
  let admin: Connection;
  let account: TestAccount;
  let restore: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    admin = await adminConnection(AUX_MYSQL);
    // Not root: root would get the extra SUPER slot past max_connections.
    account = await createAccount(admin, AUX_MYSQL);
    const lowered = await lowerMaxConnections(admin, 5);
    restore = lowered.restore;
  });

  afterAll(async () => {
    await restore?.();
    await account?.drop();
    await admin?.end();
  });

  it('a burst backs off while the slots are held and succeeds once they are released', async () => {
    const held = await holdEverySlot(account.connection);
    expect(held.length).toBeGreaterThan(2);
    // More operations than slots: they share the freed slots as earlier ones finish.
    const burst = 12;
    const connectors: Connector[] = [];
    const retries: ConnectorEvents['retry'][][] = [];
    try {
      for (let i = 0; i < burst; i += 1) {
        const db = createConnector({ connection: account.connection, maxRetries: 1000 });
        const seen: ConnectorEvents['retry'][] = [];
        db.on('retry', (event) => seen.push(event));
        db.setDeadline(Date.now() + 30_000);
        connectors.push(db);
        retries.push(seen);
      }
      // Each operation: one read, then the container is done with its connection.
      const operations = connectors.map(async (db, i) => {
        const result = await db.query<{ n: number }>(sql`SELECT ${i} AS n`);
        await db.quit();
        return Number(result[0]?.n);
      });
      // Every connector has been refused at least once: the burst really hit the limit.
      await waitFor(() => retries.every((seen) => seen.length > 0), { timeoutMs: 10_000, message: 'every connector to retry' });
      await Promise.all(held.splice(0).map(closeQuietly));

      expect(await Promise.all(operations)).toEqual(connectors.map((_, i) => i));
      for (const seen of retries) {
        expect(seen.every((event) => event.errno === 1040 && event.code === 'ER_CON_COUNT_ERROR')).toBe(true);
      }
      for (const db of connectors) expect(db.stats()).toMatchObject({ connects: 1, connectErrors: 0, errors: 0 });
    } finally {
      await Promise.all(held.map(closeQuietly));
      await Promise.all(connectors.map((db) => db.quit()));
    }
  });

  it('when the slots never free up, fails at the deadline with ConnectionLimitError 1040', async () => {
    const held = await holdEverySlot(account.connection);
    const db = createConnector({ connection: account.connection, maxRetries: 1000 });
    try {
      const started = Date.now();
      // 1.5 s: on a loaded machine a first refusal has taken more than 500 ms to come back, and an
      // operation that only ever timed out has no limit error to report.
      db.setDeadline(started + 1500);
      const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
      const elapsed = Date.now() - started;

      await expectLimitError(error, account, [1040], '08004');
      expect((error as ConnectionLimitError).driverCode).toBe('ER_CON_COUNT_ERROR');
      expect(elapsed).toBeLessThan(2500);
      expect(db.stats()).toMatchObject({ connects: 0, connectErrors: 1, errors: 1 });
      expect(db.stats().retries).toBeGreaterThan(0);
    } finally {
      await Promise.all(held.map(closeQuietly));
      await db.quit();
    }
  });
});

describe('the per-user variant (shared server, MAX_USER_CONNECTIONS)', () => {
  let admin: Connection;
  let account: TestAccount;

  beforeAll(async () => {
    admin = await adminConnection(MYSQL);
    account = await createAccount(admin, MYSQL, { maxUserConnections: 2 });
  });

  afterAll(async () => {
    await account?.drop();
    await admin?.end();
  });

  it('fails at the deadline with ConnectionLimitError 1203 / 1226, and succeeds once a slot frees', async () => {
    const held = await holdEverySlot(account.connection);
    expect(held).toHaveLength(2);
    const db = createConnector({ connection: account.connection, maxRetries: 1000 });
    try {
      db.setDeadline(Date.now() + 500);
      const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
      await expectLimitError(error, account, [1203, 1226], '42000');

      await closeQuietly(held.pop() as Connection);
      db.setDeadline(Date.now() + 5000);
      expect(await db.query(sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
    } finally {
      await Promise.all(held.map(closeQuietly));
      await db.quit();
    }
  });
});
