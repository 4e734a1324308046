/**
 * Property family `core-input`: what a handler passes to a repository is checked at the edge, on
 * real MariaDB and Redis. Parameters the schema cannot even read, a non-array to `getMany`, and
 * validation failures whose input is hostile all get a typed `ValidationError` that shows no part
 * of the input, and touch neither Redis nor MySQL. A write whose tags the cache could never store
 * is rolled back before COMMIT, so nothing reaches the outbox; and an outbox row that cannot be
 * applied (an older deploy's, a corrupted one) never keeps `drain()` from the rows behind it.
 */
import { randomBytes } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import { type Cache, createRedisCache } from '@cachefront/cache';
import { createDataLayer, type DataLayer, defineRepository, OUTBOX_SKIP_CHANNEL, ValidationError } from '@cachefront/core';
import { type Connector, createConnector, mysqlDatabase, sql, type Transaction } from '@cachefront/mysql';
import fc from 'fast-check';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MYSQL, REDIS_URL } from '../support/env.js';
import { adminConnection, createAccount, type TestAccount } from '../support/mysql.js';
import { propertyFamily } from '../support/property.js';
import { randomNamespace } from '../support/redis.js';

const family = propertyFamily('core-input');
const MARKER = 'CANARY-CORE-9d41';

let admin: Connection;
let account: TestAccount;
let db: Connector;
let cache: Cache;
let layer: DataLayer<Connector, Transaction>;

const Item = z.object({ id: z.number().int(), name: z.string() });
const repo = () =>
  layer.repository(
    defineRepository({
      name: 'item',
      params: z.strictObject({ id: z.number().int().positive(), label: z.string().max(20).optional(), extra: z.record(z.string(), z.number()).optional() }),
      value: Item.nullable(),
      ttlMs: 60_000,
      tags: ({ id, label }) => [`item:${id}`, ...(label === undefined ? [] : [`label:${label}`])],
      load: async (conn: Connector, { id }) => {
        const [row] = await conn.query<{ id: number; name: string }>(sql`SELECT id, name FROM item WHERE id = ${id}`);
        return row ? { id: Number(row.id), name: row.name } : null;
      },
    }),
  );

beforeAll(async () => {
  admin = await adminConnection(MYSQL);
  account = await createAccount(admin, MYSQL);
  await admin.query(`CREATE TABLE \`${account.database}\`.item (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL)`);
  await admin.query(`INSERT INTO \`${account.database}\`.item VALUES (1, 'one'), (2, 'two'), (3, 'three')`);
  db = createConnector({ connection: account.connection, manageConns: false });
  cache = createRedisCache({ redis: REDIS_URL, namespace: randomNamespace('cfsec') });
  layer = createDataLayer({ cache, database: mysqlDatabase(db) });
  await layer.migrate();
});

afterAll(async () => {
  await db?.quit();
  await cache?.close();
  await account?.drop();
  await admin?.end();
});

const revokedProxy = () => {
  const { proxy, revoke } = Proxy.revocable({ id: 1 }, {});
  revoke();
  return proxy;
};

/** Parameters the schema cannot read at all. */
const unreadable: fc.Arbitrary<() => unknown> = fc.constantFrom(
  () =>
    Object.defineProperty({}, 'id', {
      enumerable: true,
      get() {
        throw new Error(MARKER);
      },
    }),
  () => revokedProxy(),
  () =>
    new Proxy(
      { id: 1 },
      {
        get: () => {
          throw new Error(MARKER);
        },
      },
    ),
  () =>
    new Proxy(
      { id: 1 },
      {
        ownKeys: () => {
          throw new Error(MARKER);
        },
      },
    ),
);

/** Parameters that fail the schema with the marker in the input: as a value, an unknown key, a record key. */
const invalid: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant({ id: MARKER }),
  fc.constant({ id: 1, [MARKER]: 1 }),
  fc.constant({ id: 1, extra: { [MARKER]: 'x' } }),
  fc.constant({ id: 1, label: `${MARKER}${'x'.repeat(30)}` }),
  fc.string().map((text) => ({ id: -1, label: `${MARKER}${text}`, [`${MARKER}${text}`]: true })),
  fc.constant(MARKER),
  fc.constant([MARKER]),
);

async function refusedAtTheEdge(run: () => Promise<unknown>): Promise<ValidationError> {
  const before = { queries: db.stats().queries, cache: cache.stats() };
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  const shown = [(error as Error).message, String((error as Error).stack), JSON.stringify(error), inspect(error, { depth: 10, showHidden: true })].join('\n');
  expect(shown).not.toContain(MARKER);
  expect(db.stats().queries).toBe(before.queries);
  expect(cache.stats()).toEqual(before.cache);
  return error as ValidationError;
}

