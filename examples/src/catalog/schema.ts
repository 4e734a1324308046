import { type Connector, sql } from '@cachefront/mysql';

/**
 * The catalog's tables. Prices are DECIMAL(10,2) and travel as exact strings end to end (mysql2
 * returns DECIMAL as a string unless `decimalNumbers` is set; the repositories keep it so). Times are
 * DATETIME(3) written with UTC_TIMESTAMP(3), which the connector reads back as UTC (`timezone: 'Z'`),
 * so the session or server time zone never shifts them.
 */
export const SCHEMA_STATEMENTS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS category (
    id INT UNSIGNED NOT NULL PRIMARY KEY,
    name VARCHAR(100) NOT NULL,
    UNIQUE KEY category_name (name)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE IF NOT EXISTS product (
    id INT UNSIGNED NOT NULL PRIMARY KEY,
    category_id INT UNSIGNED NOT NULL,
    sku VARCHAR(32) NOT NULL,
    name VARCHAR(200) NOT NULL,
    price DECIMAL(10,2) NOT NULL,
    stock INT UNSIGNED NOT NULL DEFAULT 0,
    updated_at DATETIME(3) NOT NULL,
    UNIQUE KEY product_sku (sku),
    KEY product_category (category_id, id),
    CONSTRAINT product_category_fk FOREIGN KEY (category_id) REFERENCES category (id)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE IF NOT EXISTS orders (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    customer VARCHAR(100) NOT NULL,
    total DECIMAL(12,2) NOT NULL,
    created_at DATETIME(3) NOT NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  `CREATE TABLE IF NOT EXISTS order_line (
    order_id BIGINT UNSIGNED NOT NULL,
    product_id INT UNSIGNED NOT NULL,
    quantity INT UNSIGNED NOT NULL,
    unit_price DECIMAL(10,2) NOT NULL,
    PRIMARY KEY (order_id, product_id),
    KEY order_line_product (product_id),
    CONSTRAINT order_line_order_fk FOREIGN KEY (order_id) REFERENCES orders (id),
    CONSTRAINT order_line_product_fk FOREIGN KEY (product_id) REFERENCES product (id)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
];

/** Creates the catalog tables if they do not exist (idempotent). The outbox table is `layer.migrate()`'s. */
export async function createSchema(connector: Pick<Connector, 'execute'>): Promise<void> {
  for (const text of SCHEMA_STATEMENTS) await connector.execute(sql.raw(text));
}

export interface SeedOptions {
  categories: number;
  productsPerCategory: number;
  /** Rows per INSERT statement. @default 500 */
  batchSize?: number;
}

export interface SeedCategory {
  id: number;
  name: string;
}

export interface SeedProduct {
  id: number;
  categoryId: number;
  sku: string;
  name: string;
  price: string;
  stock: number;
}

/** The moment every seeded row says it was last updated. */
export const SEED_UPDATED_AT = new Date('2026-01-01T00:00:00.000Z');

/**
 * The seed data, computed without I/O: the same options always give the same rows, so tests and
 * benchmarks can predict them. Product ids are `(categoryId - 1) * productsPerCategory + n`.
 */
export function seedData(options: SeedOptions): { categories: SeedCategory[]; products: SeedProduct[] } {
  const { categories: count, productsPerCategory: per } = options;
  if (!Number.isInteger(count) || count < 0 || !Number.isInteger(per) || per < 0) {
    throw new RangeError('`categories` and `productsPerCategory` must be whole numbers ≥ 0.');
  }
  const categories: SeedCategory[] = [];
  const products: SeedProduct[] = [];
  for (let c = 1; c <= count; c += 1) {
    categories.push({ id: c, name: `Category ${c}` });
    for (let n = 1; n <= per; n += 1) {
      const id = (c - 1) * per + n;
      // Deterministic, varied prices from 1.00 to 999.99, in cents so the text is exact.
      const cents = 100 + ((id * 7919 + c * 104_729) % 99_900);
      products.push({
        id,
        categoryId: c,
        sku: `SKU-${String(id).padStart(8, '0')}`,
        name: `Product ${c}-${n}`,
        price: formatCents(cents),
        stock: 10 + ((id * 31) % 91),
      });
    }
  }
  return { categories, products };
}

/** Inserts the seed data in batches (one multi-row INSERT per `batchSize` rows). Run it on empty tables. */
export async function seed(connector: Pick<Connector, 'execute'>, options: SeedOptions): Promise<{ categories: number; products: number }> {
  const { categories, products } = seedData(options);
  const batchSize = options.batchSize ?? 500;
  for (const batch of chunks(categories, batchSize)) {
    await connector.execute(sql`INSERT INTO category (id, name) VALUES ${sql.join(batch.map((c) => sql`(${c.id}, ${c.name})`))}`);
  }
  for (const batch of chunks(products, batchSize)) {
    const rows = batch.map((p) => sql`(${p.id}, ${p.categoryId}, ${p.sku}, ${p.name}, ${p.price}, ${p.stock}, ${SEED_UPDATED_AT})`);
    await connector.execute(sql`INSERT INTO product (id, category_id, sku, name, price, stock, updated_at) VALUES ${sql.join(rows)}`);
  }
  return { categories: categories.length, products: products.length };
}

/** Cents (an integer) as DECIMAL text: 1999 → "19.99". */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

/** DECIMAL text to cents (an integer), exactly: "19.9" → 1990. */
export function toCents(decimal: string): number {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(decimal);
  if (!match) throw new RangeError('Not a decimal with at most two places.');
  const cents = Number(match[2]) * 100 + Number((match[3] ?? '').padEnd(2, '0'));
  return match[1] === '-' ? -cents : cents;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
