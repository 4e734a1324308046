/**
 * Property family `error-redaction`: for every class of server error whose text can echo a value
 * (duplicate keys, bad integers, dates, decimals and strings, unknown time zones, syntax errors near
 * a value, a trigger's SIGNAL text), no part of the value appears in the error, its cause chain,
 * its stack, its JSON or `util.inspect` form, the `error` event, or the `cachefront:mysql:error`
 * diagnostics channel. The codes a person needs (errno, SQLSTATE, the driver's code) stay.
 */
import diagnostics from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import { CachefrontMysqlError, type Connector, createConnector, type SqlStatement, sql } from '@cachefront/mysql';
import fc from 'fast-check';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL } from '../support/env.js';
import { adminConnection, createAccount, type TestAccount } from '../support/mysql.js';
import { propertyFamily } from '../support/property.js';

const family = propertyFamily('error-redaction');

let admin: Connection;
let account: TestAccount;
let db: Connector;
const events: unknown[] = [];
const published: unknown[] = [];
const onPublish = (message: unknown) => published.push(message);

beforeAll(async () => {
  admin = await adminConnection(MYSQL);
  account = await createAccount(admin, MYSQL);
  const d = `\`${account.database}\``;
  await admin.query(`CREATE TABLE ${d}.secret_row (
    id INT AUTO_INCREMENT PRIMARY KEY,
    token VARCHAR(255) NULL UNIQUE,
    n INT NULL,
    at DATETIME NULL,
    amount DECIMAL(10, 2) NULL,
    latin VARCHAR(255) CHARACTER SET latin1 NULL
  )`);
  await admin.query(`CREATE TABLE ${d}.guarded (name VARCHAR(255) NOT NULL)`);
  await admin.query(
    `CREATE TRIGGER ${d}.guarded_check BEFORE INSERT ON ${d}.guarded FOR EACH ROW BEGIN DECLARE msg VARCHAR(255); SET msg = CONCAT('rejected ', NEW.name); SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = msg; END`,
  );
  db = createConnector({ connection: account.connection, manageConns: false });
  db.on('error', (event) => events.push(event));
  diagnostics.subscribe('cachefront:mysql:error', onPublish);
});

afterAll(async () => {
  diagnostics.unsubscribe('cachefront:mysql:error', onPublish);
  await db?.quit();
  await account?.drop();
  await admin?.end();
});

/** Everything an error shows, down its cause chain. */
function shown(error: unknown): string {
  const parts: string[] = [];
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    parts.push(cause.message, String(cause.stack), JSON.stringify(cause), String(cause));
  }
  parts.push(inspect(error, { depth: 10, showHidden: true }));
  return parts.join('\n');
}

/** The statements that make the server echo `value`, each with the errno it must keep. */
const CLASSES: ReadonlyArray<{ name: string; errno: number; statement: (value: string) => SqlStatement; setup?: (value: string) => SqlStatement }> = [
  {
    name: 'duplicate key',
    errno: 1062,
    setup: (value) => sql`INSERT INTO secret_row (token) VALUES (${value})`,
    statement: (value) => sql`INSERT INTO secret_row (token) VALUES (${value})`,
  },
  { name: 'bad integer', errno: 1366, statement: (value) => sql`INSERT INTO secret_row (n) VALUES (${value})` },
  { name: 'bad datetime', errno: 1292, statement: (value) => sql`INSERT INTO secret_row (at) VALUES (${value})` },
  { name: 'bad decimal', errno: 1366, statement: (value) => sql`INSERT INTO secret_row (amount) VALUES (${value})` },
  { name: 'bad string for the column charset', errno: 1366, statement: (value) => sql`INSERT INTO secret_row (latin) VALUES (${`😀${value}`})` },
  { name: 'unknown time zone', errno: 1298, statement: (value) => sql`SET time_zone = ${value}` },
  { name: 'syntax error near a value', errno: 1064, statement: (value) => sql`SELECT 1 FROM secret_row LIMIT ${value}` },
  { name: "a trigger's SIGNAL text", errno: 1644, statement: (value) => sql`INSERT INTO guarded (name) VALUES (${value})` },
];

/** A secret with hostile edges: quotes, spaces, punctuation, `@` and `)` right after the quote the server adds. */
const secret = fc
  .tuple(
    fc.string({ unit: fc.constantFrom("'", '"', ' ', ')', '@', ',', '.', ';', ':', ']', '\\', '`', '-', '(', '\n'), maxLength: 6 }),
    fc.stringMatching(/^[A-Z0-9]{6,12}$/),
    fc.string({ unit: fc.constantFrom("'", '"', ' ', ')', '@', ',', '.', ';', ':', ']', '\\', '`', '-', '(', '\n'), maxLength: 6 }),
  )
  .map(([before, core, after]) => ({ value: `${before}PARAM-SECRET-${core}${after}`, marker: `SECRET-${core}` }));

describe('server errors never carry a value', () => {
  it.each(CLASSES)('$name (errno $errno): the value is nowhere, the codes stay', async ({ errno, statement, setup }) => {
    await fc.assert(
      fc.asyncProperty(secret, async ({ value, marker }) => {
        family.tick();
        events.length = 0;
        published.length = 0;
        if (setup) await db.execute(setup(value));
        const error = await db.execute(statement(value)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CachefrontMysqlError);
        expect((error as CachefrontMysqlError).errno).toBe(errno);
        expect((error as CachefrontMysqlError).sqlState).toMatch(/^[0-9A-Z]{5}$/);
        for (const where of [shown(error), inspect(events, { depth: 10 }), inspect(published, { depth: 10 })]) {
          expect(where).not.toContain(marker);
          expect(where).not.toContain('PARAM-SECRET');
        }
        expect(events).toHaveLength(1);
        expect(published).toHaveLength(1);
      }),
      { numRuns: family.runs(60) },
    );
  });
});
