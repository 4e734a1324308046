import { createConnector, sql } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL } from '../support/env.js';
import { adminConnection, closeQuietly, createAccount, type TestAccount, threadsOf, waitForThreadGone } from '../support/mysql.js';

describe('sessionIdleTimeoutMs: the server reaps a zombie no container could reach', () => {
  let admin: Connection;
  let account: TestAccount;
  beforeAll(async () => {
    admin = await adminConnection(MYSQL);
    account = await createAccount(admin, MYSQL);
  });
  afterAll(async () => {
    await account.drop();
    await closeQuietly(admin);
  });

  it('sets the session wait_timeout, and the server closes an abandoned connection after it', async () => {
    const container = createConnector({ connection: account.connection, sessionIdleTimeoutMs: 1000 });
    const [row] = await container.query<{ waitTimeout: number }>(sql`SELECT @@session.wait_timeout AS waitTimeout`);
    expect(Number(row?.waitTimeout)).toBe(1);
    const [zombie] = await threadsOf(admin, account.user);
    expect(zombie).toBeDefined();
    // The container is dropped without end() or quit(): its connection sleeps on the server...
    await waitForThreadGone(admin, zombie?.id ?? -1, 5000);
    // ...until wait_timeout closes it. A warm container that comes back reconnects transparently.
    const again = await container.query<{ n: number }>(sql`SELECT ${7} AS n`);
    expect(again).toEqual([{ n: 7 }]);
    expect(container.stats()).toMatchObject({ connects: 2, reconnects: 1 });
    await container.quit();
  });

  it('leaves the server default alone when unset', async () => {
    const container = createConnector({ connection: account.connection });
    const [row] = await container.query<{ session: number; global: number }>(sql`SELECT @@session.wait_timeout AS session, @@global.wait_timeout AS global`);
    expect(Number(row?.session)).toBe(Number(row?.global));
    await container.quit();
  });
});
