/**
 * Repository loads on a read replica, with lag-safe fills, on the project's primary + GTID replica:
 * a miss loads from the reader; after a write, while the replica lags (its SQL thread stopped):
 * - the lag window: the entry's load reads the writer, so the new row is cached;
 * - the position wait: the load waits until the replica has applied the write, then reads it there
 *   (the new row, no writer load); a replica still behind when the wait ends is skipped, and the
 *   writer answers;
 * - without either (the control), the lagging replica's old row is cached and served as fresh.
 * A reader that cannot be reached is skipped: the load is answered by the writer. Writes never
 * reach a reader.
 */
import { createRedisBudget, createRedisCache } from '@cachefront/cache';
import { createDataLayer, defineRepository } from '@cachefront/core';
import { CachefrontMysqlError, type Connector, createConnector, mysqlDatabase, type ReadRoutingOptions, sql } from '@cachefront/mysql';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { REDIS_URL } from '../support/env.js';
import { adminConnection, closeQuietly, createAccount, rows, type TestAccount } from '../support/mysql.js';
import { primeTags, randomNamespace } from '../support/redis.js';
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
  async function layerOf(replicas: Omit<ReadRoutingOptions, 'readers'>, readerPort = pair.replica.port) {
    const endpoint = (port: number) => {
      const connector = createConnector({ connection: { host: '127.0.0.1', port, user: 'root', password: '', database: 'test' }, maxRetries: 0 });
      connectors.push(connector);
      return connector;
    };
    const writer = endpoint(pair.primary.port);
    const reader = endpoint(readerPort);
    const namespace = randomNamespace('cfrr');
    const cache = createRedisCache({ redis: REDIS_URL, namespace, commandTimeoutMs: 1000 });
    caches.push(cache);
    // The tags have tokens, as in a system that has run for a while: a tag given its first token
    // just now sends its first fill to the writer (the token may have been lost after a write).
    const redis = new Redis(REDIS_URL);
    await primeTags(redis, namespace, ['product:1', 'product:2']);
    redis.disconnect();
    const layer = createDataLayer({ cache, database: mysqlDatabase(writer, { outboxTable: false, replicas: { readers: [reader], ...replicas } }) });
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
    return { layer, products, served, writer, reader };
  }

  it('lag window: loads a miss from the reader; after a write the lagging replica is not used: the new row is cached', async () => {
    const { layer, products, served } = await layerOf({ lagSafety: 'window', lagWindowMs: 5000 });
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
    const { layer, products, served } = await layerOf({ lagSafety: 'window', lagWindowMs: 0 });
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

  it('position wait: within the window after an invalidation without a position, or after a tag was given its first token (it may have been lost after a write), fills read the writer', async () => {
    const { products, served, layer } = await layerOf({ lagSafety: 'position', lagWindowMs: 5000 });
    await layer.cache.invalidate(['product:1']); // an invalidation without a position, as a lost token is
    expect(await products.get({ id: 1 })).toMatchObject({ id: 1 });
    await products.get({ id: 3 }).catch(() => undefined); // product 3 does not exist: its tag gets its first token now
    expect(served).toEqual(['writer', 'writer']);
  });

  it('skips a reader that cannot be reached: the writer answers', async () => {
    const { products, served } = await layerOf({ lagWindowMs: 5000 }, 1);
    expect(await products.get({ id: 1 })).toMatchObject({ id: 1 });
    // The first load tried the reader (refused) and was loaded again on the writer; the next skips the reader.
    expect(served).toEqual(['reader', 'writer']);
  });

  it('position wait: the fill after a write waits until the replica applied it, and caches the new row read there', async () => {
    const { layer, products, served } = await layerOf({ lagSafety: 'position', lagWindowMs: 0, positionWaitMs: 5000 });
    expect(await products.get({ id: 1 })).toMatchObject({ id: 1 });
    await pair.lag(true);
    let caughtUp = false;
    try {
      await layer.write((tx) => tx.execute(sql`UPDATE product SET name = 'sledge' WHERE id = 1`), { tags: ['product:1'] });
      // The replica catches up a little later; the read in the meantime waits for it rather than read its old row.
      const catchUp = new Promise<void>((resolve) => setTimeout(resolve, 300)).then(async () => {
        caughtUp = true;
        await pair.lag(false);
      });
      const read = await products.read({ id: 1 });
      expect(caughtUp).toBe(true);
      expect(read).toEqual({ value: { id: 1, name: 'sledge' }, status: 'miss' });
      expect(await products.read({ id: 1 })).toEqual({ value: { id: 1, name: 'sledge' }, status: 'fresh' });
      expect(served).toEqual(['reader', 'reader']);
      await catchUp;
    } finally {
      await pair.lag(false);
    }
  });

  it('position wait: a replica still behind when the wait ends is skipped; the writer answers, and the new row is cached', async () => {
    const { layer, products, served } = await layerOf({ lagSafety: 'position', lagWindowMs: 0, positionWaitMs: 200, readerRetryMs: 60_000 });
    expect(await products.get({ id: 2 })).toMatchObject({ id: 2 });
    await pair.lag(true);
    try {
      await layer.write((tx) => tx.execute(sql`UPDATE product SET name = 'fret saw' WHERE id = 2`), { tags: ['product:2'] });
      expect(await products.read({ id: 2 })).toEqual({ value: { id: 2, name: 'fret saw' }, status: 'miss' });
      expect(await products.read({ id: 2 })).toEqual({ value: { id: 2, name: 'fret saw' }, status: 'fresh' });
      // Far behind: the next miss, of another entry, does not try that reader again for readerRetryMs.
      await layer.cache.invalidate(['product:1']);
      expect(await products.get({ id: 1 })).toMatchObject({ id: 1 });
      expect(served).toEqual(['reader', 'writer', 'writer']);
    } finally {
      await pair.lag(false);
    }
  });

  it('sends writes, and the position they record, to the writer only', async () => {
    const { layer, products, reader } = await layerOf({ lagSafety: 'position' });
    const touched = (['transaction', 'execute'] as const).map((method) => vi.spyOn(reader, method));
    const queried = vi.spyOn(reader, 'query');
    await products.get({ id: 1 });
    await products.write({ id: 1 }, (tx) => tx.execute(sql`UPDATE product SET name = 'mallet' WHERE id = 1`));
    await layer.write((tx) => tx.execute(sql`UPDATE product SET name = 'bow saw' WHERE id = 2`), { tags: ['product:2'] });
    expect(await products.get({ id: 1 })).toEqual({ id: 1, name: 'mallet' });
    for (const spy of touched) expect(spy).not.toHaveBeenCalled();
    // What the reader was asked: the loads and the position waits, reads all of them.
    const asked = queried.mock.calls.map(([statement]) => statement.text);
    expect(asked.some((text) => text.includes('MASTER_GTID_WAIT'))).toBe(true);
    expect(asked.every((text) => /^SELECT /.test(text))).toBe(true);
  });

  describe('budgets', () => {
    /**
     * A layer whose writer and reader each have a fleet budget (a capacity of 1: the account's
     * MAX_USER_CONNECTIONS of 2, half of it), by name: `shared` gives both the same one.
     */
    async function budgeted(account: TestAccount, names: { writer: string; reader: string }) {
      const redis = new Redis(REDIS_URL);
      redisClients.push(redis);
      const budgets = new Map<string, ReturnType<typeof createRedisBudget>>();
      const budgetOf = (name: string) => {
        const budget = budgets.get(name) ?? createRedisBudget({ redis, name, share: 0.5 });
        budgets.set(name, budget);
        return budget;
      };
      const endpoint = (port: number, budgetName: string) => {
        const connector = createConnector({ connection: { ...account.connection, port }, budget: budgetOf(budgetName), acquireTimeoutMs: 1500, maxRetries: 0 });
        connectors.push(connector);
        return connector;
      };
      const writer = endpoint(pair.primary.port, names.writer);
      const reader = endpoint(pair.replica.port, names.reader);
      const cache = createRedisCache({ redis: REDIS_URL, namespace: randomNamespace('cfrb'), commandTimeoutMs: 1000 });
      caches.push(cache);
      const layer = createDataLayer({ cache, database: mysqlDatabase(writer, { outboxTable: false, replicas: { readers: [reader], lagWindowMs: 0 } }) });
      const items = layer.repository(
        defineRepository({
          name: 'item',
          params: z.object({ id: z.number() }),
          value: z.object({ id: z.number(), n: z.number() }),
          ttlMs: 60_000,
          load: async (db: Connector, { id }) => {
            const [row] = await db.query<{ id: number; n: number }>(sql`SELECT id, n FROM item WHERE id = ${id}`);
            return { id: Number(row?.id), n: Number(row?.n) };
          },
        }),
      );
      return { layer, items, budgetOf };
    }
    const redisClients: Redis[] = [];
    let account: TestAccount;
    beforeAll(async () => {
      const admin = await adminConnection(pair.primary);
      account = await createAccount(admin, pair.primary, { maxUserConnections: 2 });
      await admin.query(`CREATE TABLE \`${account.database}\`.item (id INT PRIMARY KEY, n INT NOT NULL)`);
      await admin.query(`INSERT INTO \`${account.database}\`.item VALUES (1, 0)`);
      const [{ pos } = { pos: '' }] = await rows<{ pos: string }>(admin, 'SELECT @@GLOBAL.gtid_binlog_pos AS pos');
      await closeQuietly(admin);
      const replica = await adminConnection(pair.replica);
      await replica.query('SELECT MASTER_GTID_WAIT(?, 10)', [pos]);
      await closeQuietly(replica);
    });
    afterAll(() => {
      for (const redis of redisClients) redis.disconnect();
    });

    it('gives the writer and the reader a budget each: a reader holding its slot keeps no write waiting', async () => {
      const names = { writer: randomNamespace('w'), reader: randomNamespace('r') };
      const { layer, items, budgetOf } = await budgeted(account, names);
      expect(await items.get({ id: 1 })).toEqual({ id: 1, n: 0 }); // the reader's connection, kept warm
      await layer.write((tx) => tx.execute(sql`UPDATE item SET n = 1 WHERE id = 1`), { tags: [] });
      for (const name of [names.writer, names.reader]) expect((await budgetOf(name).inspect()).taken).toBe(1);
    });

    it('control: with one budget for both, the write waits for the reader’s slot, and gives up', async () => {
      const shared = randomNamespace('s');
      const { layer, items, budgetOf } = await budgeted(account, { writer: shared, reader: shared });
      await items.get({ id: 1 });
      const error = await layer.write((tx) => tx.execute(sql`UPDATE item SET n = 2 WHERE id = 1`), { tags: [] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CachefrontMysqlError);
      expect((await budgetOf(shared).inspect()).taken).toBe(1);
    });
  });
});
