/**
 * The growth benchmark's scenarios: how the cost of a cachefront hit grows with the number of
 * entries in Redis (`keys`), the tags per entry (`tags`), the value's size (`size`), the batch size
 * of `getMany` (`many`) and the requests in flight (`concurrency`). Every point is measured for
 * cachefront and for raw ioredis (`GET` + `JSON.parse` of a value stored with `SET … PX`) in the
 * same run, one after the other (the order rotated per run), so their ratio compares like with like
 * on a shared 2-core machine.
 *
 * Counts of operations are not fixed: each measurement first warms up for `warmupMs` and then times
 * as many operations as fit in about `measureMs` at the rate seen while warming up — a 1 MB value
 * and a 100-byte one get the same time budget, not the same count.
 */
import { performance } from 'node:perf_hooks';
import { type CacheOptions, createRedisCache, paramKey, tagKey } from '@cachefront/cache';
import { seededRandom } from '@cachefront/mysql';
import { Redis } from 'ioredis';
import { ENTRY_TTL_MS, productRow, productTag, REDIS_URL, sleep } from './fixtures.js';
import { measure, median, quantile, type Throughput } from './measure.js';
import type { RedisAdmin } from './redis-admin.js';

export const GROWTH_SCENARIOS = ['keys', 'tags', 'size', 'many', 'concurrency'] as const;
export type GrowthScenario = (typeof GROWTH_SCENARIOS)[number];

export type SideName = 'cachefront' | 'raw';
export const SIDE_NAMES: readonly SideName[] = ['cachefront', 'raw'];

export const SIDE_LABELS: Readonly<Record<SideName, string>> = {
  cachefront: 'cachefront entity.get',
  raw: 'raw ioredis GET + JSON.parse',
};

/** How long each measurement warms up and runs, and the bounds on its operation count. */
export interface Timing {
  readonly warmupMs: number;
  readonly measureMs: number;
  readonly minOps: number;
  readonly maxOps: number;
}

export interface GrowthPlan {
  readonly timing: Timing;
  readonly keys: { readonly sizes: readonly number[]; readonly sampleKeys: number; readonly inFlight: number };
  readonly tags: { readonly counts: readonly number[]; readonly keys: number; readonly inFlight: number };
  readonly size: {
    readonly bytes: readonly number[];
    /** Entries per size: as many as fit in this many bytes of values, from 16 (one per request in flight) to 1,000. */
    readonly totalBytes: number;
    readonly inFlight: number;
    readonly maxValueBytes: number;
  };
  readonly many: {
    readonly sizes: readonly number[];
    readonly missRates: readonly number[];
    readonly dbDelayMs: number;
    /** Timed batches per point: as many as fit in `budgetMs`, within [minBatches, maxBatches]. */
    readonly budgetMs: number;
    readonly minBatches: number;
    readonly maxBatches: number;
  };
  readonly concurrency: { readonly inFlight: readonly number[]; readonly keys: number };
}

/** The full plan; `quick` shrinks every axis to a smoke test of well under a minute and a half. */
export function growthPlan(quick: boolean): GrowthPlan {
  return {
    timing: quick ? { warmupMs: 100, measureMs: 250, minOps: 50, maxOps: 10_000 } : { warmupMs: 300, measureMs: 1_000, minOps: 100, maxOps: 100_000 },
    keys: { sizes: quick ? [1e3, 1e4] : [1e3, 1e4, 1e5, 1e6], sampleKeys: 100, inFlight: 64 },
    tags: { counts: quick ? [1, 4, 32] : [1, 2, 4, 8, 16, 32], keys: 1_000, inFlight: 64 },
    size: {
      bytes: quick ? [100, 10_000, 1_000_000] : [100, 1_000, 10_000, 100_000, 1_000_000],
      totalBytes: quick ? 4 * 1024 * 1024 : 64 * 1024 * 1024,
      inFlight: 16,
      maxValueBytes: 8 * 1024 * 1024,
    },
    many: {
      sizes: quick ? [10, 100] : [10, 100, 1_000],
      missRates: [0, 0.5, 1],
      dbDelayMs: 2,
      budgetMs: quick ? 150 : 1_500,
      minBatches: quick ? 2 : 3,
      maxBatches: quick ? 10 : 40,
    },
    concurrency: { inFlight: quick ? [1, 16, 256] : [1, 4, 16, 64, 256], keys: 1_000 },
  };
}

