/**
 * Repository loads on a read replica, with lag-safe fills (issue 13, part), on the project's
 * primary + GTID replica: a miss loads from the reader; after a write, while the replica lags (its
 * SQL thread stopped), the entry's load reads the writer, so the new row is cached — and without
 * the lag window (the control) the lagging replica's old row is cached and served as fresh. A
 * reader that cannot be reached is skipped: the load is answered by the writer.
 */
import { createRedisCache } from '@cachefront/cache';
import { createDataLayer, defineRepository } from '@cachefront/core';
import { type Connector, createConnector, mysqlDatabase, sql } from '@cachefront/mysql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { REDIS_URL } from '../support/env.js';
import { adminConnection, closeQuietly, rows } from '../support/mysql.js';
import { randomNamespace } from '../support/redis.js';
import { type ReplicaPair, startReplicaPair } from '../support/replica.js';

describe('repository loads on a read replica', () => {
  let pair: ReplicaPair;
  const connectors: Connector[] = [];
  const caches: Array<{ close(): Promise<void> }> = [];
  beforeAll(async () => {
    pair = await startReplicaPair();
    const admin = await adminConnection(pair.primary);
    await admin.query('CREATE TABLE test.product (id INT PRIMARY KEY, name VARCHAR(32) NOT NULL)');
    await admin.query("INSERT INTO test.product VALUES (1, 'hammer'), (2, 'saw')");
    const [{ pos } = { pos: '' }] = await rows<{ pos: string }>(admin, 'SELECT @@GLOBAL.gtid_binlog_pos AS pos');
    await closeQuietly(admin);
    const replica = await adminConnection(pair.replica);
    await replica.query('SELECT MASTER_GTID_WAIT(?, 10)', [pos]);
    await closeQuietly(replica);
  });
  afterAll(async () => {
    for (const cache of caches) await cache.close();
    for (const connector of connectors) await connector.quit();
    await pair.stop();
  });

  /** A layer over the pair: the writer on the primary, one reader on `readerPort`; loads record which endpoint answered. */
  function layerOf(lagWindowMs: number, readerPort = pair.replica.port) {
    const endpoint = (port: number) => {
      const connector = createConnector({ connection: { host: '127.0.0.1', port, user: 'root', password: '', database: 'test' }, maxRetries: 0 });
      connectors.push(connector);
      return connector;
    };
    const writer = endpoint(pair.primary.port);
    const reader = endpoint(readerPort);
    const cache = createRedisCache({ redis: REDIS_URL, namespace: randomNamespace('cfrr'), commandTimeoutMs: 1000 });
    caches.push(cache);
    const layer = createDataLayer({ cache, database: mysqlDatabase(writer, { outboxTable: false, replicas: { readers: [reader], lagWindowMs } }) });
    const served: string[] = [];
    const products = layer.repository(
      defineRepository({
        name: 'product',
        params: z.object({ id: z.number() }),
        value: z.object({ id: z.number(), name: z.string() }),
        ttlMs: 60_000,
        tags: ({ id }) => [`product:${id}`],
        load: async (db: Connector, { id }) => {
          served.push(db === reader ? 'reader' : 'writer');
          const [row] = await db.query<{ id: number; name: string }>(sql`SELECT id, name FROM product WHERE id = ${id}`);
          if (!row) throw new Error('no such product');
          return row;
        },
      }),
    );
    return { layer, products, served, writer };
  }

  it('loads a miss from the reader; after a write the lagging replica is not used: the new row is cached', async () => {
    const { layer, products, served } = layerOf(5000);
    expect(await products.get({ id: 1 })).toEqual({ id: 1, name: 'hammer' });
    expect(served).toEqual(['reader']);
    await pair.lag(true);
    try {
      await layer.write((tx) => tx.execute(sql`UPDATE product SET name = 'claw hammer' WHERE id = 1`), { tags: ['product:1'] });
      // The refill after the invalidation and the read after it: both from the writer, the new row.
      expect(await products.get({ id: 1 })).toEqual({ id: 1, name: 'claw hammer' });
      expect(served.slice(1).every((s) => s === 'writer')).toBe(true);
      expect(served.length).toBeGreaterThan(1);
    } finally {
      await pair.lag(false);
    }
  });

  it('without the lag window (the control), the lagging replica’s old row is cached and served as fresh', async () => {
    const { layer, products, served } = layerOf(0);
    expect(await products.get({ id: 2 })).toEqual({ id: 2, name: 'saw' });
    await pair.lag(true);
    try {
      await layer.write((tx) => tx.execute(sql`UPDATE product SET name = 'hand saw' WHERE id = 2`), { tags: ['product:2'] });
      // The miss after the invalidation loads the replica's old row, caches it, and the next read serves it as fresh.
      expect(await products.read({ id: 2 })).toEqual({ value: { id: 2, name: 'saw' }, status: 'miss' });
      expect(await products.read({ id: 2 })).toEqual({ value: { id: 2, name: 'saw' }, status: 'fresh' });
      expect(served.every((s) => s === 'reader')).toBe(true);
    } finally {
      await pair.lag(false);
    }
  });

  it('skips a reader that cannot be reached: the writer answers', async () => {
    const { products, served } = layerOf(5000, 1);
    expect(await products.get({ id: 1 })).toMatchObject({ id: 1 });
    // The first load tried the reader (refused) and was loaded again on the writer; the next skips the reader.
    expect(served).toEqual(['reader', 'writer']);
  });
});
