import { randomBytes } from 'node:crypto';

export const REDIS_URL = 'redis://127.0.0.1:6379';
export const REDIS_HOST = '127.0.0.1';
export const REDIS_PORT = 6379;

/** What a repository hands back for one `products` row: mysql2 gives DECIMAL columns as strings and DATETIME as a Date. */
export interface ProductRow {
  id: number;
  sku: string;
  name: string;
  slug: string;
  description: string;
  categoryId: number;
  brand: string;
  price: string;
  salePrice: string | null;
  costPrice: string;
  currency: string;
  stock: number;
  weightKg: string;
  active: boolean;
  rating: string;
  createdAt: Date;
  updatedAt: Date;
}

/** The same row for every id, but for the id itself: about 600 bytes of JSON. */
export function productRow(id: number): ProductRow {
  return {
    id,
    sku: `SKU-${String(id).padStart(8, '0')}`,
    name: 'Stainless steel insulated water bottle, 750 ml, brushed finish',
    slug: 'stainless-steel-insulated-water-bottle-750-ml-brushed',
    description:
      'Double-walled vacuum insulation keeps drinks cold for 24 hours and hot for 12. Leak-proof lid, powder-coated grip, dishwasher safe, BPA free. Fits most cup holders.',
    categoryId: 1207,
    brand: 'Northfield Outfitters',
    price: '34.90',
    salePrice: '29.90',
    costPrice: '11.25',
    currency: 'EUR',
    stock: 418,
    weightKg: '0.412',
    active: true,
    rating: '4.62',
    createdAt: new Date('2026-03-14T09:26:53.000Z'),
    updatedAt: new Date('2026-11-02T17:45:10.000Z'),
  };
}

/** The row's parameter tag, as a repository would declare it (`tags: (p) => [\`product:${p.id}\`]`). */
export const productTag = (id: number): string => `product:${id}`;

/** A fresh prefix for one run, e.g. `cfbench-3f9a1c2b`: every key of the run starts with it (a valid cachefront namespace too). */
export function runPrefix(): string {
  return `cfbench-${randomBytes(4).toString('hex')}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** TTL of every cached entry: far longer than a run, so nothing expires while it is measured. */
export const ENTRY_TTL_MS = 10 * 60 * 1000;
