/**
 * Property family `sql-shapes`: nothing but a statement built by the `sql` tag reaches MySQL, and
 * nothing but a scalar travels as a value. Objects, arrays, `toSqlString()` carriers, NaN,
 * boxed primitives, class instances, Proxies, look-alike statements from JSON and misused helpers
 * all get a `StatementError` that names the position and the kind, never the content — and the
 * server sees no statement at all.
 */
import { type Connector, createConnector, SqlStatement, StatementError, sql } from '@cachefront/mysql';
import fc from 'fast-check';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL } from '../support/env.js';
import { adminConnection, createAccount, type TestAccount } from '../support/mysql.js';
import { propertyFamily } from '../support/property.js';

const family = propertyFamily('sql-shapes');

const MARKER = 'CANARY-SHAPE-51c2';

let admin: Connection;
let account: TestAccount;
let db: Connector;

beforeAll(async () => {
  admin = await adminConnection(MYSQL);
  account = await createAccount(admin, MYSQL);
  await admin.query(`CREATE TABLE \`${account.database}\`.person (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL)`);
  await admin.query(`INSERT INTO \`${account.database}\`.person VALUES (1, 'alice'), (2, 'bob'), (3, '${MARKER}')`);
  db = createConnector({ connection: account.connection, manageConns: false });
  await db.query(sql`SELECT 1 AS warm`);
});

afterAll(async () => {
  await db?.quit();
  await account?.drop();
  await admin?.end();
});

const arrayish = (value: unknown) => {
  try {
    return Array.isArray(value);
  } catch {
    return false;
  }
};

const revoked = () => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
};

/** Values that are not scalars, each carrying the marker where it could leak (as thunks: fast-check must not touch a revoked Proxy). */
const plainNonScalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.constant(MARKER), { minKeys: 1 }),
  fc.array(fc.oneof(fc.integer(), fc.constant(MARKER)), { minLength: 1, maxLength: 4 }),
  fc.constantFrom(
    undefined,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    { toSqlString: () => `(SELECT name FROM person WHERE name = '${MARKER}')` },
    { name: MARKER, id: 1 },
    [1, 3],
    new Date(Number.NaN),
    new Date('+010000-01-01T00:00:00Z'),
    new Number(1),
    new String(MARKER),
    new Boolean(true),
    new URL(`https://example.com/${MARKER}`),
    new RegExp(MARKER),
    new Error(MARKER),
    new Map([[MARKER, 1]]),
    new Set([MARKER]),
    new Float64Array([1, 2]),
    new Int8Array([1]),
    new DataView(new ArrayBuffer(2)),
    Symbol(MARKER),
    () => MARKER,
    new Proxy(new Date(), {}),
    new Proxy(Buffer.from(MARKER), {}),
    `${MARKER}\ud800`,
  ),
);
const nonScalar: fc.Arbitrary<() => unknown> = fc.oneof(
  plainNonScalar.map((value) => () => value),
  fc.constant(() => revoked()),
);

/** Things shaped like statements that did not come from the tag. */
const forged: fc.Arbitrary<() => unknown> = fc.oneof(
  fc.constant(() => JSON.parse('{"text":"1=1) OR (1=1","values":[]}')),
  fc.string({ maxLength: 30 }).map((text) => () => ({ text: `name = 'nope' OR 1=1 ${text}`, values: [] })),
  fc.constant(() => new Proxy({ text: "name = 'nope' OR 1=1", values: [] }, { has: () => true })),
  fc.constant(() => new Proxy(sql`name = ${'alice'}`, {})),
  fc.constant(() => Object.create(SqlStatement.prototype) as unknown),
  fc.constant(() => Object.assign(Object.create(SqlStatement.prototype) as object, { text: '1=1', values: [] })),
);

/** Every way a hostile value can be handed to the statement builders or the connector. */
const misuses: Array<{ name: string; build: (value: unknown) => unknown }> = [
  { name: 'as a template value', build: (value) => sql`SELECT name FROM person WHERE id = ${value}` },
  { name: 'as an sql.list() item', build: (value) => sql`SELECT name FROM person WHERE id IN (${sql.list([1, value as number])})` },
  // An array of scalars is a fine list: an array given here is nested, so its one item is an array.
  { name: 'as the sql.list() argument', build: (value) => sql.list((arrayish(value) ? [value] : value) as number[]) },
  { name: 'as an sql.join() fragment', build: (value) => sql`SELECT name FROM person WHERE (${sql.join([sql`id = ${1}`, value as SqlStatement], ' OR ')})` },
  { name: 'as the sql.join() argument', build: (value) => sql.join(value as SqlStatement[]) },
  // (undefined is the default separator, as for any default parameter: null stands in for it.)
  { name: 'as the sql.join() separator', build: (value) => sql.join([sql`id = ${1}`, sql`id = ${2}`], (value ?? null) as string) },
  { name: 'as an sql.id() name', build: (value) => sql.id(value as string) },
  { name: 'as an sql.raw() value', build: (value) => sql.raw('SELECT name FROM person WHERE id = ?', [value as number]) },
  { name: 'as the sql.raw() text', build: (value) => sql.raw(value as string) },
  { name: 'called as a function', build: (value) => sql(value as TemplateStringsArray) },
];

async function refusedWithoutSending(build: () => unknown): Promise<void> {
  const before = db.stats().queries;
  let error: unknown;
  try {
    const statement = build();
    // Whatever a builder returned (nothing should get this far) goes to the connector, which must refuse it too.
    await db.query(statement as SqlStatement);
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(StatementError);
  expect((error as StatementError).code).toBe('E_INVALID_STATEMENT');
  expect(String((error as Error).message)).not.toContain(MARKER);
  expect(db.stats().queries).toBe(before);
}

describe('only scalars travel as values, only tagged statements as SQL', () => {
  it.each(misuses)('a non-scalar $name is a typed error and sends nothing', async ({ build }) => {
    await fc.assert(
      fc.asyncProperty(nonScalar, async (value) => {
        family.tick();
        // A non-string name for sql.id(), a non-array list: also refused, the same way.
        await refusedWithoutSending(() => build(value()));
      }),
      { numRuns: family.runs(120) },
    );
  });

  it('a look-alike statement is refused wherever a statement goes', async () => {
    await fc.assert(
      fc.asyncProperty(forged, fc.constantFrom(...misuses.slice(3, 6)), async (fake, misuse) => {
        family.tick();
        await refusedWithoutSending(() => misuse.build(fake()));
        family.tick();
        await refusedWithoutSending(() => sql`SELECT name FROM person WHERE ${fake() as SqlStatement}`);
        family.tick();
        await refusedWithoutSending(() => fake());
      }),
      { numRuns: family.runs(150) },
    );
  });

  it('a "?" in the text of a template is refused, since every ? is a placeholder', async () => {
    await refusedWithoutSending(() => sql`SELECT name FROM person WHERE name = 'why?' AND id = ${1}`);
    family.tick();
  });

  it('the statements that are allowed still return the rows they should', async () => {
    const rows = await db.query<{ name: string }>(
      sql`SELECT ${sql.id('name')} FROM ${sql.id('person')} WHERE ${sql.join([sql`id = ${1}`, sql`id IN (${sql.list([2, 2])})`], ' OR ')} ORDER BY id`,
    );
    expect(rows.map((row) => row.name)).toEqual(['alice', 'bob']);
    family.tick();
  });
});
