import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { NaiveConnection } from '../shared/naive-connection.js';
import type { AppFactory, AppInstance, DbTarget, HttpEvent, HttpHandler, HttpResult } from './app.js';
import type { Route } from './traffic.js';

/**
 * The handlers most functions start with: plain mysql2, one connection per container opened on
 * first use and kept for the container's life (never closed), every read from the database, no
 * cache. Same routes, same statements and same answers as the catalog app; an error thrown by the
 * driver escapes the handler (the platform answers 502 for it).
 */
export function naiveAppFactory(): AppFactory {
  return {
    name: 'naive mysql2',
    description: 'plain mysql2, one connection per container opened on first use and never closed, no cache',
    create: (target) => new NaiveApp(target),
  };
}

const json = (statusCode: number, body: unknown): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

interface ProductRow extends RowDataPacket {
  id: number;
  category_id: number;
  sku: string;
  name: string;
  price: string;
  stock: number;
  updated_at: Date;
}

const COLUMNS = 'p.id, p.category_id, p.sku, p.name, p.price, p.stock, p.updated_at';
const PAGE = 20;
const ID = /^[1-9]\d{0,9}$/;
const PRICE = /^\d{1,8}(\.\d{1,2})?$/;

const toProduct = (row: ProductRow) => ({
  id: Number(row.id),
  categoryId: Number(row.category_id),
  sku: row.sku,
  name: row.name,
  price: row.price,
  stock: Number(row.stock),
  updatedAt: row.updated_at,
});

const toCents = (text: string): number => {
  const [whole = '0', fraction = ''] = text.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
};
const formatCents = (cents: number): string => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;

class NotFound extends Error {}
class OutOfStock extends Error {
  constructor(
    readonly productId: number,
    readonly requested: number,
    readonly available: number,
  ) {
    super(`Product ${productId} has ${available} in stock; ${requested} requested.`);
  }
}

class NaiveApp implements AppInstance {
  readonly handlers: Readonly<Record<Route, HttpHandler>>;
  readonly #connection: NaiveConnection;
  #queries = 0;

  constructor(target: DbTarget) {
    this.#connection = new NaiveConnection({ ...target, timezone: 'Z' });
    this.handlers = {
      getProduct: (event) => this.#getProduct(event),
      listCategory: (event) => this.#listCategory(event),
      updatePrice: (event) => this.#updatePrice(event),
      placeOrder: (event) => this.#placeOrder(event),
    };
  }

  threadId(): number | undefined {
    return this.#connection.threadId;
  }

  queries(): number {
    return this.#queries;
  }

  cacheReads(): undefined {
    return undefined;
  }

  failureCode(): undefined {
    return undefined;
  }

  async dispose(): Promise<void> {
    this.#connection.dispose();
  }