/** What every scenario is handed by the runner. */
export interface ScenarioContext {
  readonly run: number;
  readonly prefix: string;
  readonly admin: RedisAdmin;
  readonly plan: GrowthPlan;
  /** Called before every measurement: notes other benchmarks that started meanwhile. */
  readonly watch: () => void;
  readonly log: (line: string) => void;
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/**
 * Ids 1..n in a random order. Reads walk it, so they are spread uniformly over all keys, and
 * requests in flight together are for different keys (no in-process de-duplication can help).
 */
function randomOrder(n: number, random: () => number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i += 1) order[i] = i + 1;
  for (let i = n - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  return order;
}

const ids = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

const rotate = <T>(list: readonly T[], by: number): T[] => list.map((_, i) => list[(i + by) % list.length] as T);

/** Runs `count` tasks, `lanes` at a time: fills use both cores without flooding Redis' input buffer. */
async function inLanes(count: number, lanes: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(lanes, count) }, lane));
}

const chunks = <T>(list: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

/** One side of a comparison: a cache holding rows of one shape under its own keys. */
interface Side {
  readonly name: SideName;
  /** Caches the rows of `ids` (a miss and a fill each): `getMany` batches for cachefront, pipelined `SET … PX` for raw. Resolves to the entries stored. */
  fill(ids: readonly number[]): Promise<number>;
  /** One read, which must be a hit; resolves to the row. */
  get(id: number): Promise<unknown>;
  valueKey(id: number): string;
  /** The tag keys of id's entry (none for raw). */
  tagKeys(id: number): readonly string[];
  /** Rows loaded so far: unchanged across a measurement means every read was a hit. */
  loads(): number;
  /** Reads that fell through to the loader because Redis was slow (past `commandTimeoutMs`) or skipped (breaker open); 0 for raw. */
  fallThroughs(): { timeouts: number; bypasses: number };
  close(): Promise<void>;
}

interface SideSpec {
  /** Entity name (cachefront) and key part (raw): one per point, so points never share keys. */
  readonly name: string;
  readonly row: (id: number) => unknown;
  /** cachefront's tags; `[productTag(id)]` unless the scenario varies them. */
  readonly tags?: (id: number) => readonly string[];
  /** Rows per `getMany` (or pipeline) while filling. */
  readonly fillBatch?: number;
  readonly cacheOptions?: Omit<CacheOptions, 'namespace'>;
}

/**
 * cachefront with its defaults (and the scenario's `cacheOptions`) for reading. Fills go through a
 * second instance on the same namespace and entity, hence the same keys, whose `commandTimeoutMs`
 * is 10 s: a 1,000-entry fill script can take longer than the default 50 ms on a loaded machine,
 * and a timed-out fill would leave entries uncached and turn measured hits into misses.
 */
function cachefrontSide(prefix: string, spec: SideSpec): Side {
  const options = { redis: REDIS_URL, namespace: prefix, ...spec.cacheOptions };
  const cache = createRedisCache(options);
  const filler = createRedisCache({ ...options, commandTimeoutMs: 10_000 });
  const tags = spec.tags ?? ((id: number) => [productTag(id)]);
  const entityOptions = { name: spec.name, ttlMs: ENTRY_TTL_MS, tags: ({ id }: { id: number }) => tags(id) };
  const entity = cache.entity<{ id: number }, unknown>(entityOptions);
  const filling = filler.entity<{ id: number }, unknown>(entityOptions);
  let loaded = 0;
  const loadOne = async ({ id }: { id: number }) => {
    loaded += 1;
    return spec.row(id);
  };
  const loadMany = async (params: readonly { id: number }[]) => {
    loaded += params.length;
    return params.map(({ id }) => spec.row(id));
  };
  return {
    name: 'cachefront',
    async fill(list) {
      const before = filler.stats().fills;
      const batches = chunks(list, spec.fillBatch ?? 1_000);
      await inLanes(batches.length, 2, async (b) => {
        await filling.getMany(
          (batches[b] ?? []).map((id) => ({ id })),
          loadMany,
        );
      });
      return filler.stats().fills - before;
    },
    async get(id) {
      return (await entity.get({ id }, loadOne)).value;
    },
    valueKey: (id) => entity.keys.value(paramKey({ id })),
    tagKeys: (id) => tags(id).map((tag) => tagKey(prefix, tag)),
    loads: () => loaded,
    fallThroughs: () => {
      const { timeouts, bypasses } = cache.stats();
      return { timeouts, bypasses };
    },
    async close() {
      await Promise.all([cache.close(), filler.close()]);
    },
  };
}

function rawSide(prefix: string, spec: SideSpec): Side {
  const redis = new Redis(REDIS_URL);
  const keyOf = (id: number) => `${prefix}:raw-${spec.name}:${id}`;
  let loaded = 0;
  return {
    name: 'raw',
    async fill(list) {
      const batches = chunks(list, spec.fillBatch ?? 1_000);
      let stored = 0;
      await inLanes(batches.length, 4, async (b) => {
        const pipeline = redis.pipeline();
        for (const id of batches[b] ?? []) pipeline.set(keyOf(id), JSON.stringify(spec.row(id)), 'PX', ENTRY_TTL_MS);
        loaded += batches[b]?.length ?? 0;
        const results = (await pipeline.exec()) ?? [];
        stored += results.filter(([error]) => error === null).length;
      });
      return stored;
    },
    async get(id) {
      const text = await redis.get(keyOf(id));
      if (text === null) throw new Error(`raw: the key of ${spec.name} ${id} is not cached`);
      return JSON.parse(text) as unknown;
    },
    valueKey: keyOf,
    tagKeys: () => [],
    loads: () => loaded,
    fallThroughs: () => ({ timeouts: 0, bypasses: 0 }),
    async close() {
      await redis.quit();
    },
  };
}

const createSide = (name: SideName, prefix: string, spec: SideSpec): Side => (name === 'cachefront' ? cachefrontSide(prefix, spec) : rawSide(prefix, spec));

/** Fills `list`, and says so when some entries were not stored: their reads would be misses (counted, in the report's misses column). */
async function fillAll(ctx: ScenarioContext, side: Side, list: readonly number[]): Promise<void> {
  const stored = await side.fill(list);
  if (stored < list.length) ctx.log(`  WARNING: ${side.name} stored ${stored} of ${list.length} entries`);
}

/**
 * Warms `op` at `concurrency` (JIT, connection, Redis) for about `warmupMs`, doubling the batch
 * each round, and returns the ops/s of the last round: the basis for how many ops to time.
 */
async function warmUp(op: () => Promise<unknown>, concurrency: number, timing: Timing): Promise<number> {
  const started = performance.now();
  let ops = Math.max(20, concurrency * 2);
  let rate = 0;
  for (let round = 0; round < 20; round += 1) {
    rate = (await measure(op, ops, concurrency)).opsPerSec;
    if (performance.now() - started >= timing.warmupMs) break;
    ops *= 2;
  }
  return rate;
}

/** Warms up, then times about `measureMs` worth of `op` at `concurrency`. */
async function timed(op: () => Promise<unknown>, concurrency: number, timing: Timing): Promise<Throughput> {
  const rate = await warmUp(op, concurrency, timing);
  const wanted = Math.round((rate * timing.measureMs) / 1000);
  const ops = Math.min(timing.maxOps, Math.max(timing.minOps, concurrency * 8, wanted));
  return measure(op, ops, concurrency);
}

/** Reads walk `order` from where the previous measurement stopped, so timed reads are not the warm-up's keys again. */
function walker(side: Side, order: Int32Array): () => Promise<unknown> {
  let cursor = 0;
  return () => side.get(order[cursor++ % order.length] as number);
}

export interface HitCost {
  readonly sequential: Throughput;
  /** Mean of the sequential reads (µs): 1 / ops/s at one in flight. */
  readonly sequentialMeanUs: number;
  readonly concurrent: Throughput;
  readonly inFlight: number;
  /** Rows loaded while measuring: must be 0 (every read a hit). */
  readonly loadsWhileMeasuring: number;
  /** Of the cachefront reads while measuring: Redis calls past `commandTimeoutMs`, and reads the open breaker sent straight to the loader. */
  readonly timeoutsWhileMeasuring: number;
  readonly bypassesWhileMeasuring: number;
}

async function hitCost(side: Side, order: Int32Array, inFlight: number, timing: Timing): Promise<HitCost> {
  const before = side.loads();
  const failed = side.fallThroughs();
  const op = walker(side, order);
  const sequential = await timed(op, 1, timing);
  const concurrent = await timed(op, inFlight, timing);
  const after = side.fallThroughs();
  return {
    sequential,
    sequentialMeanUs: 1e6 / sequential.opsPerSec,
    concurrent,
    inFlight,
    loadsWhileMeasuring: side.loads() - before,
    timeoutsWhileMeasuring: after.timeouts - failed.timeouts,
    bypassesWhileMeasuring: after.bypasses - failed.bypasses,
  };
}

const describeHit = (hit: HitCost) =>
  `seq ${hit.sequentialMeanUs.toFixed(0)} µs, ${hit.inFlight} in flight ${Math.round(hit.concurrent.opsPerSec)} ops/s, CPU ${hit.concurrent.cpuUsPerOp.toFixed(1)} µs/hit${hit.loadsWhileMeasuring > 0 ? `, ${hit.loadsWhileMeasuring} MISSES (${hit.timeoutsWhileMeasuring} Redis timeouts, ${hit.bypassesWhileMeasuring} bypasses)` : ''}`;

/** `used_memory` once Redis has no lazy frees pending (a delete of the previous point still freeing would skew the baseline). */
async function usedMemory(admin: RedisAdmin): Promise<number> {
  let info = '';
  for (let i = 0; i < 100; i += 1) {
    info = await admin.redis.info('memory');
    if (/lazyfree_pending_objects:0\b/.test(info)) break;
    await sleep(50);
  }
  const used = /used_memory:(\d+)/.exec(info)?.[1];
  if (used === undefined) throw new Error('INFO memory has no used_memory');
  return Number(used);
}

async function memoryUsage(admin: RedisAdmin, key: string): Promise<number> {
  const bytes = await admin.redis.call('MEMORY', 'USAGE', key);
  if (typeof bytes !== 'number') throw new Error(`MEMORY USAGE: ${key} is not in Redis`);
  return bytes;
}

async function storedBytes(admin: RedisAdmin, key: string): Promise<number> {
  const bytes = await admin.redis.strlen(key);
  if (bytes === 0) throw new Error(`STRLEN: ${key} is not in Redis`);
  return bytes;
}

/** Removes the run's keys after a point, timed (the next point's memory baseline needs them gone). */
async function clear(ctx: ScenarioContext): Promise<number> {
  const started = performance.now();
  await ctx.admin.deleteByPrefix(ctx.prefix);
  return performance.now() - started;
}

/**
 * Warms both sides' hit and fill paths once per process, untimed, for five warm-ups' time at 1 and
 * 64 in flight: without it the first point of the first scenario measures V8 compiling cachefront
 * (a p99 of milliseconds) and every curve seems to fall from its first point.
 */
export async function warmUpProcess(ctx: ScenarioContext): Promise<void> {
  const keys = 1_000;
  const sides = SIDE_NAMES.map((name) => createSide(name, ctx.prefix, { name: 'warmup', row: productRow }));
  const long = { ...ctx.plan.timing, warmupMs: ctx.plan.timing.warmupMs * 5 };
  try {
    for (const side of sides) await fillAll(ctx, side, ids(1, keys));
    const order = randomOrder(keys, seededRandom(keys));
    for (const side of sides) {
      const op = walker(side, order);
      await warmUp(op, 1, long);
      await warmUp(op, 64, long);
    }
  } finally {
    await Promise.all(sides.map((side) => side.close()));
    await clear(ctx);
  }
}

// ---------------------------------------------------------------------------------------------
// 1. keys

export interface KeysPoint {
  readonly keys: number;
  readonly side: SideName;
  readonly fillMs: number;
  /** `used_memory` after the fill minus before, divided by the entries. */
  readonly memoryPerEntry: number;
  /** Median `MEMORY USAGE` of the value key, over a sample of keys. */
  readonly memoryUsageValue: number;
  /** Median `MEMORY USAGE` of the entry's tag keys (its own `product:<id>` tag; 0 for raw). */
  readonly memoryUsageTags: number;
  readonly deleteMs: number;
  readonly hit: HitCost;
}

async function sampleMemory(ctx: ScenarioContext, side: Side, sample: readonly number[]): Promise<{ value: number; tags: number }> {
  const values: number[] = [];
  const tags: number[] = [];
  for (const id of sample) {
    values.push(await memoryUsage(ctx.admin, side.valueKey(id)));
    let sum = 0;
    for (const key of side.tagKeys(id)) sum += await memoryUsage(ctx.admin, key);
    tags.push(sum);
  }
  return { value: median(values), tags: median(tags) };
}

async function keysPoint(ctx: ScenarioContext, name: SideName, keys: number): Promise<KeysPoint> {
  const side = createSide(name, ctx.prefix, { name: 'product', row: productRow });
  try {
    // Entry 0 first: the connection, its buffers and the Lua scripts exist before the baseline.
    await fillAll(ctx, side, [0]);
    const before = await usedMemory(ctx.admin);
    const started = performance.now();
    await fillAll(ctx, side, ids(1, keys));
    const fillMs = performance.now() - started;
    const memoryPerEntry = ((await usedMemory(ctx.admin)) - before) / keys;
    const order = randomOrder(keys, seededRandom(keys));
    const memory = await sampleMemory(ctx, side, Array.from(order.subarray(0, ctx.plan.keys.sampleKeys)));
    ctx.watch();
    const hit = await hitCost(side, order, ctx.plan.keys.inFlight, ctx.plan.timing);
    return { keys, side: name, fillMs, memoryPerEntry, memoryUsageValue: memory.value, memoryUsageTags: memory.tags, deleteMs: 0, hit };
  } finally {
    await side.close();
  }
}

export async function runKeys(ctx: ScenarioContext): Promise<KeysPoint[]> {
  const out: KeysPoint[] = [];
  for (const keys of ctx.plan.keys.sizes) {
    for (const name of rotate(SIDE_NAMES, ctx.run)) {
      const point = await keysPoint(ctx, name, keys);
      // deleteByPrefix (SCAN + UNLINK) removes 100,000 keys in ~0.25 s here, 1e6 entries (2e6 keys for cachefront) in seconds: fast enough.
      const deleteMs = await clear(ctx);
      out.push({ ...point, deleteMs });
      ctx.log(
        `  keys ${keys.toLocaleString('en-US').padStart(9)} ${name.padEnd(10)} fill ${(point.fillMs / 1000).toFixed(1)} s, ${point.memoryPerEntry.toFixed(0)} B/entry, ${describeHit(point.hit)}, delete ${(deleteMs / 1000).toFixed(1)} s`,
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 2. tags

export interface TagsPoint {
  /** Tags per entry; 0 for raw (no tags: the same baseline at every point). */
  readonly tags: number;
  readonly side: SideName;
  readonly storedBytes: number;
  readonly hit: HitCost;
}

/** `count` tags: the entry's own, its brand's (50 brands), then tags shared by a seventh of the entries each. */
export function tagsFor(id: number, count: number): string[] {
  const out = [productTag(id), `brand:${id % 50}`];
  for (let k = 2; k < count; k += 1) out.push(`t${k}:${id % 7}`);
  return out.slice(0, count);
}

async function tagsPoint(ctx: ScenarioContext, name: SideName, tags: number): Promise<TagsPoint> {
  const { keys, inFlight } = ctx.plan.tags;
  const side = createSide(name, ctx.prefix, { name: `tags${tags}`, row: productRow, tags: (id) => tagsFor(id, tags) });
  try {
    await fillAll(ctx, side, ids(1, keys));
    const stored = await storedBytes(ctx.admin, side.valueKey(1));
    ctx.watch();
    const hit = await hitCost(side, randomOrder(keys, seededRandom(tags)), inFlight, ctx.plan.timing);
    return { tags: name === 'raw' ? 0 : tags, side: name, storedBytes: stored, hit };
  } finally {
    await side.close();
    await clear(ctx);
  }
}

export async function runTags(ctx: ScenarioContext): Promise<TagsPoint[]> {
  const out: TagsPoint[] = [];
  const logPoint = (point: TagsPoint) =>
    ctx.log(`  tags ${String(point.tags).padStart(2)} ${point.side.padEnd(10)} ${point.storedBytes} B stored, ${describeHit(point.hit)}`);
  // Raw has no tags: one baseline per run, measured first on even runs and last on odd ones.
  const rawFirst = ctx.run % 2 === 0;
  if (rawFirst) out.push(await tagsPoint(ctx, 'raw', 0));
  for (const tags of ctx.plan.tags.counts) {
    const point = await tagsPoint(ctx, 'cachefront', tags);
    out.push(point);
    logPoint(point);
  }
  if (!rawFirst) out.push(await tagsPoint(ctx, 'raw', 0));
  const raw = out.find((p) => p.side === 'raw');
  if (raw) logPoint(raw);
  return out;
}

// ---------------------------------------------------------------------------------------------
// 3. size

export interface SizePoint {
  /** JSON bytes of the row. */
  readonly bytes: number;
  readonly side: SideName;
  readonly keys: number;
  /** STRLEN of the stored value (median over a sample). */
  readonly storedBytes: number;
  /** Whether cachefront stored the payload deflated (the entry's flags byte); false for raw. */
  readonly compressed: boolean;
  readonly hit: HitCost;
}

/** Words of product copy: random picks from a small dictionary compress about as real text does (~3×), unlike a repeated character. */
const WORDS =
  'the a of and to in for with is on that by this steel bottle lid insulated cold hot hours leak proof grip dishwasher safe free fits cup holder double walled vacuum brushed finish powder coated travel office outdoor camping hiking durable lightweight capacity ml litre keeps drinks fresh ice coffee tea water bpa easy clean wide mouth handle strap colour matte black white blue green red grey silver premium quality warranty year gift kids adults sport gym bike school daily use rust resistant food grade stainless 18/8 seal ring cap spout straw'.split(
    ' ',
  );

function wordsText(length: number, random: () => number): string {
  const parts: string[] = [];
  let size = 0;
  while (size < length) {
    const word = WORDS[Math.floor(random() * WORDS.length)] ?? 'the';
    parts.push(word);
    size += word.length + 1;
  }
  return parts.join(' ').slice(0, Math.max(0, length));
}

/** A row of about `bytes` bytes of JSON: an id, a SKU and a body of words padded to the size. */
export function sizedRow(bytes: number): (id: number) => unknown {
  const text = wordsText(bytes, seededRandom(bytes));
  return (id) => {
    const head = { id, sku: `SKU-${String(id).padStart(8, '0')}`, body: '' };
    return { ...head, body: text.slice(0, Math.max(1, bytes - JSON.stringify(head).length)) };
  };
}

async function sizePoint(ctx: ScenarioContext, name: SideName, bytes: number): Promise<SizePoint> {
  const { totalBytes, inFlight, maxValueBytes } = ctx.plan.size;
  const keys = Math.max(inFlight, Math.min(1_000, Math.floor(totalBytes / bytes)));
  const row = sizedRow(bytes);
  const side = createSide(name, ctx.prefix, {
    name: `size${bytes}`,
    row,
    fillBatch: Math.max(1, Math.min(1_000, Math.floor((8 * 1024 * 1024) / bytes))),
    cacheOptions: { maxValueBytes },
  });
  try {
    await fillAll(ctx, side, ids(1, keys));
    const sample = ids(1, Math.min(keys, 20));
    const stored = median(await Promise.all(sample.map((id) => storedBytes(ctx.admin, side.valueKey(id)))));
    const flags = name === 'cachefront' ? (await ctx.admin.redis.getrangeBuffer(side.valueKey(1), 1, 1))[0] : 0;
    ctx.watch();
    const hit = await hitCost(side, randomOrder(keys, seededRandom(bytes)), inFlight, ctx.plan.timing);
    return { bytes: Buffer.byteLength(JSON.stringify(row(1))), side: name, keys, storedBytes: stored, compressed: flags === 1, hit };
  } finally {
    await side.close();
    await clear(ctx);
  }
}

export async function runSize(ctx: ScenarioContext): Promise<SizePoint[]> {
  const out: SizePoint[] = [];
  for (const bytes of ctx.plan.size.bytes) {
    for (const name of rotate(SIDE_NAMES, ctx.run)) {
      const point = await sizePoint(ctx, name, bytes);
      out.push(point);
      ctx.log(
        `  size ${String(point.bytes).padStart(8)} B ${name.padEnd(10)} ${point.keys} keys, ${point.storedBytes} B stored${point.compressed ? ' (deflated)' : ''}, ${describeHit(point.hit)}`,
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 4. many

export type ManyApproach = 'getMany' | 'loop' | 'raw-mget' | 'raw-loop';
export const MANY_APPROACHES: readonly ManyApproach[] = ['getMany', 'loop', 'raw-mget', 'raw-loop'];
export const MANY_LABELS: Readonly<Record<ManyApproach, string>> = {
  getMany: 'cachefront entity.getMany',
  loop: 'cachefront: await entity.get() in a loop',
  'raw-mget': 'raw ioredis MGET + loader + pipeline SET',
  'raw-loop': 'raw ioredis: GET (+ loader + SET) in a loop',
};

export interface ManyPoint {
  readonly approach: ManyApproach;
  readonly size: number;
  readonly missRate: number;
  readonly batches: number;
  readonly medianBatchMs: number;
  readonly p99BatchMs: number;
  readonly loaderCallsPerBatch: number;
  readonly rowsLoadedPerBatch: number;
}

/** The database: answers after `delayMs` per call, however many ids (a `WHERE id IN (...)`); counts calls and rows. */
class SlowDatabase {
  calls = 0;
  rows = 0;
  constructor(private readonly delayMs: number) {}
  async load(list: readonly number[]): Promise<unknown[]> {
    this.calls += 1;
    this.rows += list.length;
    await sleep(this.delayMs);
    return list.map(productRow);
  }
}

interface BatchReader {
  /** Caches `ids` without the database's delay (setup, untimed). */
  warm(ids: readonly number[]): Promise<void>;
  /** One row per id, in order. */
  read(ids: readonly number[]): Promise<readonly unknown[]>;
  close(): Promise<void>;
}

function cachefrontReader(prefix: string, approach: 'getMany' | 'loop', db: SlowDatabase): BatchReader {
  const cache = createRedisCache({ redis: REDIS_URL, namespace: prefix });
  const entity = cache.entity<{ id: number }, unknown>({ name: `many-${approach}`, ttlMs: ENTRY_TTL_MS, tags: ({ id }) => [productTag(id)] });
  const params = (list: readonly number[]) => list.map((id) => ({ id }));
  return {
    async warm(list) {
      for (const batch of chunks(list, 1_000)) await entity.getMany(params(batch), async (ps) => ps.map(({ id }) => productRow(id)));
    },
    async read(list) {
      if (approach === 'getMany') return (await entity.getMany(params(list), (ps) => db.load(ps.map(({ id }) => id)))).map((r) => r.value);
      const out: unknown[] = [];
      for (const id of list) out.push((await entity.get({ id }, async () => (await db.load([id]))[0])).value);
      return out;
    },
    close: () => cache.close(),
  };
}

function rawReader(prefix: string, approach: 'raw-mget' | 'raw-loop', db: SlowDatabase): BatchReader {
  const redis = new Redis(REDIS_URL);
  const keyOf = (id: number) => `${prefix}:${approach}:${id}`;
  const store = async (rows: readonly unknown[], list: readonly number[]) => {
    const pipeline = redis.pipeline();
    rows.forEach((row, i) => {
      pipeline.set(keyOf(list[i] ?? 0), JSON.stringify(row), 'PX', ENTRY_TTL_MS);
    });
    await pipeline.exec();
  };
  const mget = async (list: readonly number[]) => {
    const cached = await redis.mget(list.map(keyOf));
    const out: unknown[] = cached.map((text) => (text === null ? undefined : (JSON.parse(text) as unknown)));
    const missing = list.filter((_, i) => cached[i] === null);
    if (missing.length === 0) return out;
    const rows = await db.load(missing);
    await store(rows, missing);
    let next = 0;
    return out.map((value) => value ?? rows[next++]);
  };
  const loop = async (list: readonly number[]) => {
    const out: unknown[] = [];
    for (const id of list) {
      const text = await redis.get(keyOf(id));
      if (text !== null) {
        out.push(JSON.parse(text) as unknown);
        continue;
      }
      const row = (await db.load([id]))[0];
      await redis.set(keyOf(id), JSON.stringify(row), 'PX', ENTRY_TTL_MS);
      out.push(row);
    }
    return out;
  };
  return {
    async warm(list) {
      for (const batch of chunks(list, 1_000)) await store(batch.map(productRow), batch);
    },
    read: approach === 'raw-mget' ? mget : loop,
    async close() {
      await redis.quit();
    },
  };
}

/**
 * `size` ids of which `missRate` were never read: the misses spread evenly through the batch
 * (Bresenham), the hits always the same warm ids 1..n, the misses new every batch.
 */
function batchMaker(size: number, missRate: number): () => number[] {
  let nextCold = 10_000_000;
  return () => {
    let warm = 1;
    return Array.from({ length: size }, (_, i) => (Math.floor((i + 1) * missRate) > Math.floor(i * missRate) ? nextCold++ : warm++));
  };
}

async function manyPoint(ctx: ScenarioContext, approach: ManyApproach, size: number, missRate: number): Promise<ManyPoint> {
  const plan = ctx.plan.many;
  const db = new SlowDatabase(plan.dbDelayMs);
  const reader = approach === 'getMany' || approach === 'loop' ? cachefrontReader(ctx.prefix, approach, db) : rawReader(ctx.prefix, approach, db);
  try {
    await reader.warm(ids(1, size));
    const batch = batchMaker(size, missRate);
    const readChecked = async () => {
      const list = batch();
      const started = performance.now();
      const values = await reader.read(list);
      const ms = performance.now() - started;
      if (values.length !== list.length || values.some((v) => v === undefined)) throw new Error(`many ${approach}: a batch came back incomplete`);
      return ms;
    };
    // One untimed batch warms up and tells how many fit in the budget (the loop at 1,000 misses takes seconds).
    const estimate = await readChecked();
    const batches = Math.min(plan.maxBatches, Math.max(plan.minBatches, Math.floor(plan.budgetMs / Math.max(estimate, 0.01))));
    const [calls, rows] = [db.calls, db.rows];
    ctx.watch();
    const times: number[] = [];
    for (let b = 0; b < batches; b += 1) times.push(await readChecked());
    return {
      approach,
      size,
      missRate,
      batches,
      medianBatchMs: median(times),
      p99BatchMs: quantile(
        [...times].sort((a, b) => a - b),
        0.99,
      ),
      loaderCallsPerBatch: (db.calls - calls) / batches,
      rowsLoadedPerBatch: (db.rows - rows) / batches,
    };
  } finally {
    await reader.close();
  }
}

export async function runMany(ctx: ScenarioContext): Promise<ManyPoint[]> {
  const out: ManyPoint[] = [];
  for (const size of ctx.plan.many.sizes) {
    for (const missRate of ctx.plan.many.missRates) {
      for (const approach of rotate(MANY_APPROACHES, ctx.run)) {
        const point = await manyPoint(ctx, approach, size, missRate);
        out.push(point);
        ctx.log(
          `  many ${String(size).padStart(4)} × ${String(missRate * 100).padStart(3)}% misses ${approach.padEnd(8)} ${point.medianBatchMs.toFixed(2)} ms per batch (${point.batches} batches, ${point.loaderCallsPerBatch} loader calls each)`,
        );
      }
      await clear(ctx);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 5. concurrency

export interface ConcurrencyPoint {
  readonly inFlight: number;
  readonly side: SideName;
  readonly throughput: Throughput;
  readonly loadsWhileMeasuring: number;
  readonly timeoutsWhileMeasuring: number;
  readonly bypassesWhileMeasuring: number;
}

export async function runConcurrency(ctx: ScenarioContext): Promise<ConcurrencyPoint[]> {
  const { keys, inFlight } = ctx.plan.concurrency;
  const sides = SIDE_NAMES.map((name) => createSide(name, ctx.prefix, { name: 'conc', row: productRow }));
  const out: ConcurrencyPoint[] = [];
  try {
    for (const side of sides) await fillAll(ctx, side, ids(1, keys));
    const order = randomOrder(keys, seededRandom(keys));
    const walkers = new Map(sides.map((side) => [side, walker(side, order)]));
    for (const n of inFlight) {
      for (const side of rotate(sides, ctx.run)) {
        const before = side.loads();
        const failed = side.fallThroughs();
        ctx.watch();
        const throughput = await timed(walkers.get(side) ?? (() => side.get(1)), n, ctx.plan.timing);
        const after = side.fallThroughs();
        out.push({
          inFlight: n,
          side: side.name,
          throughput,
          loadsWhileMeasuring: side.loads() - before,
          timeoutsWhileMeasuring: after.timeouts - failed.timeouts,
          bypassesWhileMeasuring: after.bypasses - failed.bypasses,
        });
        ctx.log(
          `  concurrency ${String(n).padStart(3)} ${side.name.padEnd(10)} ${Math.round(throughput.opsPerSec)} ops/s, p50 ${throughput.p50Ms.toFixed(3)} ms, p99 ${throughput.p99Ms.toFixed(3)} ms, CPU ${throughput.cpuUsPerOp.toFixed(1)} µs/hit`,
        );
      }
    }
  } finally {
    await Promise.all(sides.map((side) => side.close()));
    await clear(ctx);
  }
  return out;
}
