import { type DataLayer, InvalidationPendingError, type Issue, withDataLayer } from '@cachefront/core';
import { type Connector, sql, type Transaction } from '@cachefront/mysql';
import { z } from 'zod';
import { type CatalogRepositories, Id, PRODUCT_COLUMNS, type Product, type ProductRow, tags, toProduct } from './repositories.js';
import { formatCents, toCents } from './schema.js';

// ---------------------------------------------------------------------------------------------
// The few Lambda types the handlers need (API Gateway HTTP API, payload format 2.0).
// ---------------------------------------------------------------------------------------------

export interface HttpApiEvent {
  version?: string;
  routeKey?: string;
  rawPath?: string;
  rawQueryString?: string;
  headers?: Record<string, string | undefined>;
  queryStringParameters?: { afterId?: string; limit?: string; [name: string]: string | undefined };
  pathParameters?: { id?: string; [name: string]: string | undefined };
  body?: string;
  isBase64Encoded?: boolean;
  requestContext?: { requestId?: string; http?: { method: string; path: string } };
}

export interface LambdaContext {
  getRemainingTimeInMillis(): number;
  awsRequestId?: string;
  functionName?: string;
}

export interface HttpApiResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** An EventBridge schedule's event: only its presence matters. */
export interface ScheduledEvent {
  source?: string;
  'detail-type'?: string;
  time?: string;
}

export interface MaintenanceResult {
  /** Tags replayed from the outbox (committed writes whose invalidation had not reached Redis). */
  drained: number;
  /** Outbox rows that could not be applied (reported on `OUTBOX_SKIP_CHANNEL` too; see `layer.drain()`). */
  skipped: number;
  /** Zombie connections of the application's user that were killed. */
  killed: number;
  limit: number;
  used: number;
}

export interface Logger {
  error(entry: Record<string, unknown>): void;
}

export type HttpHandler = (event: HttpApiEvent, context: LambdaContext) => Promise<HttpApiResult>;

export interface CatalogHandlers {
  /** GET /products/{id} */
  getProduct: HttpHandler;
  /** GET /categories/{id}/products?afterId=&limit= */
  listCategory: HttpHandler;
  /** PUT /products/{id}/price  `{ "price": "12.34" }` */
  updatePrice: HttpHandler;
  /** POST /orders  `{ "customer": "...", "lines": [{ "productId": 1, "quantity": 2 }] }` */
  placeOrder: HttpHandler;
  /** Scheduled: replays pending invalidations (`layer.drain()`) and reaps zombie connections (`connector.reap()`). */
  maintenance: (event: ScheduledEvent, context: LambdaContext) => Promise<MaintenanceResult>;
}

// ---------------------------------------------------------------------------------------------
// Errors of the application, with stable codes like the packages' own.
// ---------------------------------------------------------------------------------------------

export class CatalogError extends Error {
  override readonly name: string = 'CatalogError';
  constructor(
    readonly code: 'E_BAD_REQUEST' | 'E_NOT_FOUND' | 'E_INSUFFICIENT_STOCK',
    message: string,
  ) {
    super(message);
  }
}

export class BadRequestError extends CatalogError {
  override readonly name = 'BadRequestError';
  constructor(
    message: string,
    readonly issues: readonly Issue[] = [],
  ) {
    super('E_BAD_REQUEST', message);
  }
}

export class NotFoundError extends CatalogError {
  override readonly name = 'NotFoundError';
  constructor(message: string) {
    super('E_NOT_FOUND', message);
  }
}

export class InsufficientStockError extends CatalogError {
  override readonly name = 'InsufficientStockError';
  constructor(
    readonly productId: number,
    readonly requested: number,
    readonly available: number,
  ) {
    super('E_INSUFFICIENT_STOCK', `Product ${productId} has ${available} in stock; ${requested} requested.`);
  }
}

