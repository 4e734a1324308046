import { type Random, randomInt, seededRandom } from '../shared/random.js';

/** The four routes of the catalog app. */
export type Route = 'getProduct' | 'listCategory' | 'updatePrice' | 'placeOrder';

export const ROUTES: readonly Route[] = ['getProduct', 'listCategory', 'updatePrice', 'placeOrder'];

/** Shares of the traffic, summing to 1: reads (product pages and category listings), price updates, orders. */
export interface TrafficMix {
  readonly reads: number;
  readonly updates: number;
  readonly orders: number;
}

export const DEFAULT_MIX: TrafficMix = Object.freeze({ reads: 0.9, updates: 0.08, orders: 0.02 });

/** What the seeded catalog holds, and how skewed the reads are. */
export interface CatalogShape {
  /** Product ids 1..products. */
  readonly products: number;
  /** Category ids 1..categories. */
  readonly categories: number;
  /** Customer ids 1..customers. */
  readonly customers: number;
  /** Size of the hot set: products spread evenly over the ids (so over the categories too), see `hotProductId`. */
  readonly hotProducts: number;
  /** Share of product reads that go to the hot set. */
  readonly hotShare: number;
  /** Share of reads that list a category (the rest read one product). */
  readonly listShare: number;
}

/** Matches the catalog's `seedData({ categories: 50, productsPerCategory: 20 })`. */
export const DEFAULT_SHAPE: CatalogShape = Object.freeze({
  products: 1000,
  categories: 50,
  customers: 100,
  hotProducts: 50,
  hotShare: 0.8,
  listShare: 0.2,
});

/** One request the platform delivers: the route and what it carries. */
export type Request =
  | { readonly route: 'getProduct'; readonly productId: number }
  | { readonly route: 'listCategory'; readonly categoryId: number }
  | { readonly route: 'updatePrice'; readonly productId: number; readonly price: string }
  | { readonly route: 'placeOrder'; readonly customer: string; readonly lines: ReadonlyArray<{ readonly productId: number; readonly quantity: number }> };

/**
 * Parses `--mix reads/updates/orders` ("90/8/2", "0.9/0.08/0.02" or "1/0/0"): three non-negative
 * numbers, normalized to shares of 1.
 */
export function parseMix(text: string): TrafficMix {
  const parts = text.split('/').map((part) => part.trim());
  const numbers = parts.map(Number);
  if (parts.length !== 3 || parts.some((part) => part === '') || numbers.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new RangeError(`--mix must be three non-negative numbers reads/updates/orders, like 90/8/2; got "${text}".`);
  }
  const [reads = 0, updates = 0, orders = 0] = numbers;
  const total = reads + updates + orders;
  if (total <= 0) throw new RangeError(`--mix must not be all zero; got "${text}".`);
  return { reads: reads / total, updates: updates / total, orders: orders / total };
}

export function formatMix(mix: TrafficMix): string {
  const pct = (share: number): string => `${Math.round(share * 1000) / 10}%`;
  return `${pct(mix.reads)} reads, ${pct(mix.updates)} price updates, ${pct(mix.orders)} orders`;
}

/** The id of hot product `k` (1..hotProducts): every (products / hotProducts)-th id from 1. */
export function hotProductId(k: number, shape: CatalogShape): number {
  const hot = Math.max(1, Math.min(shape.hotProducts, shape.products));
  return 1 + Math.floor(((k - 1) * shape.products) / hot);
}

function productId(random: Random, shape: CatalogShape): number {
  const hot = Math.min(shape.hotProducts, shape.products);
  return hot > 0 && random() < shape.hotShare ? hotProductId(randomInt(random, 1, hot), shape) : randomInt(random, 1, shape.products);
}

/** Draws the next request from a random stream; the same stream always yields the same requests. */
export function drawRequest(random: Random, mix: TrafficMix, shape: CatalogShape): Request {
  const kind = random();
  if (kind < mix.reads) {
    if (random() < shape.listShare) return { route: 'listCategory', categoryId: randomInt(random, 1, shape.categories) };
    return { route: 'getProduct', productId: productId(random, shape) };
  }
  if (kind < mix.reads + mix.updates) {
    const cents = randomInt(random, 100, 99_999);
    return { route: 'updatePrice', productId: productId(random, shape), price: (cents / 100).toFixed(2) };
  }
  const lines = randomInt(random, 1, 3);
  const items = Array.from({ length: lines }, () => ({ productId: productId(random, shape), quantity: randomInt(random, 1, 3) }));
  return { route: 'placeOrder', customer: `customer-${randomInt(random, 1, shape.customers)}`, lines: items };
}

/** The random stream of one container: seeded by the run's seed and the container's number. */
export function containerRandom(seed: number, container: number): Random {
  return seededRandom((seed + container * 7919) >>> 0);
}

/** The first `count` requests container `container` receives (for tests and previews). */
export function requestSequence(seed: number, container: number, count: number, mix: TrafficMix = DEFAULT_MIX, shape: CatalogShape = DEFAULT_SHAPE): Request[] {
  const random = containerRandom(seed, container);
  return Array.from({ length: count }, () => drawRequest(random, mix, shape));
}
