/**
 * The least-privilege GRANTs docs/SECURITY.md documents, run as they are on a MariaDB of the test's
 * own (scripts/mariadb-aux.sh; purged afterwards): the application user with DML on its schema
 * only writes through a repository (transaction and outbox), reads, drains, and runs the
 * connector's end() and reap() — which see and kill its own sleeping threads without PROCESS, and
 * never see another user's. CREATE is needed only by `layer.migrate()`, given to a migration user.
 * On RDS, `killMethod: 'rds_kill'` needs EXECUTE on mysql.rds_kill, checked here against a stand-in
 * procedure of that name.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createMemoryCache } from '@cachefront/cache';
import { createDataLayer, defineRepository } from '@cachefront/core';
import { type Connector, type ConnectorEvents, createConnector, mysqlDatabase, QueryError, sql } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { adminConnection, closeQuietly, connectionId, rawConnection, rows, threadExists, threadsOf, waitForThreadGone } from '../support/mysql.js';
import { type AuxMariadb, startAuxMariadb } from '../support/tls.js';
import { waitFor } from '../support/wait-for.js';

/**
 * The statements docs/SECURITY.md gives, for database `shop`, users `app` and `app_migrate` and
 * password `CHANGE-ME`; the test runs them with names of its own.
 */
const DOCUMENTED = {
  app: ["CREATE USER 'app'@'%' IDENTIFIED BY 'CHANGE-ME';", "GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO 'app'@'%';"],
  migrate: ["CREATE USER 'app_migrate'@'%' IDENTIFIED BY 'CHANGE-ME';", "GRANT CREATE ON shop.* TO 'app_migrate'@'%';"],
  tables: ["GRANT SELECT, INSERT, UPDATE, DELETE ON shop.product TO 'app'@'%';", "GRANT INSERT, SELECT, DELETE ON shop.cachefront_outbox TO 'app'@'%';"],
  rdsKill: ["GRANT EXECUTE ON PROCEDURE mysql.rds_kill TO 'app'@'%';"],
} as const;

let server: AuxMariadb;
let admin: Connection;
const connectors: Connector[] = [];
const raws: Connection[] = [];

beforeAll(async () => {
  server = await startAuxMariadb();
  admin = await adminConnection(server);
  // On RDS this procedure is the service's; here a stand-in with the same name and signature.
  await admin.query('CREATE PROCEDURE mysql.rds_kill(IN thread BIGINT) SQL SECURITY DEFINER KILL CONNECTION thread');
});

afterEach(async () => {
  await Promise.all(connectors.splice(0).map((db) => db.quit()));
  await Promise.all(raws.splice(0).map(closeQuietly));
});

afterAll(async () => {
  if (admin) await closeQuietly(admin);
  await server?.purge();
});

interface Setup {
  database: string;
  app: { user: string; password: string };
  migrator: { user: string; password: string };
  connection(who: { user: string; password: string }): { host: string; port: number; user: string; password: string; database: string };
}

/** Runs a documented block with this test's names. */
async function apply(statements: readonly string[], names: { database: string; app: string; migrate: string; password: string }): Promise<void> {
  for (const statement of statements) {
    const text = statement
      .replaceAll("'app_migrate'", `'${names.migrate}'`)
      .replaceAll("'app'", `'${names.app}'`)
      .replaceAll('shop.', `${names.database}.`)
      .replaceAll("'CHANGE-ME'", `'${names.password}'`);
    await admin.query(text);
  }
}

async function setup(blocks: ReadonlyArray<keyof typeof DOCUMENTED>): Promise<Setup> {
  const suffix = randomBytes(4).toString('hex');
  const database = `shop_${suffix}`;
  const password = `pw_${randomBytes(9).toString('hex')}`;
  const names = { database, app: `app_${suffix}`, migrate: `mig_${suffix}`, password };
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.query(`CREATE TABLE ${database}.product (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, price DECIMAL(8,2) NOT NULL)`);
  await admin.query(`INSERT INTO ${database}.product VALUES (1, 'Hammer', 19.90), (2, 'Saw', 24.50)`);
  for (const block of blocks) await apply(DOCUMENTED[block], names);
  return {
    database,
    app: { user: names.app, password },
    migrator: { user: names.migrate, password },
    connection: (who) => ({ host: server.host, port: server.port, user: who.user, password: who.password, database }),
  };
}

function connector(options: Parameters<typeof createConnector>[0] & object): Connector {
  const db = createConnector(options);
  connectors.push(db);
  return db;
}

async function zombie(connection: ReturnType<Setup['connection']>): Promise<number> {
  const raw = await rawConnection(connection);
  raws.push(raw);
  return connectionId(raw);
}

function repositories(db: Connector) {
  const layer = createDataLayer({ cache: createMemoryCache({ namespace: 'grants' }), database: mysqlDatabase(db) });
  const products = layer.repository(
    defineRepository({
      name: 'product',
      params: z.object({ id: z.number().int() }),
      value: z.object({ id: z.number(), name: z.string(), price: z.string() }),
      ttlMs: 60_000,
      tags: ({ id }) => [`product:${id}`],
      load: async (conn: Connector, { id }) => {
        const [row] = await conn.query<{ id: number; name: string; price: string }>(sql`SELECT id, name, price FROM product WHERE id = ${id}`);
        if (!row) throw new Error(`no product ${id}`);
        return row;
      },
    }),
  );
  return { layer, products };
}

