/**
 * Property family `sql-literals`: every value a statement carries reaches MySQL as exactly one
 * literal and comes back unchanged, whatever `sql_mode` the session runs with — the default, or
 * NO_BACKSLASH_ESCAPES set on the session, server-wide, or by `init_connect` behind the client's
 * back. A hostile string never matches a row it does not equal, nor reads another table.
 */
import { type Connector, createConnector, StatementError, sql } from '@cachefront/mysql';
import fc from 'fast-check';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUX_MYSQL, MYSQL } from '../support/env.js';
import { adminConnection, createAccount, type TestAccount } from '../support/mysql.js';
import { propertyFamily } from '../support/property.js';

const family = propertyFamily('sql-literals');

/** Characters that break naive escaping, in any mode and charset. */
const DANGEROUS = [
  "'",
  '"',
  '\\',
  '\0',
  '\n',
  '\r',
  '\t',
  '\b',
  '\x1a',
  '`',
  ';',
  '-',
  '#',
  '/',
  '*',
  ' ',
  '?',
  '%',
  '_',
  'O',
  'R',
  '1',
  '=',
  '¿',
  '縗',
  'é',
  '😀',
];

/** Strings: dangerous alphabets, any code point, and the classic payloads. */
const hostileString = fc.oneof(
  fc.string({ unit: fc.constantFrom(...DANGEROUS), maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  // A lone surrogate (valid in a JS string and in JSON, not in UTF-8): refused, never silently replaced.
  fc
    .tuple(fc.string({ maxLength: 5 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ maxLength: 5 }))
    .map(([a, unit, b]) => `${a}${String.fromCharCode(unit)}${b}`),
  fc.constantFrom(
    "' OR 1=1 -- ",
    "\\' OR 1=1 -- ",
    "\\' UNION SELECT secret FROM vault -- ",
    "' UNION SELECT secret FROM vault -- ",
    '\\',
    "\\'",
    "''",
    "\\\\'",
    "x' OR 'a'='a",
    "\u00bf\\' OR 1=1 -- ",
  ),
);

const hasLoneSurrogate = (text: string) => /\p{Cs}/u.test(text);

interface Mode {
  readonly name: string;
  readonly db: () => Connector;
}

const modes: Mode[] = [];
let admin: Connection;
let auxAdmin: Connection;
let account: TestAccount;
let auxAccount: TestAccount;
const connectors: Connector[] = [];
let previousGlobalMode = '';
let previousInitConnect = '';
/** A session whose mode init_connect changed, that has sent no string yet. */
let freshInit: Connector;

async function seed(connection: Connection, database: string): Promise<void> {
  await connection.query(`CREATE TABLE \`${database}\`.person (name VARBINARY(255) NOT NULL)`);
  await connection.query(`CREATE TABLE \`${database}\`.vault (secret VARCHAR(64) NOT NULL)`);
  await connection.query(`INSERT INTO \`${database}\`.person VALUES ('alice'), ('bob')`);
  await connection.query(`INSERT INTO \`${database}\`.vault VALUES ('CANARY-7f3a')`);
}

function connector(connection: TestAccount['connection']): Connector {
  const db = createConnector({ connection, manageConns: false });
  connectors.push(db);
  return db;
}

beforeAll(async () => {
  admin = await adminConnection(MYSQL);
  auxAdmin = await adminConnection(AUX_MYSQL);
  account = await createAccount(admin, MYSQL);
  auxAccount = await createAccount(auxAdmin, AUX_MYSQL);
  await seed(admin, account.database);
  await seed(auxAdmin, auxAccount.database);

  const plain = connector(account.connection);
  const session = connector(account.connection);
  await session.execute(sql.raw("SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')"));

  // Server-wide, on the throwaway server: new sessions start with it (the handshake says so).
  const [[global]] = (await auxAdmin.query('SELECT @@GLOBAL.sql_mode AS mode, @@GLOBAL.init_connect AS init')) as unknown as [[{ mode: string; init: string }]];
  previousGlobalMode = global.mode;
  previousInitConnect = global.init;
  await auxAdmin.query("SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')");
  const server = connector(auxAccount.connection);
  await server.query(sql`SELECT 1 AS one`);
  await auxAdmin.query('SET GLOBAL sql_mode = ?', [previousGlobalMode]);

  // init_connect runs after the handshake, for users without SUPER: the client cannot see it coming.
  await auxAdmin.query(`SET GLOBAL init_connect = "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES')"`);
  const init = connector(auxAccount.connection);
  await init.query(sql`SELECT 1 AS one`);
  freshInit = connector(auxAccount.connection);
  await freshInit.query(sql`SELECT 1 AS one`);
  await auxAdmin.query('SET GLOBAL init_connect = ?', [previousInitConnect]);

  modes.push(
    { name: 'default sql_mode', db: () => plain },
    { name: 'NO_BACKSLASH_ESCAPES set on the session', db: () => session },
    { name: 'NO_BACKSLASH_ESCAPES server-wide', db: () => server },
    { name: 'NO_BACKSLASH_ESCAPES from init_connect', db: () => init },
  );
  for (const [mode, db] of [
    [false, plain],
    [true, session],
    [true, server],
    [true, init],
  ] as const) {
    const [row] = await db.query<{ mode: string }>(sql`SELECT @@SESSION.sql_mode AS mode`);
    expect(row?.mode.includes('NO_BACKSLASH_ESCAPES'), 'the session runs in the mode under test').toBe(mode);
  }
});

afterAll(async () => {
  await Promise.all(connectors.map((db) => db.quit()));
  if (auxAdmin) {
    await auxAdmin.query('SET GLOBAL sql_mode = ?', [previousGlobalMode]).catch(() => undefined);
    await auxAdmin.query('SET GLOBAL init_connect = ?', [previousInitConnect]).catch(() => undefined);
  }
  await account?.drop();
  await auxAccount?.drop();
  await admin?.end();
  await auxAdmin?.end();
});

describe.each([0, 1, 2, 3])('sql_mode case %i', (index) => {
  const mode = () => modes[index] as Mode;

  it('a string comes back exactly as it went in, as one literal in one column', async () => {
    const { db, name } = mode();
    await fc.assert(
      fc.asyncProperty(hostileString, async (text) => {
        family.tick();
        if (hasLoneSurrogate(text)) {
          // Not valid UTF-16: it cannot be sent without changing it, so it is refused, typed.
          expect(() => sql`SELECT ${text} AS v`).toThrow(StatementError);
          return;
        }
        const rows = await db().query<{ v: string; after: number }>(sql`SELECT ${text} AS v, 7 AS after`);
        expect(rows, name).toEqual([{ v: text, after: 7 }]);
      }),
      { numRuns: family.runs(400) },
    );
  });

  it('a hostile string matches only the row it equals, and never reads another table', async () => {
    const { db } = mode();
    await fc.assert(
      fc.asyncProperty(fc.oneof(hostileString, fc.constantFrom('alice', 'bob')), async (text) => {
        family.tick();
        if (hasLoneSurrogate(text)) return;
        const rows = await db().query<{ name: Buffer }>(sql`SELECT name FROM person WHERE name = ${text}`);
        const expected = text === 'alice' || text === 'bob' ? [text] : [];
        expect(rows.map((row) => row.name.toString('utf8'))).toEqual(expected);
      }),
      { numRuns: family.runs(250) },
    );
  });

  it('numbers, bigints, booleans, null, Dates and bytes come back unchanged', async () => {
    const { db } = mode();
    const scalar = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => ({ kind: 'number' as const, n })),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).map((b) => ({ kind: 'bigint' as const, b })),
      fc.boolean().map((t) => ({ kind: 'boolean' as const, t })),
      fc.date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => ({ kind: 'date' as const, d })),
      fc.uint8Array({ maxLength: 64 }).map((u) => ({ kind: 'bytes' as const, u })),
      fc.constant({ kind: 'null' as const }),
    );
    await fc.assert(
      fc.asyncProperty(scalar, async (value) => {
        family.tick();
        switch (value.kind) {
          case 'number': {
            // The literal is the number's shortest exact form: a DECIMAL literal (read back as an exact
            // string) or, with an exponent, a DOUBLE. (Not through CAST(… AS DOUBLE): MariaDB's
            // DECIMAL-to-DOUBLE conversion can be one unit in the last place off.)
            const [row] = await db().query<{ v: number | string }>(sql`SELECT ${value.n} AS v`);
            expect(Number(row?.v)).toBe(value.n === 0 ? 0 : value.n);
            break;
          }
          case 'bigint': {
            const [row] = await db().query<{ v: number | string }>(sql`SELECT ${value.b} AS v`);
            expect(String(row?.v)).toBe(value.b.toString());
            break;
          }
          case 'boolean': {
            const [row] = await db().query<{ v: number }>(sql`SELECT ${value.t} AS v`);
            expect(row?.v).toBe(value.t ? 1 : 0);
            break;
          }
          case 'date': {
            const [row] = await db().query<{ v: Date }>(sql`SELECT CAST(${value.d} AS DATETIME(3)) AS v`);
            expect(row?.v.getTime()).toBe(value.d.getTime());
            break;
          }
          case 'bytes': {
            const [row] = await db().query<{ v: Buffer }>(sql`SELECT ${value.u} AS v`);
            expect(Buffer.compare(row?.v ?? Buffer.alloc(0), Buffer.from(value.u))).toBe(0);
            break;
          }
          case 'null': {
            const [row] = await db().query<{ v: null }>(sql`SELECT ${null} AS v`);
            expect(row?.v).toBeNull();
            break;
          }
        }
      }),
      { numRuns: family.runs(250) },
    );
  });

  it('survives the payloads that break client-side escaping under NO_BACKSLASH_ESCAPES', async () => {
    const { db } = mode();
    // (Control characters too: written as \n they would read back as a backslash and an n under NO_BACKSLASH_ESCAPES.)
    for (const payload of ["\\' OR 1=1 -- ", "\\' UNION SELECT secret FROM vault -- ", "' OR ''='", '\n', 'a\0b\r\x1a']) {
      family.tick();
      const rows = await db().query<{ name: Buffer }>(sql`SELECT name FROM person WHERE name = ${payload}`);
      expect(rows).toEqual([]);
      const [row] = await db().query<Record<string, unknown>>(sql`SELECT ${payload} AS v`);
      expect(row).toEqual({ v: payload });
    }
  });
});

it('a session whose mode init_connect changed unseen reads control characters back as sent, as its very first strings', async () => {
  family.tick();
  const rows = await freshInit.query<{ a: string; b: string }>(sql`SELECT ${'line\nbreak'} AS a, ${'nul\0cr\rz\x1a'} AS b`);
  expect(rows).toEqual([{ a: 'line\nbreak', b: 'nul\0cr\rz\x1a' }]);
  const [row] = await freshInit.query<{ mode: string }>(sql`SELECT @@SESSION.sql_mode AS mode`);
  expect(row?.mode).toContain('NO_BACKSLASH_ESCAPES');
});