// ---------------------------------------------------------------------------------------------
// Request bodies.
// ---------------------------------------------------------------------------------------------

const MAX_CENTS = 99_999_999_99; // DECIMAL(10,2)

/** A price as text ("12.5", "12.50") or a JSON number (12.5), normalized to two places. */
export const PriceInput = z
  .union([z.string(), z.number()])
  .transform((v) => (typeof v === 'number' ? String(v) : v.trim()))
  .pipe(z.string().regex(/^\d{1,8}(\.\d{1,2})?$/, 'a positive decimal with at most 8 digits before and 2 after the point'))
  .transform((v) => toCents(v))
  .pipe(z.number().int().positive('the price must be above 0').max(MAX_CENTS))
  .transform((cents) => formatCents(cents));

export const UpdatePriceBody = z.strictObject({ price: PriceInput });

export const PlaceOrderBody = z.strictObject({
  customer: z.string().trim().min(1).max(100),
  lines: z
    .array(z.strictObject({ productId: Id, quantity: z.number().int().positive().max(10_000) }))
    .min(1)
    .max(50),
});

export interface Order {
  id: number;
  customer: string;
  total: string;
  createdAt: Date;
  lines: Array<{ productId: number; quantity: number; unitPrice: string }>;
}

// ---------------------------------------------------------------------------------------------
// The handlers.
// ---------------------------------------------------------------------------------------------

const UNAVAILABLE = new Set(['E_CONNECTION_LIMIT', 'E_CONNECT_FAILED', 'E_CONNECTION_LOST', 'E_DEADLINE_EXCEEDED', 'E_CACHE_UNAVAILABLE', 'E_CACHE_TIMEOUT']);

const defaultLogger: Logger = { error: (entry) => console.error(JSON.stringify(entry)) };

