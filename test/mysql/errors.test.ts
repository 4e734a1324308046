/**
 * Errors from a real server never carry query parameters or the password, and keep what a person
 * needs: errno, SQLSTATE, the driver's code, a cause.
 */
import { inspect } from 'node:util';
import { type CachefrontMysqlError, ConnectError, type ConnectorEvents, createConnector, QueryError, sql } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL } from '../support/env.js';
import { adminConnection, createAccount, type TestAccount } from '../support/mysql.js';

let admin: Connection;
let account: TestAccount;

beforeAll(async () => {
  admin = await adminConnection(MYSQL);
  account = await createAccount(admin, MYSQL);
  await admin.query(`CREATE TABLE \`${account.database}\`.api_key (id INT AUTO_INCREMENT PRIMARY KEY, secret VARCHAR(64) NOT NULL UNIQUE)`);
});

afterAll(async () => {
  await account?.drop();
  await admin?.end();
});

/** Everything an error shows: message, stack, JSON, and every property down its cause chain. */
function everythingShown(error: CachefrontMysqlError): string {
  const causes: string[] = [];
  for (let cause: unknown = error.cause; cause instanceof Error; cause = cause.cause) causes.push(cause.message, String(cause.stack));
  return [error.message, String(error.stack), JSON.stringify(error), inspect(error, { depth: 10, showHidden: true }), ...causes].join('\n');
}

describe('errors', () => {
  it('a duplicate key keeps errno 1062 and SQLSTATE 23000 but never shows the duplicated value', async () => {
    const db = createConnector({ connection: account.connection });
    const events: ConnectorEvents['error'][] = [];
    db.on('error', (event) => events.push(event));
    const secret = 'sk_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
    try {
      await db.execute(sql`INSERT INTO api_key (secret) VALUES (${secret})`);
      const error = await db.execute(sql`INSERT INTO api_key (secret) VALUES (${secret})`).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(QueryError);
      const query = error as QueryError;
      expect(query).toMatchObject({ code: 'E_QUERY_FAILED', errno: 1062, sqlState: '23000', driverCode: 'ER_DUP_ENTRY', retryable: false });
      expect(query.cause).toBeInstanceOf(Error);
      expect((query.cause as Error).message).toBe('a duplicate value for a unique key (ER_DUP_ENTRY, errno 1062, SQLSTATE 23000)');
      // Neither the value, nor any part of it, nor the statement's text.
      const shown = everythingShown(query);
      expect(shown).not.toContain(secret);
      expect(shown).not.toContain('sk_live');
      expect(shown).not.toContain('INSERT INTO');
      expect(events.map((event) => event.error)).toEqual([query]);
      expect(db.stats().errors).toBe(1);

      // The server echoes the value with its quotes unescaped: the whole value is hidden all the same.
      const quoted = "sk_live_it's-a-s3cret";
      await db.execute(sql`INSERT INTO api_key (secret) VALUES (${quoted})`);
      const again = await db.execute(sql`INSERT INTO api_key (secret) VALUES (${quoted})`).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(QueryError);
      expect((again as QueryError).errno).toBe(1062);
      expect(everythingShown(again as QueryError)).not.toMatch(/sk_live|a-s3cret/);

      // A value in a syntax error's echo is hidden as well: the server quotes the statement's text
      // from the error on ("... near 'WHERE secret = 'sk_live_…'' at line 1"), values included.
      const syntax = await db.query(sql`SELECT id FROM api_key WHERE WHERE secret = ${secret}`).catch((e: unknown) => e);
      expect(syntax).toBeInstanceOf(QueryError);
      expect((syntax as QueryError).errno).toBe(1064);
      expect(everythingShown(syntax as QueryError)).not.toContain('sk_live');
    } finally {
      await db.quit();
    }
  });

  it('a wrong password is a ConnectError 1045, not retried, and the password appears nowhere', async () => {
    const wrong = 'Wr0ng-S3cret-Passw0rd!';
    const db = createConnector({ connection: { ...account.connection, password: wrong } });
    const retries: ConnectorEvents['retry'][] = [];
    const events: ConnectorEvents['error'][] = [];
    db.on('retry', (event) => retries.push(event));
    db.on('error', (event) => events.push(event));
    try {
      const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ConnectError);
      const connect = error as ConnectError;
      expect(connect).toMatchObject({ code: 'E_CONNECT_FAILED', errno: 1045, sqlState: '28000', driverCode: 'ER_ACCESS_DENIED_ERROR', attempts: 1 });
      expect(connect.cause).toBeInstanceOf(Error);
      const shown = everythingShown(connect);
      expect(shown).not.toContain(wrong);
      expect(shown).not.toContain(account.password);
      expect(retries).toEqual([]);
      expect(db.stats()).toMatchObject({ retries: 0, connects: 0, connectErrors: 1, errors: 1 });
      expect(events.map((event) => event.error)).toEqual([connect]);
    } finally {
      await db.quit();
    }
  });

  it('shows the server text, unredacted, only when exposeServerMessages asks for it', async () => {
    const value = `debug-only-${Date.now()}`;
    const quiet = createConnector({ connection: account.connection, manageConns: false });
    const loud = createConnector({ connection: account.connection, manageConns: false, exposeServerMessages: true });
    try {
      await quiet.execute(sql`INSERT INTO api_key (secret) VALUES (${value})`);
      const hidden = (await quiet.execute(sql`INSERT INTO api_key (secret) VALUES (${value})`).catch((e: unknown) => e)) as QueryError;
      const exposed = (await loud.execute(sql`INSERT INTO api_key (secret) VALUES (${value})`).catch((e: unknown) => e)) as QueryError;
      expect(hidden.serverMessage).toBeUndefined();
      expect(everythingShown(hidden)).not.toContain(value);
      expect(exposed.serverMessage).toContain(`Duplicate entry '${value}'`);
      // Even then the message and the cause are built from the codes alone.
      expect(exposed.message).not.toContain(value);
      expect((exposed.cause as Error).message).not.toContain(value);
    } finally {
      await quiet.quit();
      await loud.quit();
    }
  });
});