describe('the documented GRANTs', () => {
  it('are the ones docs/SECURITY.md gives', async () => {
    const docs = await readFile(new URL('../../docs/SECURITY.md', import.meta.url), 'utf8');
    for (const statement of Object.values(DOCUMENTED).flat()) expect(docs).toContain(statement);
  });

  it('the application user writes through a repository (transaction and outbox), reads and drains with DML on its schema only', async () => {
    const s = await setup(['app', 'migrate']);
    const migrator = connector({ connection: s.connection(s.migrator) });
    await repositories(migrator).layer.migrate();
    const db = connector({ connection: s.connection(s.app) });
    const { layer, products } = repositories(db);
    expect(await products.get({ id: 1 })).toEqual({ id: 1, name: 'Hammer', price: '19.90' });
    await products.write({ id: 1 }, (tx) => tx.execute(sql`UPDATE product SET price = ${'17.00'} WHERE id = ${1}`));
    expect(await products.get({ id: 1 })).toEqual({ id: 1, name: 'Hammer', price: '17.00' });
    await layer.write((tx) => tx.execute(sql`INSERT INTO product (id, name, price) VALUES (${3}, ${'Glue'}, ${'3.10'})`), { tags: ['product:3'] });
    await layer.write((tx) => tx.execute(sql`DELETE FROM product WHERE id = ${3}`), { tags: ['product:3'] });
    // The outbox rows were written in the transactions and deleted after the invalidations.
    expect(await rows(admin, `SELECT COUNT(*) AS n FROM ${s.database}.cachefront_outbox`)).toEqual([{ n: 0 }]);
    await db.execute(sql`INSERT INTO cachefront_outbox (tags) VALUES (${JSON.stringify(['product:2'])})`);
    expect(await layer.drain()).toEqual({ tags: 1, rows: 1, skipped: [] });
    expect(await rows(admin, `SELECT COUNT(*) AS n FROM ${s.database}.cachefront_outbox`)).toEqual([{ n: 0 }]);
    // And nothing more: no DDL.
    const ddl = await db.execute(sql.raw('CREATE TABLE nope (id INT)')).catch((e: unknown) => e);
    expect(ddl).toBeInstanceOf(QueryError);
    expect(ddl).toMatchObject({ errno: 1142 });
  });

  it('layer.migrate() needs CREATE: the application user is refused it, the migration user creates the outbox', async () => {
    const s = await setup(['app', 'migrate']);
    const refused = await repositories(connector({ connection: s.connection(s.app) }))
      .layer.migrate()
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'E_QUERY_FAILED', errno: 1142 });
    await repositories(connector({ connection: s.connection(s.migrator) })).layer.migrate();
    expect(await rows(admin, `SHOW TABLES FROM ${s.database} LIKE 'cachefront_outbox'`)).toHaveLength(1);
  });

  it('table-level grants suffice too: the outbox needs INSERT, SELECT and DELETE only', async () => {
    const s = await setup(['migrate']);
    await repositories(connector({ connection: s.connection(s.migrator) })).layer.migrate();
    await admin.query(`CREATE USER '${s.app.user}'@'%' IDENTIFIED BY ?`, [s.app.password]);
    await apply(DOCUMENTED.tables, { database: s.database, app: s.app.user, migrate: s.migrator.user, password: s.app.password });
    const { layer, products } = repositories(connector({ connection: s.connection(s.app) }));
    await products.write({ id: 2 }, (tx) => tx.execute(sql`UPDATE product SET price = ${'20.00'} WHERE id = ${2}`));
    expect(await products.get({ id: 2 })).toMatchObject({ price: '20.00' });
    expect(await layer.drain()).toEqual({ tags: 0, rows: 0, skipped: [] });
  });

  it("end() and reap() need no PROCESS: they see the user's own threads, kill its sleeping ones, and never see another user's", async () => {
    const s = await setup(['app', 'migrate']);
    const db = connector({ connection: s.connection(s.app), connUtilization: 0.5 });
    expect(await rows(admin, `SHOW GRANTS FOR '${s.app.user}'@'%'`)).toHaveLength(2); // USAGE, and DML on the schema
    const other = await zombie(s.connection(s.migrator));
    const zombies = [await zombie(s.connection(s.app)), await zombie(s.connection(s.app))];
    await db.query(sql`SELECT 1`);

    // Without PROCESS the processlist holds this user's threads only.
    const visible = await db.query<{ user: string }>(sql`SELECT USER AS user FROM information_schema.PROCESSLIST`);
    expect(visible.map((row) => row.user)).toEqual([s.app.user, s.app.user, s.app.user]);

    const end = await db.end();
    expect(end).toMatchObject({ checked: true, used: 3 }); // its own three threads, not the migration user's

    const reaped = await db.reap({ olderThanMs: 0 });
    expect([...reaped.killed].sort()).toEqual([...zombies].sort());
    for (const id of zombies) await waitForThreadGone(admin, id);
    expect(await threadExists(admin, other)).toBe(true);
    expect(await threadsOf(admin, s.app.user)).toHaveLength(1); // the connector's own
  });

  it("killMethod 'rds_kill' needs EXECUTE on mysql.rds_kill: without it every kill fails, with it the zombies go", async () => {
    const s = await setup(['app', 'migrate']);
    const killErrors: Array<ConnectorEvents['killError']> = [];
    const db = connector({ connection: s.connection(s.app), killMethod: 'rds_kill' });
    db.on('killError', (event) => killErrors.push(event));
    const first = await zombie(s.connection(s.app));
    expect((await db.reap({ olderThanMs: 0 })).killed).toEqual([]);
    expect(killErrors).toEqual([{ threadId: first, code: 'ER_PROCACCESS_DENIED_ERROR', errno: 1370 }]);

    await apply(DOCUMENTED.rdsKill, { database: s.database, app: s.app.user, migrate: s.migrator.user, password: s.app.password });
    expect((await db.reap({ olderThanMs: 0 })).killed).toEqual([first]);
    await waitFor(async () => !(await threadExists(admin, first)), { message: `thread ${first} to end` });
  });
});