describe('parameters are checked before any I/O, and the error shows none of them', () => {
  it('parameters the schema cannot read: a typed error, not the getter’s or the Proxy’s', async () => {
    await fc.assert(
      fc.asyncProperty(unreadable, fc.constantFrom('get', 'read', 'write', 'invalidate', 'getMany') as fc.Arbitrary<string>, async (make, method) => {
        family.tick();
        const items = repo();
        await refusedAtTheEdge(() => {
          const params = make() as { id: number };
          if (method === 'get') return items.get(params);
          if (method === 'read') return items.read(params);
          if (method === 'invalidate') return items.invalidate(params);
          if (method === 'getMany') return items.getMany([{ id: 1 }, params]);
          return items.write(params, async () => 1);
        });
      }),
      { numRuns: family.runs(150) },
    );
  });

  it('getMany given anything but an array is a typed error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constant(null), fc.constant(undefined), fc.string(), fc.object(), fc.constant(new Set([{ id: 1 }]))), async (list) => {
        family.tick();
        await refusedAtTheEdge(() => repo().getMany(list as never));
      }),
      { numRuns: family.runs(100) },
    );
  });

  it('a validation failure names paths the schema declares, never the input’s keys or values', async () => {
    await fc.assert(
      fc.asyncProperty(invalid, async (params) => {
        family.tick();
        const error = await refusedAtTheEdge(() => repo().get(params as never));
        expect(error.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: family.runs(150) },
    );
    // Declared fields are still named, so the error stays useful.
    const error = await refusedAtTheEdge(() => repo().get({ id: 'x' } as never));
    expect(error.issues).toEqual([{ path: 'id', message: expect.stringContaining('expected number') }]);
  });
});

describe('writes and the outbox', () => {
  const badTag = fc.oneof(
    fc.constant(''),
    fc.tuple(fc.string({ maxLength: 4 }), fc.integer({ min: 0xd800, max: 0xdfff })).map(([a, unit]) => `${a}${String.fromCharCode(unit)}`),
  );

  it('a write whose tags the cache could never store is rolled back before COMMIT and leaves no outbox row', async () => {
    await fc.assert(
      fc.asyncProperty(badTag, fc.boolean(), async (tag, late) => {
        family.tick();
        const name = `n-${randomBytes(3).toString('hex')}`;
        const error = await layer
          .write(async (tx) => tx.execute(sql`UPDATE item SET name = ${name} WHERE id = 3`), { tags: late ? () => ['item:3', tag] : ['item:3', tag] })
          .catch((e: unknown) => e);
        expect((error as { code?: string }).code).toBe('E_INVALID_KEY');
        const [row] = await db.query<{ name: string }>(sql`SELECT name FROM item WHERE id = 3`);
        expect(row?.name).toBe('three');
        const [outbox] = await db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM cachefront_outbox`);
        expect(Number(outbox?.n)).toBe(0);
      }),
      { numRuns: family.runs(60) },
    );
  });

  it('drain() skips and reports rows it cannot apply, and still invalidates every row behind them', async () => {
    const skippedOnChannel: unknown[] = [];
    const onSkip = (message: unknown) => skippedOnChannel.push(message);
    diagnostics.subscribe(OUTBOX_SKIP_CHANNEL, onSkip);
    try {
      const items = repo();
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.constant('not json'),
              fc.constant('{"tags":1}'),
              fc.constant('[1,2]'),
              badTag.map((tag) => JSON.stringify(['item:9', tag])),
            ),
            {
              minLength: 1,
              maxLength: 4,
            },
          ),
          async (hostile) => {
            family.tick();
            skippedOnChannel.length = 0;
            expect((await items.read({ id: 2 })).value?.name).toBe('two');
            // A committed write whose invalidation never reached Redis, queued behind hostile rows.
            await admin.query(`UPDATE \`${account.database}\`.item SET name = 'TWO' WHERE id = 2`);
            for (const row of hostile) await admin.query(`INSERT INTO \`${account.database}\`.cachefront_outbox (tags) VALUES (?)`, [row]);
            await admin.query(`INSERT INTO \`${account.database}\`.cachefront_outbox (tags) VALUES (?)`, [JSON.stringify(['item:2'])]);

            const result = await layer.drain();
            expect(result.skipped.length).toBe(hostile.length);
            expect(skippedOnChannel).toHaveLength(hostile.length);
            expect(inspect(skippedOnChannel)).not.toContain('item:9');
            expect((await items.read({ id: 2 })).value?.name).toBe('TWO');

            // Unreadable rows stay for a person to look at; the rest are gone. Reset for the next case.
            await admin.query(`DELETE FROM \`${account.database}\`.cachefront_outbox`);
            await admin.query(`UPDATE \`${account.database}\`.item SET name = 'two' WHERE id = 2`);
            await items.invalidate({ id: 2 });
          },
        ),
        { numRuns: family.runs(40) },
      );
    } finally {
      diagnostics.unsubscribe(OUTBOX_SKIP_CHANNEL, onSkip);
    }
  });
});
