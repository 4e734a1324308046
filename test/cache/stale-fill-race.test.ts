/**
 * The stale-fill race (invariant 1) made deterministic, on the real Redis and a real MariaDB table:
 * a reader's loader reads the old row and stalls; a writer UPDATEs, COMMITs, and only then
 * invalidates from another Cache instance (another "process"); the reader resumes and tries to
 * fill. From the moment the invalidation has returned, no `get` may answer the old row as fresh.
 *
 * Each test file run uses its own database (`cf_cache_<rand>`, dropped afterwards) and its own
 * Redis namespace; nothing is flushed.
 */
import { type Cache, type CacheEvents, type CacheResult, createRedisCache, type EntityCache } from '@cachefront/cache';
import type { Connection } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL, REDIS_URL } from '../support/env.js';
import { adminConnection, closeQuietly, randomName, rawConnection, rows } from '../support/mysql.js';
import { randomNamespace } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

interface Product {
  id: number;
  name: string;
  price: string;
  category: string;
  discount: string;
}

interface Params {
  id: number;
}

const database = randomName('cf_cache');
let admin: Connection;
/** The reader's session (the loader) and the writer's session: two connections, as two containers would have. */
let readerDb: Connection;
let writerDb: Connection;
const caches: Cache[] = [];

beforeAll(async () => {
  admin = await adminConnection(MYSQL);
  await admin.query(`CREATE DATABASE \`${database}\``);
  await admin.query(`CREATE TABLE \`${database}\`.category (id VARCHAR(32) PRIMARY KEY, discount DECIMAL(5,2) NOT NULL) ENGINE=InnoDB`);
  await admin.query(
    `CREATE TABLE \`${database}\`.product (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, price DECIMAL(10,2) NOT NULL, category VARCHAR(32) NOT NULL) ENGINE=InnoDB`,
  );
  const connection = { host: MYSQL.host, port: MYSQL.port, user: MYSQL.user, password: MYSQL.password, database };
  readerDb = await rawConnection(connection);
  writerDb = await rawConnection(connection);
});

afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

afterAll(async () => {
  await Promise.all([readerDb, writerDb].filter(Boolean).map(closeQuietly));
  await admin?.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await admin?.end();
});

/** Fresh rows for one test: products 1-3 in categories tools and craft. */
async function seed(): Promise<void> {
  await writerDb.query('DELETE FROM product');
  await writerDb.query('DELETE FROM category');
  await writerDb.query("INSERT INTO category VALUES ('tools', 0.00), ('craft', 5.00)");
  await writerDb.query("INSERT INTO product VALUES (1, 'Hammer', 19.90, 'tools'), (2, 'Saw', 24.50, 'tools'), (3, 'Glue', 3.10, 'craft')");
}

const SELECT_PRODUCT = 'SELECT p.id, p.name, p.price, p.category, c.discount FROM product p JOIN category c ON c.id = p.category WHERE p.id = ?';

async function selectProduct(id: number): Promise<Product> {
  const [row] = await rows<Product>(readerDb, SELECT_PRODUCT, [id]);
  if (!row) throw new Error(`no product ${id}`);
  return { ...row, id: Number(row.id) };
}

/** A write as the application does it: a transaction, COMMIT, and only then the invalidation. */
async function write(statement: string, values: unknown[], invalidate: () => Promise<void>): Promise<void> {
  await writerDb.beginTransaction();
  await writerDb.query(statement, values);
  await writerDb.commit();
  await invalidate();
}

/** Two Cache instances on the shared Redis, one namespace, as two containers. Every event is recorded. */
async function twoProcesses(options: { leaseWaitMs?: number } = {}) {
  const namespace = randomNamespace();
  const make = () => createRedisCache({ redis: REDIS_URL, namespace, commandTimeoutMs: 1000, ...options });
  const reader = make();
  const writer = make();
  caches.push(reader, writer);
  const rejected: Array<CacheEvents['fill-rejected']> = [];
  reader.on('fill-rejected', (payload) => rejected.push(payload));
  const trouble: string[] = [];
  for (const cache of [reader, writer]) {
    for (const event of ['error', 'timeout', 'bypass'] as const) cache.on(event, () => trouble.push(event));
  }
  return { reader, writer, rejected, trouble };
}

const products = (cache: Cache): EntityCache<Params, Product> =>
  cache.entity<Params, Product>({
    name: 'product',
    ttlMs: 60_000,
    tags: ({ id }) => [`product:${id}`],
    valueTags: (value) => [`category:${value.category}`],
  });

/**
 * A loader that reads the row, then stalls until `resume()`; `hasRead` resolves once the row was
 * read. This is the slow reader whose fill races the write.
 */
function stallingLoader() {
  let resume!: () => void;
  const gate = new Promise<void>((resolve) => {
    resume = resolve;
  });
  let readDone!: (row: Product) => void;
  const hasRead = new Promise<Product>((resolve) => {
    readDone = resolve;
  });
  const load = async ({ id }: Params) => {
    const row = await selectProduct(id);
    readDone(row);
    await gate;
    return row;
  };
  return { load, hasRead, resume };
}

