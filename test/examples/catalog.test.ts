import { randomBytes } from 'node:crypto';
import type { HttpApiEvent, HttpApiResult, HttpHandler, LambdaContext } from '@cachefront/examples/catalog';
import { type CatalogApp, createCatalogApp, formatCents, SEED_UPDATED_AT, seedData, toCents } from '@cachefront/examples/catalog';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL, REDIS_URL } from '../support/env.js';
import { inventory, REDIS_CLUSTER_PORTS, randomNamespace } from '../support/redis.js';

/**
 * The catalog example end to end, on the real MariaDB and Redis: the Lambda handlers are called as
 * API Gateway (HTTP API, payload 2.0) would call them, with a fake Lambda context. The application
 * connects as its own MySQL user (created here, with a password it reads through an async function
 * the way the deployed function reads Secrets Manager), so that reaping touches only its connections.
 */
const suffix = randomBytes(4).toString('hex');
const database = `cf_cat_${suffix}`;
const appUser = `cf_cat_${suffix}`;
const appPassword = `pw-${randomBytes(12).toString('hex')}`;
const namespace = randomNamespace('cfcat');
const SEED = { categories: 4, productsPerCategory: 5 };
const seeded = seedData(SEED);

let admin: mysql.Connection;
let app: CatalogApp;
let secretReads = 0;
const logs: Array<Record<string, unknown>> = [];
const responses: string[] = [];

beforeAll(async () => {
  admin = await mysql.createConnection({ ...MYSQL });
  await admin.query(`CREATE DATABASE ${database}`);
  for (const host of ['%', 'localhost']) {
    await admin.query(`CREATE USER '${appUser}'@'${host}' IDENTIFIED BY '${appPassword}'`);
    await admin.query(`GRANT ALL PRIVILEGES ON ${database}.* TO '${appUser}'@'${host}'`);
  }
  app = createCatalogApp({
    connection: async () => {
      secretReads += 1; // the deployed function reads Secrets Manager here
      return { host: MYSQL.host, port: MYSQL.port, user: appUser, password: appPassword, database };
    },
    redis: REDIS_URL,
    namespace,
    logger: { error: (entry) => logs.push(entry) },
  });
  await app.migrate();
  await app.seed(SEED);
});

afterAll(async () => {
  await app?.close();
  const redis = new Redis(REDIS_URL);
  const keys = await inventory(redis, namespace);
  if (keys.length > 0) await redis.del(...keys.map((k) => k.key));
  await redis.quit();
  for (const host of ['%', 'localhost']) await admin.query(`DROP USER IF EXISTS '${appUser}'@'${host}'`);
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.end();
});

let requestNumber = 0;
function context(remainingMs = 10_000): LambdaContext {
  requestNumber += 1;
  const deadline = Date.now() + remainingMs;
  return { getRemainingTimeInMillis: () => deadline - Date.now(), awsRequestId: `req-${requestNumber}`, functionName: 'catalog-test' };
}

