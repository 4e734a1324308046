import { randomBytes } from 'node:crypto';
import { createRedisCache } from '@cachefront/cache';
import { createDataLayer, defineRepository, withDataLayer } from '@cachefront/core';
import { type Connector, createConnector, mysqlDatabase, sql } from '@cachefront/mysql';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MYSQL, REDIS_URL } from '../support/env.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const database = `cf_grace_${randomBytes(4).toString('hex')}`;
let admin: mysql.Connection;

beforeAll(async () => {
  admin = await mysql.createConnection({ ...MYSQL });
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.query(`CREATE TABLE ${database}.item (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)`);
  await admin.query(`INSERT INTO ${database}.item VALUES (1, 'Hammer'), (2, 'Saw')`);
});

afterAll(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.end();
});

describe('fail-safe: the database unreachable, on real MariaDB and Redis', () => {
  it('serves a value inside its grace period as stale, fails without one, and recovers', async () => {
    const proxy = await TcpProxy.start({ host: MYSQL.host, port: MYSQL.port });
    // Through the proxy first; port 1 (closed) while the database is "down"; then straight to it.
    let port = proxy.port;
    const db: Connector = createConnector({
      connection: () => ({ ...MYSQL, database, port }),
      maxRetries: 1,
      backoffCapMs: 10,
      connectTimeoutMs: 500,
    });
    const cache = createRedisCache({ redis: REDIS_URL, namespace: `cfg${randomBytes(4).toString('hex')}` });
    const layer = createDataLayer({ cache, database: mysqlDatabase(db) });
    const items = layer.repository(
      defineRepository({
        name: 'item',
        params: z.object({ id: z.number() }),
        value: z.object({ id: z.number(), name: z.string() }),
        ttlMs: 150,
        graceMs: 60_000,
        tags: ({ id }) => [`item:${id}`],
        load: async (conn: Connector, { id }) => {
          const [row] = await conn.query<{ id: number; name: string }>(sql`SELECT id, name FROM item WHERE id = ${id}`);
          return { id: Number(row?.id), name: String(row?.name) };
        },
      }),
    );
    const handler = withDataLayer(layer, async (id: number) => items.read({ id }));
    const context = { getRemainingTimeInMillis: () => 5000 };
    try {
      expect(await handler(1, context)).toMatchObject({ status: 'miss', value: { name: 'Hammer' } });
      // Let the 150 ms TTL pass without reading (a read would reload it): time passing is the point here.
      await new Promise((resolve) => setTimeout(resolve, 250));
      // The database goes away: the open connection is cut and new ones are refused.
      port = 1;
      proxy.cut();
      await proxy.close();
      expect(await handler(1, context)).toMatchObject({ status: 'stale', value: { name: 'Hammer' } });
      // Nothing cached for id 2: the caller gets the typed connect error, not a made-up value.
      await expect(handler(2, context)).rejects.toMatchObject({ code: 'E_CONNECT_FAILED' });
      // The database is back: fresh loads again, for both.
      port = MYSQL.port;
      expect(await handler(2, context)).toMatchObject({ status: 'miss', value: { name: 'Saw' } });
      expect(await handler(1, context)).toMatchObject({ status: 'miss', value: { name: 'Hammer' } });
    } finally {
      await db.quit();
      await cache.close();
    }
  });
});