const loadProduct = ({ id }: Params) => selectProduct(id);

/**
 * Every get after the write's invalidation returned. `served(old)` lists those that answered a row
 * for which `old` is true, whatever their status: the entities here have no grace, so the invariant
 * is that there are none (not even flagged `stale`).
 */
function recorder() {
  const results: Array<CacheResult<Product>> = [];
  return {
    results,
    served: (old: (row: Product) => boolean) => results.filter((r) => old(r.value)),
    async get(view: EntityCache<Params, Product>, params: Params) {
      const result = await view.get(params, loadProduct);
      results.push(result);
      return result;
    },
  };
}

describe('the stale-fill race on Redis and MariaDB', () => {
  it('a reader that read the row before a write committed never makes the old row fresh (parameter tag)', async () => {
    await seed();
    const { reader, writer, rejected, trouble } = await twoProcesses({ leaseWaitMs: 150 });
    const readerView = products(reader);
    const writerView = products(writer);
    const slow = stallingLoader();

    const racing = readerView.get({ id: 1 }, slow.load);
    expect((await slow.hasRead).price).toBe('19.90');
    await write('UPDATE product SET price = ? WHERE id = ?', ['17.00', 1], () => writer.invalidate(['product:1']));

    const after = recorder();
    // While the slow reader still holds the lease, another container reads: it waits, then loads the new row itself.
    const meanwhile = await after.get(writerView, { id: 1 });
    expect(meanwhile).toMatchObject({ status: 'miss', value: { price: '17.00' } });

    slow.resume();
    const stale = await racing;
    expect(stale).toMatchObject({ status: 'miss', value: { price: '19.90' } }); // its own answer: what it read
    expect(rejected).toEqual([{ entity: 'product', reason: 'stale-fill' }]);

    // The rejected fill gave its lease up: the next read fills the new row at once, the one after hits, in both processes.
    expect(await after.get(readerView, { id: 1 })).toMatchObject({ status: 'miss', value: { price: '17.00' } });
    expect(await after.get(writerView, { id: 1 })).toMatchObject({ status: 'fresh', value: { price: '17.00' } });
    expect(await after.get(readerView, { id: 1 })).toMatchObject({ status: 'fresh', value: { price: '17.00' } });
    expect(after.served((row) => row.price !== '17.00')).toEqual([]);
    expect(trouble).toEqual([]);
  });

  it('the same race through a value tag the reader only learns from the row it loaded (category)', async () => {
    await seed();
    const { reader, writer, rejected, trouble } = await twoProcesses({ leaseWaitMs: 150 });
    const readerView = products(reader);
    const slow = stallingLoader();

    // Cold key: the reader cannot know the category tag before it loads the row.
    const racing = readerView.get({ id: 2 }, slow.load);
    expect((await slow.hasRead).discount).toBe('0.00');
    // The write changes the category, not the product: only the value tag names it.
    await write('UPDATE category SET discount = ? WHERE id = ?', ['10.00', 'tools'], () => writer.invalidate(['category:tools']));
    slow.resume();
    expect((await racing).value.discount).toBe('0.00');
    expect(rejected).toEqual([{ entity: 'product', reason: 'raced-value-tag' }]);

    const after = recorder();
    expect(await after.get(products(writer), { id: 2 })).toMatchObject({ status: 'miss', value: { discount: '10.00' } });
    // A process that does not know the entry's value tags yet also drops its fill while the category's
    // invalidation is younger than `clockSkewMs` (it cannot tell whether it raced it): await the first hit.
    await waitFor(async () => (await after.get(readerView, { id: 2 })).status === 'fresh', { timeoutMs: 5000, message: 'a fresh hit' });
    expect(after.served((row) => row.discount !== '10.00')).toEqual([]);
    expect(trouble).toEqual([]);
  });

  it('the value-tag race when the reader already knew the tag (read before the load, compared in the fill)', async () => {
    await seed();
    const { reader, writer, rejected, trouble } = await twoProcesses({ leaseWaitMs: 150 });
    const readerView = products(reader);
    // A first fill teaches the reader that product 3 carries category:craft.
    expect((await readerView.get({ id: 3 }, loadProduct)).status).toBe('miss');
    expect((await readerView.get({ id: 3 }, loadProduct)).status).toBe('fresh');
    // An unrelated write to the product makes the entry miss, so the next read loads again...
    await write('UPDATE product SET name = ? WHERE id = ?', ['Wood glue', 3], () => writer.invalidate(['product:3']));
    const slow = stallingLoader();
    const racing = readerView.get({ id: 3 }, slow.load);
    expect(await slow.hasRead).toMatchObject({ name: 'Wood glue', discount: '5.00' });
    // ...and a write to its category lands while that load stalls.
    await write('UPDATE category SET discount = ? WHERE id = ?', ['7.50', 'craft'], () => writer.invalidate(['category:craft']));
    slow.resume();
    expect((await racing).value.discount).toBe('5.00');
    expect(rejected).toEqual([{ entity: 'product', reason: 'stale-fill' }]);

    const after = recorder();
    expect(await after.get(readerView, { id: 3 })).toMatchObject({ status: 'miss', value: { discount: '7.50' } });
    expect(await after.get(products(writer), { id: 3 })).toMatchObject({ status: 'fresh', value: { discount: '7.50' } });
    expect(after.served((row) => row.discount !== '7.50')).toEqual([]);
    expect(trouble).toEqual([]);
  });

  it("a committed write's invalidation makes the cached old row miss in every process", async () => {
    await seed();
    const { reader, writer, trouble } = await twoProcesses();
    const readerView = products(reader);
    const writerView = products(writer);
    expect((await readerView.get({ id: 1 }, loadProduct)).value.price).toBe('19.90');
    expect((await writerView.get({ id: 1 }, loadProduct)).status).toBe('fresh');
    await write('UPDATE product SET price = ? WHERE id = ?', ['18.00', 1], () => writer.invalidate(['product:1']));
    const after = recorder();
    expect(await after.get(readerView, { id: 1 })).toMatchObject({ status: 'miss', value: { price: '18.00' } });
    expect(await after.get(writerView, { id: 1 })).toMatchObject({ status: 'fresh', value: { price: '18.00' } });
    expect(trouble).toEqual([]);
  });

  // Regression (fixed in da01eab): a rejected fill kept its lease until `leaseTtlMs`, so for that
  // long every reader of the key waited `leaseWaitMs` and then loaded from the database without
  // filling: a stampede on the key that was just written.
  it('releases the lease of a rejected fill, so the next reader fills at once and the one after hits', async () => {
    await seed();
    const { reader, writer, rejected } = await twoProcesses();
    const readerView = products(reader);
    const writerView = products(writer);
    const slow = stallingLoader();
    const racing = readerView.get({ id: 1 }, slow.load);
    await slow.hasRead;
    await write('UPDATE product SET price = ? WHERE id = ?', ['16.00', 1], () => writer.invalidate(['product:1']));
    slow.resume();
    await racing;
    expect(rejected).toHaveLength(1);

    const next = await writerView.get({ id: 1 }, loadProduct);
    expect(next).toMatchObject({ status: 'miss', value: { price: '16.00' } });
    expect(writer.stats()).toMatchObject({ leaseWaits: 0, fills: 1 });
    expect(await readerView.get({ id: 1 }, loadProduct)).toMatchObject({ status: 'fresh', value: { price: '16.00' } });
  });
});