export function createHandlers(deps: { layer: DataLayer<Connector, Transaction>; repositories: CatalogRepositories; logger?: Logger }): CatalogHandlers {
  const { layer, repositories } = deps;
  const logger = deps.logger ?? defaultLogger;

  /** Wraps with `withDataLayer` (deadline, settle, `connector.end()` after every invocation) and maps errors to answers. */
  const http = (route: string, handler: (event: HttpApiEvent, context: LambdaContext) => Promise<HttpApiResult>): HttpHandler =>
    withDataLayer(layer, async (event: HttpApiEvent, context: LambdaContext) => {
      try {
        return await handler(event, context);
      } catch (error) {
        return errorResponse(error, route, context, logger);
      }
    });

  const getProduct = http('GET /products/{id}', async (event) => {
    const result = await repositories.product.read({ id: event.pathParameters?.id });
    if (result.value === null) throw new NotFoundError('No such product.');
    return json(200, { product: result.value, stale: result.status === 'stale' });
  });

  const listCategory = http('GET /categories/{id}/products', async (event) => {
    const query = event.queryStringParameters ?? {};
    const categoryId = event.pathParameters?.id;
    const page = { categoryId, afterId: query.afterId, limit: query.limit };
    const summary = await repositories.categorySummary.read({ categoryId });
    if (summary.value === null) throw new NotFoundError('No such category.');
    const list = await repositories.categoryProducts.read(page);
    const products = list.value;
    const last = products.at(-1);
    return json(200, {
      category: summary.value,
      products,
      nextAfterId: last && products.length === Number(query.limit ?? 20) ? last.id : null,
      stale: summary.status === 'stale' || list.status === 'stale',
    });
  });

  const updatePrice = http('PUT /products/{id}/price', async (event) => {
    const id = parse(Id, event.pathParameters?.id, 'id');
    const { price } = parse(UpdatePriceBody, readJson(event), 'body');
    let committed: Product | undefined;
    try {
      const product = await layer.write(
        async (tx) => {
          const [row] = await tx.query<ProductRow>(sql`SELECT ${PRODUCT_COLUMNS} FROM product p WHERE p.id = ${id} FOR UPDATE`);
          if (!row) throw new NotFoundError('No such product.');
          await tx.execute(sql`UPDATE product SET price = ${price}, updated_at = UTC_TIMESTAMP(3) WHERE id = ${id}`);
          const [updated] = await tx.query<ProductRow>(sql`SELECT ${PRODUCT_COLUMNS} FROM product p WHERE p.id = ${id}`);
          committed = toProduct(updated as ProductRow);
          return committed;
        },
        // The product's entry, and every list / aggregate of its category.
        { tags: (p) => [tags.product(p.id), tags.category(p.categoryId)] },
      );
      return json(200, { product });
    } catch (error) {
      if (error instanceof InvalidationPendingError && committed) return pending({ product: committed });
      throw error;
    }
  });

  const placeOrder = http('POST /orders', async (event) => {
    const body = parse(PlaceOrderBody, readJson(event), 'body');
    // One line per product (quantities of repeated products add up), in id order: rows are locked
    // in the same order by every order, so two orders never deadlock on each other.
    const wanted = new Map<number, number>();
    for (const line of body.lines) wanted.set(line.productId, (wanted.get(line.productId) ?? 0) + line.quantity);
    const ids = [...wanted.keys()].sort((a, b) => a - b);
    let committed: Order | undefined;
    try {
      const order = await layer.write(
        async (tx) => {
          const rows = await tx.query<ProductRow>(sql`SELECT ${PRODUCT_COLUMNS} FROM product p WHERE p.id IN (${sql.list(ids)}) ORDER BY p.id FOR UPDATE`);
          const products = new Map(rows.map((row) => [Number(row.id), toProduct(row)]));
          const lines: Order['lines'] = [];
          let totalCents = 0;
          for (const productId of ids) {
            const product = products.get(productId);
            const quantity = wanted.get(productId) ?? 0;
            if (!product) throw new NotFoundError(`No such product: ${productId}.`);
            if (product.stock < quantity) throw new InsufficientStockError(productId, quantity, product.stock);
            lines.push({ productId, quantity, unitPrice: product.price });
            totalCents += toCents(product.price) * quantity;
          }
          const total = formatCents(totalCents);
          const createdAt = new Date();
          const header = await tx.execute(sql`INSERT INTO orders (customer, total, created_at) VALUES (${body.customer}, ${total}, ${createdAt})`);
          const orderId = header.insertId;
          await tx.execute(
            sql`INSERT INTO order_line (order_id, product_id, quantity, unit_price) VALUES ${sql.join(
              lines.map((line) => sql`(${orderId}, ${line.productId}, ${line.quantity}, ${line.unitPrice})`),
            )}`,
          );
          for (const line of lines) {
            // The guard repeats the check under the lock: a decrement never goes below zero.
            const update = await tx.execute(
              sql`UPDATE product SET stock = stock - ${line.quantity}, updated_at = UTC_TIMESTAMP(3) WHERE id = ${line.productId} AND stock >= ${line.quantity}`,
            );
            if (update.affectedRows !== 1) throw new InsufficientStockError(line.productId, line.quantity, products.get(line.productId)?.stock ?? 0);
          }
          committed = { id: orderId, customer: body.customer, total, createdAt, lines };
          return { order: committed, categories: [...new Set([...products.values()].map((p) => p.categoryId))] };
        },
        // Stock is part of each product's entry, of its category's pages and of the category's count.
        { tags: ({ order, categories }) => [...order.lines.map((line) => tags.product(line.productId)), ...categories.map(tags.category)] },
      );
      return json(201, { order: order.order });
    } catch (error) {
      if (error instanceof InvalidationPendingError && committed) return pending({ order: committed });
      throw error;
    }
  });

  const maintenance = withDataLayer(layer, async (_event: ScheduledEvent, context: LambdaContext): Promise<MaintenanceResult> => {
    try {
      const drained = await layer.drain();
      const reaped = await layer.database.client.reap();
      return { drained: drained.tags, skipped: drained.skipped.length, killed: reaped.killed.length, limit: reaped.limit, used: reaped.used };
    } catch (error) {
      logger.error(logEntry(error, 'maintenance', context, 500));
      throw error; // a scheduled invocation that fails is retried and shows in the function's error metric
    }
  });

  return { getProduct, listCategory, updatePrice, placeOrder, maintenance };
}

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpApiResult {
  return { statusCode, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }, body: JSON.stringify(body) };
}