function event(
  method: string,
  routeKey: string,
  path: string,
  init: { pathParameters?: Record<string, string>; body?: unknown; query?: Record<string, string> } = {},
): HttpApiEvent {
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  return {
    version: '2.0',
    routeKey: `${method} ${routeKey}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(init.query ?? {}).toString(),
    headers: { 'content-type': 'application/json' },
    ...(init.query ? { queryStringParameters: init.query } : {}),
    ...(init.pathParameters ? { pathParameters: init.pathParameters } : {}),
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
    requestContext: { requestId: `api-${requestNumber}`, http: { method, path } },
  };
}

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  body: any;
  headers: Record<string, string>;
  /** Statements the invocation sent to MySQL. */
  queries: number;
  /** Physical connects the invocation made. */
  connects: number;
}

/** Calls a handler as Lambda would, and checks the wrapper ran the connector's `end()` exactly once. */
async function invoke(handler: HttpHandler, e: HttpApiEvent, target: CatalogApp = app): Promise<Answer> {
  const before = target.connector.stats();
  const result: HttpApiResult = await handler(e, context());
  const after = target.connector.stats();
  expect(after.ends - before.ends, 'end() after the invocation').toBe(1);
  responses.push(result.body);
  return {
    status: result.statusCode,
    body: JSON.parse(result.body),
    headers: result.headers,
    queries: after.queries - before.queries,
    connects: after.connects - before.connects,
  };
}

const getProduct = (id: string, target: CatalogApp = app) =>
  invoke(target.handlers.getProduct, event('GET', '/products/{id}', `/products/${id}`, { pathParameters: { id } }), target);
const listCategory = (id: string, query?: Record<string, string>) =>
  invoke(
    app.handlers.listCategory,
    event('GET', '/categories/{id}/products', `/categories/${id}/products`, { pathParameters: { id }, ...(query ? { query } : {}) }),
  );
const updatePrice = (id: string, body: unknown) =>
  invoke(app.handlers.updatePrice, event('PUT', '/products/{id}/price', `/products/${id}/price`, { pathParameters: { id }, body }));
const placeOrder = (body: unknown) => invoke(app.handlers.placeOrder, event('POST', '/orders', '/orders', { body }));

async function dbProduct(id: number): Promise<{ price: string; stock: number }> {
  const [rows] = await admin.query(`SELECT price, stock FROM ${database}.product WHERE id = ?`, [id]);
  const row = (rows as Array<{ price: string; stock: number }>)[0];
  if (!row) throw new Error(`no product ${id}`);
  return { price: row.price, stock: Number(row.stock) };
}

async function countRows(table: string): Promise<number> {
  const [rows] = await admin.query(`SELECT COUNT(*) AS n FROM ${database}.${table}`);
  return Number((rows as Array<{ n: number }>)[0]?.n);
}

const seededProduct = (id: number) => {
  const product = seeded.products.find((p) => p.id === id);
  if (!product) throw new Error(`not seeded: ${id}`);
  return product;
};

describe('catalog example: Lambda handlers on real MariaDB and Redis', () => {
  it('seeds deterministic data with exact DECIMAL prices', async () => {
    expect(seedData(SEED)).toEqual(seeded);
    expect(await countRows('product')).toBe(20);
    for (const p of seeded.products) expect(await dbProduct(p.id)).toEqual({ price: p.price, stock: p.stock });
  });

  it('GET /products/{id}: a miss loads from MySQL, the next call is a hit with no statement at all', async () => {
    const first = await getProduct('1');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      product: { ...seededProduct(1), updatedAt: SEED_UPDATED_AT.toISOString() },
      stale: false,
    });
    expect(first.queries).toBeGreaterThan(0);
    expect(secretReads).toBeGreaterThan(0); // the password came from the async source, on connect

    const second = await getProduct('1');
    expect(second).toMatchObject({ status: 200, queries: 0, connects: 0 });
    expect(second.body).toEqual(first.body);
    // Typed as the schema says: DECIMAL stays exact text, the DATETIME is a Date.
    const value = await app.repositories.product.get({ id: 1 });
    expect(typeof value?.price).toBe('string');
    expect(value?.updatedAt).toBeInstanceOf(Date);
  });

  it('GET /products/{id}: 400 on a bad id without touching MySQL or Redis, 404 on a missing one (cached too)', async () => {
    const cacheBefore = app.cache.stats();
    for (const id of ['abc', '-1', '1.5', '0', '99999999999', '1;DROP TABLE product']) {
      const answer = await getProduct(id);
      expect(answer.status, id).toBe(400);
      expect(answer.body.error).toBe('bad_request');
      expect(answer.body.issues[0].path).toBe('id');
      expect(answer).toMatchObject({ queries: 0, connects: 0 });
    }
    const missingId = await invoke(app.handlers.getProduct, event('GET', '/products/{id}', '/products/'));
    expect(missingId).toMatchObject({ status: 400, queries: 0 });
    const cacheAfter = app.cache.stats();
    expect([cacheAfter.hits, cacheAfter.misses]).toEqual([cacheBefore.hits, cacheBefore.misses]);

    const notFound = await getProduct('424242');
    expect(notFound.status).toBe(404);
    expect(notFound.queries).toBeGreaterThan(0);
    // "Not found" is cached under the product's tag: a flood of 404s reaches MySQL once.
    expect(await getProduct('424242')).toMatchObject({ status: 404, queries: 0 });
  });

  it('GET /categories/{id}/products: the page and the count per category, cached, paginated, 404 on a missing category', async () => {
    const first = await listCategory('1');
    expect(first.status).toBe(200);
    const inCategory = seeded.products.filter((p) => p.categoryId === 1);
    expect(first.body.products.map((p: { id: number }) => p.id)).toEqual(inCategory.map((p) => p.id));
    expect(first.body.category).toEqual({
      id: 1,
      name: 'Category 1',
      productCount: inCategory.length,
      unitsInStock: inCategory.reduce((sum, p) => sum + p.stock, 0),
    });
    expect(first.body.stale).toBe(false);
    expect(await listCategory('1')).toMatchObject({ status: 200, queries: 0 });

    const page = await listCategory('2', { limit: '2', afterId: '6' });
    expect(page.body.products.map((p: { id: number }) => p.id)).toEqual([7, 8]);
    expect(page.body.nextAfterId).toBe(8);
    expect(await listCategory('2', { limit: '500' })).toMatchObject({ status: 400, queries: 0 });
    expect((await listCategory('77')).status).toBe(404);
  });

  it('PUT /products/{id}/price: committed, product and category invalidated, the next reads see the new price (no stale read)', async () => {
    // Warm every entry the write must invalidate.
    expect((await getProduct('2')).body.product.price).toBe(seededProduct(2).price);
    expect((await getProduct('2')).queries).toBe(0);
    await listCategory('1');
    expect((await listCategory('1')).queries).toBe(0);

    const update = await updatePrice('2', { price: '12.5' });
    expect(update.status).toBe(200);
    expect(update.body.product).toMatchObject({ id: 2, price: '12.50', stock: seededProduct(2).stock });
    expect(new Date(update.body.product.updatedAt).getTime()).toBeGreaterThan(SEED_UPDATED_AT.getTime());
    expect(await dbProduct(2)).toMatchObject({ price: '12.50' });

    const after = await getProduct('2');
    expect(after).toMatchObject({ status: 200, body: { product: { price: '12.50' }, stale: false } });
    expect(after.queries).toBeGreaterThan(0); // invalidated: loaded again
    const list = await listCategory('1');
    expect(list.body.products.find((p: { id: number }) => p.id === 2).price).toBe('12.50');
    // Other categories' entries are untouched.
    expect((await listCategory('2', { limit: '2', afterId: '6' })).queries).toBe(0);

    // A JSON number is accepted and normalized; the outbox row is gone once invalidated.
    expect((await updatePrice('2', { price: 13 })).body.product.price).toBe('13.00');
    expect((await getProduct('2')).body.product.price).toBe('13.00');
    expect(await countRows('cachefront_outbox')).toBe(0);
  });

  it('PUT /products/{id}/price: 400 on bad input, 404 on a missing product, nothing written', async () => {
    const before = await dbProduct(3);
    const bad: unknown[] = [
      { price: 'abc' },
      { price: -1 },
      { price: '0' },
      { price: '1.234' },
      { price: '123456789.00' },
      { price: '5', extra: 1 },
      {},
      '{not json',
      '',
      [1],
    ];
    for (const body of bad) {
      const answer = await updatePrice('3', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error).toBe('bad_request');
      expect(answer.queries).toBe(0);
    }
    expect((await updatePrice('x', { price: '1.00' })).status).toBe(400);
    expect((await updatePrice('424243', { price: '1.00' })).status).toBe(404);
    expect(await dbProduct(3)).toEqual(before);
  });

  it('POST /orders: one transaction locks the stock, inserts the order, uses its insertId for the lines, decrements stock; reads see it', async () => {
    // Warm the entries the order must invalidate.
    await getProduct('3');
    await getProduct('4');
    await listCategory('1');
    const ordersBefore = await countRows('orders');
    const stock3 = (await dbProduct(3)).stock;
    const stock4 = (await dbProduct(4)).stock;
    const price3 = (await dbProduct(3)).price;
    const price4 = (await dbProduct(4)).price;

    const answer = await placeOrder({
      customer: 'Ada',
      lines: [
        { productId: 3, quantity: 2 },
        { productId: 4, quantity: 1 },
        { productId: 3, quantity: 1 },
      ],
    });
    expect(answer.status).toBe(201);
    const order = answer.body.order;
    expect(order.total).toBe(formatCents(toCents(price3) * 3 + toCents(price4)));
    expect(order.lines).toEqual([
      { productId: 3, quantity: 3, unitPrice: price3 },
      { productId: 4, quantity: 1, unitPrice: price4 },
    ]);
    expect(await countRows('orders')).toBe(ordersBefore + 1);
    const [lines] = await admin.query(`SELECT product_id, quantity, unit_price FROM ${database}.order_line WHERE order_id = ? ORDER BY product_id`, [order.id]);
    expect(lines).toEqual([
      { product_id: 3, quantity: 3, unit_price: price3 },
      { product_id: 4, quantity: 1, unit_price: price4 },
    ]);
    const [header] = await admin.query(`SELECT customer, total FROM ${database}.orders WHERE id = ?`, [order.id]);
    expect(header).toEqual([{ customer: 'Ada', total: order.total }]);
    expect(await dbProduct(3)).toMatchObject({ stock: stock3 - 3 });
    expect(await dbProduct(4)).toMatchObject({ stock: stock4 - 1 });

    // No stale read: the product entries and the category's page and count were invalidated.
    expect((await getProduct('3')).body.product.stock).toBe(stock3 - 3);
    expect((await getProduct('4')).body.product.stock).toBe(stock4 - 1);
    const list = await listCategory('1');
    expect(list.body.products.find((p: { id: number }) => p.id === 3).stock).toBe(stock3 - 3);
    const [sum] = await admin.query(`SELECT SUM(stock) AS units FROM ${database}.product WHERE category_id = 1`);
    expect(list.body.category.unitsInStock).toBe(Number((sum as Array<{ units: string }>)[0]?.units));
  });

  it('POST /orders: insufficient stock is a 409, the transaction rolls back and no cache entry is touched', async () => {
    await getProduct('1');
    await getProduct('5');
    const ordersBefore = await countRows('orders');
    const linesBefore = await countRows('order_line');
    const one = await dbProduct(1);
    const five = await dbProduct(5);
    const invalidationsBefore = app.cache.stats().invalidations;

    // Product 1 comes first (locked and checked fine), product 5 is short.
    const answer = await placeOrder({
      customer: 'Bob',
      lines: [
        { productId: 1, quantity: 1 },
        { productId: 5, quantity: five.stock + 1 },
      ],
    });
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ error: 'insufficient_stock', productId: 5, requested: five.stock + 1, available: five.stock });
    expect(await countRows('orders')).toBe(ordersBefore);
    expect(await countRows('order_line')).toBe(linesBefore);
    expect(await dbProduct(1)).toEqual(one);
    expect(await dbProduct(5)).toEqual(five);
    expect(app.cache.stats().invalidations).toBe(invalidationsBefore);
    expect(await getProduct('1')).toMatchObject({ status: 200, queries: 0, body: { product: { stock: one.stock } } });

    // Bad bodies and unknown products: 400 and 404, nothing written.
    for (const body of [
      { customer: '', lines: [{ productId: 1, quantity: 1 }] },
      { customer: 'C', lines: [] },
      { customer: 'C', lines: [{ productId: 1, quantity: 0 }] },
    ]) {
      expect(await placeOrder(body)).toMatchObject({ status: 400, queries: 0 });
    }
    expect((await placeOrder({ customer: 'C', lines: [{ productId: 424244, quantity: 1 }] })).status).toBe(404);
    expect(await countRows('orders')).toBe(ordersBefore);
  });

  it('concurrent orders for the last units from several containers: exactly the stock is sold, never more', async () => {
    const id = 6;
    const { stock } = await dbProduct(id);
    await getProduct(String(id));
    const fleet = Array.from({ length: 4 }, () =>
      createCatalogApp({ connection: { host: MYSQL.host, port: MYSQL.port, user: appUser, password: appPassword, database }, redis: REDIS_URL, namespace }),
    );
    const statuses: number[] = [];
    let next = 0;
    try {
      await Promise.all(
        fleet.map(async (container) => {
          while (next < stock + 3) {
            next += 1;
            const order = event('POST', '/orders', '/orders', { body: { customer: 'Rush', lines: [{ productId: id, quantity: 1 }] } });
            statuses.push((await invoke(container.handlers.placeOrder, order, container)).status);
          }
        }),
      );
    } finally {
      await Promise.all(fleet.map((container) => container.close()));
    }
    expect(statuses.filter((s) => s === 201)).toHaveLength(stock);
    expect(statuses.filter((s) => s === 409)).toHaveLength(3);
    expect(await dbProduct(id)).toMatchObject({ stock: 0 });
    expect((await getProduct(String(id))).body.product.stock).toBe(0);
  });

  it('the scheduled maintenance function drains the outbox and reaps only this user’s zombies', async () => {
    const before = app.connector.stats().ends;
    const result = await app.handlers.maintenance({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, context());
    expect(result.drained).toBe(0);
    expect(result.limit).toBeGreaterThan(0);
    expect(result.used).toBeGreaterThanOrEqual(1);
    expect(app.connector.stats().ends).toBe(before + 1);
  });

  it('Redis unreachable during a write: 202, the change is committed, the outbox keeps the tags and the maintenance function replays them', async () => {
    const id = 14;
    // The healthy container has the product cached.
    await getProduct(String(id));
    expect((await getProduct(String(id))).queries).toBe(0);
    const cut = createCatalogApp({
      connection: { host: MYSQL.host, port: MYSQL.port, user: appUser, password: appPassword, database },
      redis: 'redis://127.0.0.1:1', // nothing listens there
      namespace,
      cache: { commandTimeoutMs: 100 },
      logger: { error: (entry) => logs.push(entry) },
    });
    try {
      // Reads still work (straight from MySQL), and the write commits.
      expect(await getProduct(String(id), cut)).toMatchObject({ status: 200, body: { product: { id } } });
      const write = await invoke(
        cut.handlers.updatePrice,
        event('PUT', '/products/{id}/price', `/products/${id}/price`, { pathParameters: { id: String(id) }, body: { price: '42.42' } }),
        cut,
      );
      expect(write.status).toBe(202);
      expect(write.body).toMatchObject({ committed: true, product: { id, price: '42.42' }, note: expect.stringContaining('committed') });
    } finally {
      await cut.close();
    }
    expect(await dbProduct(id)).toMatchObject({ price: '42.42' });
    expect(await countRows('cachefront_outbox')).toBe(1);

    // The scheduled function (on any healthy container) replays the pending tags; reads see the write.
    const result = await app.handlers.maintenance({ source: 'aws.events' }, context());
    expect(result.drained).toBe(2); // product:14 and category:3
    expect(await countRows('cachefront_outbox')).toBe(0);
    expect((await getProduct(String(id))).body.product.price).toBe('42.42');
  });

  it('503 when the database is unavailable and nothing is cached; a cached value is still served; no secret in answers or logs', async () => {
    const secret = `pw-${randomBytes(12).toString('hex')}`;
    const down = createCatalogApp({
      connection: { host: '127.0.0.1', port: 1, user: appUser, password: secret, database },
      redis: REDIS_URL,
      namespace, // the same cache as the healthy app
      connector: { maxRetries: 1, connectTimeoutMs: 500, acquireTimeoutMs: 2000 },
      logger: { error: (entry) => logs.push(entry) },
    });
    try {
      // Cached by the healthy app: answered from Redis, no connect attempted. (Category 4: no write
      // touched it; a fill whose value tag was invalidated within the cache's clock-skew window is dropped.)
      expect((await getProduct('16')).queries).toBeGreaterThan(0);
      expect((await getProduct('16')).queries).toBe(0);
      const hit = await getProduct('16', down);
      expect(hit).toMatchObject({ status: 200, connects: 0, body: { stale: false, product: { id: 16 } } });

      const miss = await getProduct('17', down);
      expect(miss.status).toBe(503);
      expect(miss.headers['retry-after']).toBe('1');
      expect(miss.body).toEqual({ error: 'service_unavailable', requestId: expect.any(String) });
      const entry = logs.at(-1);
      expect(entry).toMatchObject({ level: 'error', status: 503, code: expect.stringMatching(/^(E_CONNECT_FAILED|E_DEADLINE_EXCEEDED|E_CONNECTION_LIMIT)$/) });

      const write = await invoke(
        down.handlers.updatePrice,
        event('PUT', '/products/{id}/price', '/products/8/price', { pathParameters: { id: '8' }, body: { price: '1.00' } }),
        down,
      );
      expect(write.status).toBe(503);
      expect(JSON.stringify([responses, logs])).not.toContain(secret);
    } finally {
      await down.close();
    }
    expect(JSON.stringify([responses, logs])).not.toContain(appPassword);
  });

  it('creating the app does no I/O, and every cache key it wrote has a TTL', async () => {
    const idle = createCatalogApp({
      connection: { user: 'nobody', database: 'none', port: 1 },
      redis: 'redis://127.0.0.1:1',
      namespace: randomNamespace('cfidle'),
    });
    expect(idle.connector.stats()).toMatchObject({ connects: 0, openConnections: 0 });
    await idle.close();

    const redis = new Redis(REDIS_URL);
    try {
      const keys = await inventory(redis, namespace);
      expect(keys.length).toBeGreaterThan(5);
      expect(keys.filter((k) => k.pttl <= 0)).toEqual([]);
    } finally {
      await redis.quit();
    }
  });
});

describe('catalog example: the Lambda entry point', () => {
  it('builds the app from environment variables at module load (no I/O) and serves requests', async () => {
    const vars: Record<string, string> = {
      DB_HOST: MYSQL.host,
      DB_PORT: String(MYSQL.port),
      DB_NAME: database,
      DB_USER: appUser,
      DB_PASSWORD: appPassword,
      DB_TLS: 'false',
      REDIS_URL,
      CACHE_NAMESPACE: namespace,
    };
    const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
    Object.assign(process.env, vars);
    const entry = await import('../../examples/src/catalog/lambda.js').finally(() => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });
    try {
      expect(entry.app.connector.stats()).toMatchObject({ connects: 0 });
      expect(await entry.migrate()).toEqual({ migrated: true }); // idempotent
      const answer = await invoke(entry.getProduct, event('GET', '/products/{id}', '/products/13', { pathParameters: { id: '13' } }), entry.app);
      expect(answer).toMatchObject({ status: 200, body: { product: { id: 13, price: seededProduct(13).price } } });
      expect(JSON.stringify(answer.body)).not.toContain(appPassword);
    } finally {
      await entry.app.close();
    }
  });
});

describe('catalog example on Redis Cluster', () => {
  it('reads, writes and invalidates with the cache on a cluster', async () => {
    const clustered = createCatalogApp({
      connection: { host: MYSQL.host, port: MYSQL.port, user: appUser, password: appPassword, database },
      redis: `redis://127.0.0.1:${REDIS_CLUSTER_PORTS[0]}`,
      redisCluster: true,
      namespace: randomNamespace('cfcatc'),
    });
    try {
      expect(await getProduct('9', clustered)).toMatchObject({ status: 200, body: { stale: false } });
      // On a cluster, the first load of an entry whose value tag (its category) has no token yet is
      // served but not stored: nothing tells whether the tag was invalidated and lost on its node
      // meanwhile. That load gave the tag a token; the next one fills, and the one after hits.
      expect(await getProduct('9', clustered)).toMatchObject({ status: 200, body: { stale: false } });
      expect(await getProduct('9', clustered)).toMatchObject({ status: 200, queries: 0 });
      const update = await invoke(
        clustered.handlers.updatePrice,
        event('PUT', '/products/{id}/price', '/products/9/price', { pathParameters: { id: '9' }, body: { price: '77.70' } }),
        clustered,
      );
      expect(update.status).toBe(200);
      expect((await getProduct('9', clustered)).body.product.price).toBe('77.70');
      expect(clustered.cache.stats().hits).toBeGreaterThan(0);
    } finally {
      await clustered.close();
    }
  });
});