describe('after a committed write, the old row is served only inside an opted-in grace window', () => {
  /**
   * A cached row, then a write that commits and invalidates, then a reader that takes the lease and
   * loads the new row slowly, and a second reader that gives up waiting for it after `leaseWaitMs`.
   */
  async function waiterDuringSlowReload(graceMs: number, staleWhileWaiting = false) {
    await seed();
    const { reader, writer, trouble } = await twoProcesses({ leaseWaitMs: 100 });
    const view = (cache: Cache) =>
      cache.entity<Params, Product>({ name: 'graced', ttlMs: 60_000, graceMs, staleWhileWaiting, tags: ({ id }) => [`product:${id}`] });
    expect((await view(reader).get({ id: 1 }, loadProduct)).status).toBe('miss');
    await write('UPDATE product SET price = ? WHERE id = ?', ['15.00', 1], () => writer.invalidate(['product:1']));
    const slow = stallingLoader();
    const holder = view(reader).get({ id: 1 }, slow.load);
    expect((await slow.hasRead).price).toBe('15.00');
    const waiter = await view(writer).get({ id: 1 }, loadProduct);
    slow.resume();
    expect(await holder).toMatchObject({ status: 'miss', value: { price: '15.00' } });
    expect(await view(writer).get({ id: 1 }, loadProduct)).toMatchObject({ status: 'fresh', value: { price: '15.00' } });
    expect(trouble).toEqual([]);
    return waiter;
  }

  it('with graceMs and staleWhileWaiting, a waiter that gives up on the lease may take the old row, flagged stale', async () => {
    expect(await waiterDuringSlowReload(30_000, true)).toMatchObject({ status: 'stale', value: { price: '19.90' } });
  });

  it('with graceMs alone, a waiter that gives up on the lease loads the new row: stale is not served while the database answers', async () => {
    expect(await waiterDuringSlowReload(30_000)).toMatchObject({ status: 'miss', value: { price: '15.00' } });
  });

  // Regression (fixed in da01eab): an entry whose tag was invalidated was judged 'stale' while
  // inside its TTL even when the entity had no grace, and a lease waiter then served the pre-write row.
  it('without graceMs, a waiter that gives up on the lease loads the new row instead of serving the old one', async () => {
    expect(await waiterDuringSlowReload(0)).toMatchObject({ status: 'miss', value: { price: '15.00' } });
  });
});