/** The write committed, but its invalidation is pending (Redis unreachable): the data is safe, caches catch up. */
function pending(body: Record<string, unknown>): HttpApiResult {
  return json(202, {
    ...body,
    committed: true,
    note: 'The change is committed. Cached reads may show the previous value until the pending cache invalidation is replayed (before the next cached read, or by the scheduled maintenance function).',
  });
}

function readJson(event: HttpApiEvent): unknown {
  if (event.body === undefined || event.body === '') throw new BadRequestError('A JSON body is required.');
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError('The body is not valid JSON.');
  }
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  // Paths and messages only: never the offending value.
  const issues = result.error.issues.map((issue) => ({ path: [where, ...issue.path.map(String)].join('.'), message: issue.message }));
  throw new BadRequestError(`Invalid ${where}.`, issues);
}

function codeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Maps an error to an answer by its `code`. Messages of server errors never reach the client (they could name tables or hosts). */
export function errorResponse(error: unknown, route: string, context: LambdaContext, logger: Logger): HttpApiResult {
  const code = codeOf(error);
  const requestId = context.awsRequestId;
  switch (code) {
    case 'E_INVALID_PARAMS':
    case 'E_BAD_REQUEST': {
      const issues = (error as { issues?: readonly Issue[] }).issues ?? [];
      return json(400, { error: 'bad_request', message: code === 'E_BAD_REQUEST' ? (error as Error).message : 'Invalid parameters.', issues });
    }
    case 'E_NOT_FOUND':
      return json(404, { error: 'not_found', message: (error as Error).message });
    case 'E_INSUFFICIENT_STOCK': {
      const { productId, requested, available } = error as InsufficientStockError;
      return json(409, { error: 'insufficient_stock', message: (error as Error).message, productId, requested, available });
    }
    case 'E_INVALIDATION_PENDING':
      return json(202, { committed: true, note: 'The change is committed; the cache invalidation is pending and will be replayed.' });
    case 'E_TRANSACTION_FAILED': {
      const mayHaveCommitted = (error as { mayHaveCommitted?: boolean }).mayHaveCommitted === true;
      logger.error(logEntry(error, route, context, 503));
      return json(503, { error: 'service_unavailable', mayHaveCommitted, requestId }, { 'retry-after': '1' });
    }
    default:
      if (code !== undefined && UNAVAILABLE.has(code)) {
        logger.error(logEntry(error, route, context, 503));
        return json(503, { error: 'service_unavailable', requestId }, { 'retry-after': '1' });
      }
      logger.error(logEntry(error, route, context, 500));
      return json(500, { error: 'internal_error', requestId });
  }
}

/** What is logged about a failure: identifiers and codes, never a message (it might quote a value), a secret or a parameter. */
function logEntry(error: unknown, route: string, context: LambdaContext, status: number): Record<string, unknown> {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; code?: unknown; errno?: unknown; sqlState?: unknown };
  return {
    level: 'error',
    msg: 'request failed',
    route,
    status,
    requestId: context.awsRequestId,
    error: typeof e.name === 'string' ? e.name : typeof error,
    code: typeof e.code === 'string' ? e.code : undefined,
    errno: typeof e.errno === 'number' ? e.errno : undefined,
    sqlState: typeof e.sqlState === 'string' ? e.sqlState : undefined,
  };
}