  async #query<T>(text: string, values: readonly unknown[] = []): Promise<T> {
    const connection = await this.#connection.get();
    this.#queries += 1;
    const [rows] = await connection.query(text, [...values]);
    return rows as T;
  }

  async #getProduct(event: HttpEvent): Promise<HttpResult> {
    const { id = '' } = event.pathParameters ?? {};
    if (!ID.test(id)) return json(400, { error: 'bad_request', message: 'Invalid parameters.' });
    const [row] = await this.#query<ProductRow[]>(`SELECT ${COLUMNS} FROM product p WHERE p.id = ?`, [Number(id)]);
    return row ? json(200, { product: toProduct(row), stale: false }) : json(404, { error: 'not_found', message: 'No such product.' });
  }

  async #listCategory(event: HttpEvent): Promise<HttpResult> {
    const { id = '' } = event.pathParameters ?? {};
    if (!ID.test(id)) return json(400, { error: 'bad_request', message: 'Invalid parameters.' });
    const [summary] = await this.#query<Array<RowDataPacket & { id: number; name: string; product_count: number; units: string | null }>>(
      `SELECT c.id, c.name, COUNT(p.id) AS product_count, COALESCE(SUM(p.stock), 0) AS units
       FROM category c LEFT JOIN product p ON p.category_id = c.id WHERE c.id = ? GROUP BY c.id, c.name`,
      [Number(id)],
    );
    if (!summary) return json(404, { error: 'not_found', message: 'No such category.' });
    const rows = await this.#query<ProductRow[]>(`SELECT ${COLUMNS} FROM product p WHERE p.category_id = ? AND p.id > 0 ORDER BY p.id LIMIT ${PAGE}`, [
      Number(id),
    ]);
    const products = rows.map(toProduct);
    const last = products.at(-1);
    return json(200, {
      category: { id: Number(summary.id), name: summary.name, productCount: Number(summary.product_count), unitsInStock: Number(summary.units ?? 0) },
      products,
      nextAfterId: last && products.length === PAGE ? last.id : null,
      stale: false,
    });
  }

  async #updatePrice(event: HttpEvent): Promise<HttpResult> {
    const { id = '' } = event.pathParameters ?? {};
    const { price } = JSON.parse(event.body ?? '{}') as { price?: unknown };
    if (!ID.test(id) || typeof price !== 'string' || !PRICE.test(price) || toCents(price) <= 0) {
      return json(400, { error: 'bad_request', message: 'Invalid body.' });
    }
    return this.#transaction(async () => {
      const [row] = await this.#query<ProductRow[]>(`SELECT ${COLUMNS} FROM product p WHERE p.id = ? FOR UPDATE`, [Number(id)]);
      if (!row) throw new NotFound('No such product.');
      await this.#query('UPDATE product SET price = ?, updated_at = UTC_TIMESTAMP(3) WHERE id = ?', [formatCents(toCents(price)), Number(id)]);
      const [updated] = await this.#query<ProductRow[]>(`SELECT ${COLUMNS} FROM product p WHERE p.id = ?`, [Number(id)]);
      return json(200, { product: toProduct(updated as ProductRow) });
    });
  }

  async #placeOrder(event: HttpEvent): Promise<HttpResult> {
    const body = JSON.parse(event.body ?? '{}') as { customer?: unknown; lines?: Array<{ productId: number; quantity: number }> };
    if (typeof body.customer !== 'string' || !Array.isArray(body.lines) || body.lines.length === 0)
      return json(400, { error: 'bad_request', message: 'Invalid body.' });
    const customer = body.customer;
    const wanted = new Map<number, number>();
    for (const line of body.lines) wanted.set(line.productId, (wanted.get(line.productId) ?? 0) + line.quantity);
    const ids = [...wanted.keys()].sort((a, b) => a - b);
    return this.#transaction(async () => {
      const rows = await this.#query<ProductRow[]>(
        `SELECT ${COLUMNS} FROM product p WHERE p.id IN (${ids.map(() => '?').join(', ')}) ORDER BY p.id FOR UPDATE`,
        ids,
      );
      const products = new Map(rows.map((row) => [Number(row.id), toProduct(row)]));
      const lines: Array<{ productId: number; quantity: number; unitPrice: string }> = [];
      let totalCents = 0;
      for (const productId of ids) {
        const product = products.get(productId);
        const quantity = wanted.get(productId) ?? 0;
        if (!product) throw new NotFound(`No such product: ${productId}.`);
        if (product.stock < quantity) throw new OutOfStock(productId, quantity, product.stock);
        lines.push({ productId, quantity, unitPrice: product.price });
        totalCents += toCents(product.price) * quantity;
      }
      const total = formatCents(totalCents);
      const createdAt = new Date();
      const header = await this.#query<ResultSetHeader>('INSERT INTO orders (customer, total, created_at) VALUES (?, ?, ?)', [customer, total, createdAt]);
      await this.#query(
        `INSERT INTO order_line (order_id, product_id, quantity, unit_price) VALUES ${lines.map(() => '(?, ?, ?, ?)').join(', ')}`,
        lines.flatMap((line) => [header.insertId, line.productId, line.quantity, line.unitPrice]),
      );
      for (const line of lines) {
        const update = await this.#query<ResultSetHeader>('UPDATE product SET stock = stock - ?, updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND stock >= ?', [
          line.quantity,
          line.productId,
          line.quantity,
        ]);
        if (update.affectedRows !== 1) throw new OutOfStock(line.productId, line.quantity, products.get(line.productId)?.stock ?? 0);
      }
      return json(201, { order: { id: header.insertId, customer, total, createdAt, lines } });
    });
  }

  /** BEGIN, the work, COMMIT; ROLLBACK on any error. Not-found and out-of-stock become answers; driver errors escape. */
  async #transaction(work: () => Promise<HttpResult>): Promise<HttpResult> {
    await this.#query('START TRANSACTION');
    try {
      const result = await work();
      await this.#query('COMMIT');
      return result;
    } catch (error) {
      await this.#query('ROLLBACK').catch(() => {});
      if (error instanceof NotFound) return json(404, { error: 'not_found', message: error.message });
      if (error instanceof OutOfStock) {
        const { productId, requested, available } = error;
        return json(409, { error: 'insufficient_stock', message: error.message, productId, requested, available });
      }
      throw error;
    }
  }
}
