/**
 * Max-connection checks against the real server: `end()` reads LEAST(@@max_connections, the
 * account's max_user_connections) as the limit, and counts only the application user's threads
 * (serverless-mysql counts every user's).
 */
import { type ConnectorEvents, createConnector, sql } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUX_MYSQL, MYSQL } from '../support/env.js';
import { adminConnection, closeQuietly, createAccount, lowerMaxConnections, rawConnection, type TestAccount, threadsOf } from '../support/mysql.js';

describe('end() on the shared server: a per-user limit', () => {
  let admin: Connection;
  let account: TestAccount;

  beforeAll(async () => {
    admin = await adminConnection(MYSQL);
    // PROCESS lets the user see every thread: only the connector's own filter keeps others out of `used`.
    account = await createAccount(admin, MYSQL, { maxUserConnections: 5, globalPrivileges: ['PROCESS'] });
  });

  afterAll(async () => {
    await account?.drop();
    await admin?.end();
  });

  it('reports MAX_USER_CONNECTIONS as the limit and counts only its own user', async () => {
    const db = createConnector({ connection: account.connection });
    const others: Connection[] = [];
    const mine: Connection[] = [];
    try {
      await db.query(sql`SELECT 1`);
      for (let i = 0; i < 2; i += 1) mine.push(await rawConnection(account.connection));
      // Other users' threads exist meanwhile (and the test user can see them, having PROCESS).
      for (let i = 0; i < 3; i += 1) others.push(await adminConnection(MYSQL));
      const visible = await db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST`);
      expect(Number(visible[0]?.n)).toBeGreaterThanOrEqual(6);

      const usage: ConnectorEvents['usage'][] = [];
      db.on('usage', (event) => usage.push(event));
      const result = await db.end();

      const serverCount = (await threadsOf(admin, account.user)).length;
      expect(serverCount).toBe(3);
      expect(result).toEqual({ checked: true, limit: 5, used: 3, killed: [], closed: false });
      expect(usage).toEqual([{ limit: 5, used: 3, utilization: 3 / 5, thresholdMs: 900_000, pressure: false }]);
      expect(db.stats().usageChecks).toBe(1);
      expect(db.stats().openConnections).toBe(1);
    } finally {
      await db.quit();
      await Promise.all([...mine, ...others].map(closeQuietly));
    }
  });
});

describe('end() on the aux server: a lowered max_connections', () => {
  let admin: Connection;
  let account: TestAccount;

  beforeAll(async () => {
    admin = await adminConnection(AUX_MYSQL);
    // The account's own limit is higher than the server's: LEAST() must pick the server's.
    account = await createAccount(admin, AUX_MYSQL, { maxUserConnections: 30 });
  });

  afterAll(async () => {
    await account?.drop();
    await admin?.end();
  });

  it('reports the lowered max_connections as the limit, and follows it when it changes', async () => {
    const db = createConnector({ connection: account.connection });
    const lowered = await lowerMaxConnections(admin, 12);
    try {
      expect(lowered.effective).toBe(12);
      await db.query(sql`SELECT 1`);
      expect(await db.end()).toEqual({ checked: true, limit: 12, used: 1, killed: [], closed: false });

      await admin.query('SET GLOBAL max_connections = 25');
      await db.query(sql`SELECT 1`);
      expect(await db.end()).toMatchObject({ checked: true, limit: 25, used: 1 });
    } finally {
      await lowered.restore();
      await db.quit();
    }
  });
});
