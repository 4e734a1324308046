import { type DataLayer, defineRepository } from '@cachefront/core';
import { type Connector, type SqlStatement, sql, type Transaction } from '@cachefront/mysql';
import { z } from 'zod';

/** A row id as it arrives in a path: digits only, coerced, within INT UNSIGNED. */
export const Id = z.coerce.number().int().positive().max(4_294_967_295);

/** DECIMAL(10,2) as exact text, never a float. */
export const Price = z.string().regex(/^\d{1,8}\.\d{2}$/, 'a decimal with two places');

export const Product = z.object({
  id: z.number().int().positive(),
  categoryId: z.number().int().positive(),
  sku: z.string(),
  name: z.string(),
  price: Price,
  stock: z.number().int().nonnegative(),
  updatedAt: z.date(),
});
export type Product = z.infer<typeof Product>;

export const CategorySummary = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  productCount: z.number().int().nonnegative(),
  unitsInStock: z.number().int().nonnegative(),
});
export type CategorySummary = z.infer<typeof CategorySummary>;

/** Tags, in one place: a write must invalidate exactly these. */
export const tags = {
  product: (id: number) => `product:${id}`,
  category: (id: number) => `category:${id}`,
};

/** Cache lifetimes. `graceMs`: how long past the TTL a value may be served, flagged stale, while the database is unavailable. */
export const CATALOG_TTL = {
  productMs: 5 * 60_000,
  productGraceMs: 60 * 60_000,
  listMs: 60_000,
  listGraceMs: 15 * 60_000,
  summaryMs: 60_000,
  summaryGraceMs: 15 * 60_000,
};

/** The one SELECT every product read uses, so every path maps rows the same way. */
export const PRODUCT_COLUMNS = sql.raw('p.id, p.category_id, p.sku, p.name, p.price, p.stock, p.updated_at');

export interface ProductRow {
  id: number | string;
  category_id: number | string;
  sku: string;
  name: string;
  price: string;
  stock: number | string;
  updated_at: Date;
  [column: string]: unknown;
}

/** A row to the value the schema checks (ids as numbers, DECIMAL kept as its exact text). */
export function toProduct(row: ProductRow): z.input<typeof Product> {
  return {
    id: Number(row.id),
    categoryId: Number(row.category_id),
    sku: row.sku,
    name: row.name,
    price: row.price,
    stock: Number(row.stock),
    updatedAt: row.updated_at,
  };
}

function selectProducts(where: SqlStatement): SqlStatement {
  return sql`SELECT ${PRODUCT_COLUMNS} FROM product p WHERE ${where}`;
}

/** The list endpoint's page size limit. */
export const MAX_PAGE = 100;

/** The catalog's repositories, bound to a layer over a `Connector`. */
export function createRepositories(layer: DataLayer<Connector, Transaction>) {
  /**
   * One product by id. `null` (not found) is cached too, under the same `product:<id>` tag, so a burst
   * of requests for a missing id cannot reach the database more than once per TTL — and creating the
   * product invalidates it. The value tag `category:<id>` ties the entry to its category as well.
   */
  const product = layer.repository(
    defineRepository({
      name: 'catalog-product',
      params: z.object({ id: Id }),
      value: Product.nullable(),
      ttlMs: CATALOG_TTL.productMs,
      graceMs: CATALOG_TTL.productGraceMs,
      tags: ({ id }) => [tags.product(id)],
      valueTags: (value) => (value ? [tags.category(value.categoryId)] : []),
      load: async (db: Connector, { id }) => {
        const [row] = await db.query<ProductRow>(selectProducts(sql`p.id = ${id}`));
        return row ? toProduct(row) : null;
      },
      // getMany: one `WHERE id IN (...)` for every miss, in the order asked.
      loadMany: async (db: Connector, list) => {
        const rows = await db.query<ProductRow>(selectProducts(sql`p.id IN (${sql.list(list.map((p) => p.id))})`));
        const byId = new Map(rows.map((row) => [Number(row.id), toProduct(row)]));
        return list.map(({ id }) => byId.get(id) ?? null);
      },
    }),
  );

  /**
   * A page of a category's products, by id. Tagged `category:<id>`: any write to one of its
   * products invalidates `category:<categoryId>` along with `product:<id>`, so every page goes.
   */
  const categoryProducts = layer.repository(
    defineRepository({
      name: 'catalog-category-products',
      params: z.object({
        categoryId: Id,
        afterId: z.coerce.number().int().nonnegative().max(4_294_967_295).default(0),
        limit: z.coerce.number().int().positive().max(MAX_PAGE).default(20),
      }),
      value: z.array(Product),
      ttlMs: CATALOG_TTL.listMs,
      graceMs: CATALOG_TTL.listGraceMs,
      tags: ({ categoryId }) => [tags.category(categoryId)],
      load: async (db: Connector, { categoryId, afterId, limit }) => {
        const rows = await db.query<ProductRow>(selectProducts(sql`p.category_id = ${categoryId} AND p.id > ${afterId} ORDER BY p.id LIMIT ${limit}`));
        return rows.map(toProduct);
      },
    }),
  );

  /** The aggregate: how many products a category has and how many units are in stock. `null` when the category does not exist. */
  const categorySummary = layer.repository(
    defineRepository({
      name: 'catalog-category-summary',
      params: z.object({ categoryId: Id }),
      value: CategorySummary.nullable(),
      ttlMs: CATALOG_TTL.summaryMs,
      graceMs: CATALOG_TTL.summaryGraceMs,
      tags: ({ categoryId }) => [tags.category(categoryId)],
      load: async (db: Connector, { categoryId }) => {
        const [row] = await db.query<{ id: number; name: string; product_count: number | string; units: number | string | null }>(
          sql`SELECT c.id, c.name, COUNT(p.id) AS product_count, COALESCE(SUM(p.stock), 0) AS units
              FROM category c LEFT JOIN product p ON p.category_id = c.id
              WHERE c.id = ${categoryId} GROUP BY c.id, c.name`,
        );
        // COUNT is BIGINT and SUM is DECIMAL in MySQL: both fit a JS number here.
        return row ? { id: Number(row.id), name: row.name, productCount: Number(row.product_count), unitsInStock: Number(row.units ?? 0) } : null;
      },
    }),
  );

  return { product, categoryProducts, categorySummary };
}

export type CatalogRepositories = ReturnType<typeof createRepositories>;
