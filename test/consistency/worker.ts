/**
 * One process of a history run (run with tsx by run.ts): several data layers, each with its own
 * connector, Redis client and cache — as separate Lambda containers would have — and several
 * operations in flight on each, on a small key space, with loaders that stall at random after
 * their SELECT (the stale-fill race). Every operation is recorded (history.ts) and the history
 * written to a file when the run's time is up.
 */
import { writeFileSync } from 'node:fs';
import { createRedisCache } from '@cachefront/cache';
import { createDataLayer, defineRepository } from '@cachefront/core';
import { createConnector, mysqlDatabase, type ReadRoutingOptions, sql } from '@cachefront/mysql';
import { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import type { Op, Outcome } from './history.js';

/** What the layers of one worker did, summed: the figures docs/RELIABILITY.md reports per fault. */
export interface LayerFigures {
  hits: number;
  misses: number;
  loads: number;
  fills: number;
  fillsRejected: number;
  leaseWaits: number;
  bypasses: number;
  redisTimeouts: number;
  redisErrors: number;
  redisReconnects: number;
  /** Invalidation attempts that failed (and were retried, or ended in InvalidationPendingError). */
  invalidationFailures: number;
  mysqlReconnects: number;
  mysqlRetries: number;
  /** Loads answered by a read replica (runs with one), and by the writer. */
  readerLoads: number;
  writerLoads: number;
}

export function emptyFigures(): LayerFigures {
  return {
    hits: 0,
    misses: 0,
    loads: 0,
    fills: 0,
    fillsRejected: 0,
    leaseWaits: 0,
    bypasses: 0,
    redisTimeouts: 0,
    redisErrors: 0,
    redisReconnects: 0,
    invalidationFailures: 0,
    mysqlReconnects: 0,
    mysqlRetries: 0,
    readerLoads: 0,
    writerLoads: 0,
  };
}

export interface WorkerHistory {
  readonly ops: Op[];
  readonly figures: LayerFigures;
}

export interface WorkerConfig {
  readonly index: number;
  readonly seed: number;
  /** Epoch ms at which every worker starts, and how long it runs. */
  readonly startAt: number;
  readonly durationMs: number;
  readonly layers: number;
  /** Operations in flight per layer. */
  readonly concurrency: number;
  readonly keys: number;
  readonly writeRatio: number;
  /** The items' TTL. */
  readonly ttlMs: number;
  /** Share of reads that go through getMany (3 keys). */
  readonly batchRatio: number;
  /** Share of loads that stall after their SELECT, and for how long at most. */
  readonly slowLoadRatio: number;
  readonly slowLoadMaxMs: number;
  readonly mysql: { host: string; port: number; user: string; password: string; database: string };
  /**
   * A read replica of `mysql` (same account) for the loads, and how fills stay lag-safe: `window` or
   * `position` — or `off` (the negative control: no lag safety at all, so the checker must fail).
   */
  readonly replica?: { readonly host: string; readonly port: number; readonly lagSafety: 'window' | 'position' | 'off' };
  readonly redis: { readonly standalone: { host: string; port: number } } | { readonly cluster: ReadonlyArray<{ host: string; port: number }> };
  readonly namespace: string;
  /** `skip-invalidation`: the negative control — writes commit without invalidating, so the checker must fail. */
  readonly mode: 'normal' | 'skip-invalidation';
  readonly historyFile: string;
}

/** Microseconds on CLOCK_MONOTONIC, which every process of the machine shares. */
export const clock = (): number => Number(process.hrtime.bigint() / 1000n);

/** mulberry32: a small seeded PRNG, so a run can be replayed. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const Item = z.object({ id: z.number(), version: z.number() });

function outcomeOf(error: unknown): { outcome: Outcome; outboxId?: number; error: string } {
  const record = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    mayHaveCommitted?: unknown;
    outboxId?: unknown;
    driverCode?: unknown;
  };
  const base = typeof record.code === 'string' ? record.code : error instanceof Error ? error.name : 'unknown';
  const code =
    typeof record.driverCode === 'string' ? `${base}/${record.driverCode}${process.env['CF_HISTORY_MESSAGES'] ? ` ${(error as Error).message}` : ''}` : base;
  if (base === 'E_INVALIDATION_PENDING') {
    return { outcome: 'pending', error: code, ...(typeof record.outboxId === 'number' ? { outboxId: record.outboxId } : {}) };
  }
  if (record.mayHaveCommitted === true) return { outcome: 'unknown', error: code };
  return { outcome: 'failed', error: code };
}

/** A layer's connector to `connection` (the writer, or the replica): short timeouts, so faults show quickly. */
function connectorTo(config: WorkerConfig, connection: WorkerConfig['mysql']) {
  return createConnector({
    connection,
    maxConnections: config.concurrency,
    manageConns: false,
    connectTimeoutMs: 1000,
    acquireTimeoutMs: 5000,
    queryTimeoutMs: 3000,
    backoffCapMs: 50,
  });
}

/** The layer's read replica, if the run has one: its own connector, on the same account. */
function readersOf(config: WorkerConfig): ReadRoutingOptions | undefined {
  const { replica } = config;
  if (!replica) return undefined;
  const reader = connectorTo(config, { ...config.mysql, host: replica.host, port: replica.port });
  if (replica.lagSafety === 'off') return { readers: [reader], lagSafety: 'window', lagWindowMs: 0 };
  // The window covers the longest lag the run injects (1 s) and the replica's catching up after it.
  return { readers: [reader], lagSafety: replica.lagSafety, lagWindowMs: 2500, positionWaitMs: 500, readerRetryMs: 1000 };
}

async function main(config: WorkerConfig): Promise<void> {
  const random = seeded(config.seed * 1000 + config.index);
  const ops: Op[] = [];
  let invalidationFailures = 0;
  const endpoints = { reader: 0, writer: 0 };
  const layers = Array.from({ length: config.layers }, (_, layerIndex) => {
    const db = connectorTo(config, config.mysql);
    const client =
      'standalone' in config.redis
        ? new Redis({ ...config.redis.standalone, maxRetriesPerRequest: 1 })
        : new Cluster([...config.redis.cluster], { enableAutoPipelining: true, redisOptions: { maxRetriesPerRequest: 1 } });
    client.on('error', () => {});
    const cache = createRedisCache({ redis: client, namespace: config.namespace });
    cache.on('timeout', ({ operation }) => {
      if (operation === 'invalidate') invalidationFailures += 1;
    });
    cache.on('error', ({ operation }) => {
      if (operation === 'invalidate') invalidationFailures += 1;
    });
    const layer = createDataLayer({ cache, database: mysqlDatabase(db, { replicas: readersOf(config) }) });
    const loadRandom = seeded(config.seed * 7919 + config.index * 101 + layerIndex);
    const answered = (conn: unknown) => {
      if (conn === db) endpoints.writer += 1;
      else endpoints.reader += 1;
    };
    const stall = async () => {
      if (loadRandom() < config.slowLoadRatio) await sleep(loadRandom() * config.slowLoadMaxMs);
    };
    const items = layer.repository(
      defineRepository({
        name: 'item',
        params: z.object({ id: z.number().int() }),
        value: Item,
        ttlMs: config.ttlMs,
        tags: ({ id }) => [`item:${id}`],
        load: async (conn, { id }) => {
          const [row] = await conn.query<{ id: number; version: number }>(sql`SELECT id, version FROM item WHERE id = ${id}`);
          answered(conn);
          await stall(); // after the SELECT: a write can commit and invalidate before this fills
          return { id: Number(row?.id), version: Number(row?.version) };
        },
        loadMany: async (conn, list) => {
          const rows = await conn.query<{ id: number; version: number }>(sql`SELECT id, version FROM item WHERE id IN (${sql.list(list.map((p) => p.id))})`);
          answered(conn);
          await stall();
          const byId = new Map(rows.map((row) => [Number(row.id), Number(row.version)]));
          return list.map(({ id }) => ({ id, version: byId.get(id) ?? -1 }));
        },
      }),
    );
    return { layerIndex, db, client, cache, layer, items };
  });

  let writes = 0;
  const bump =
    (id: number, writeId: string, into: { version?: number }) =>
    async (tx: { execute(statement: ReturnType<typeof sql.raw>): Promise<{ insertId: number }> }) => {
      const header = await tx.execute(sql`UPDATE item SET version = LAST_INSERT_ID(version + 1) WHERE id = ${id}`);
      into.version = header.insertId;
      await tx.execute(sql`INSERT INTO write_log (write_id, item_id, version) VALUES (${writeId}, ${id}, ${header.insertId})`);
      return header.insertId;
    };

  await sleep(Math.max(0, config.startAt - Date.now()));
  const endAt = Date.now() + config.durationMs;
  const lane = async (entry: (typeof layers)[number]) => {
    while (Date.now() < endAt) {
      const key = 1 + Math.floor(random() * config.keys);
      const base = { process: config.index, layer: entry.layerIndex, key };
      if (random() < config.writeRatio) {
        const into: { version?: number } = {};
        writes += 1;
        const id = `${config.index}-${entry.layerIndex}-${writes}`;
        const start = clock();
        try {
          // Half the writes refill their entry after COMMIT (write-through, the default), half do not.
          const warm = random() < 0.5;
          const version =
            config.mode === 'skip-invalidation'
              ? await entry.db.transaction(bump(key, id, into))
              : await entry.items.write({ id: key }, bump(key, id, into), { warm });
          ops.push({ kind: 'write', id, ...base, start, end: clock(), outcome: 'ok', version });
        } catch (error) {
          ops.push({ kind: 'write', id, ...base, start, end: clock(), version: into.version, ...outcomeOf(error) });
        }
      } else if (random() < config.batchRatio) {
        const ids = [key, 1 + Math.floor(random() * config.keys), 1 + Math.floor(random() * config.keys)];
        const start = clock();
        try {
          const values = await entry.items.getMany(ids.map((id) => ({ id })));
          const end = clock();
          // getMany returns values only: their status is not known, so they are checked as fresh answers.
          values.forEach((value, i) => {
            ops.push({ kind: 'read', ...base, key: ids[i] as number, start, end, version: value.version, status: 'miss', batch: true });
          });
        } catch (error) {
          for (const id of ids)
            ops.push({ kind: 'read', ...base, key: id, start, end: clock(), version: undefined, error: outcomeOf(error).error, batch: true });
        }
      } else {
        const start = clock();
        try {
          const result = await entry.items.read({ id: key });
          ops.push({ kind: 'read', ...base, start, end: clock(), version: result.value.version, status: result.status });
        } catch (error) {
          ops.push({ kind: 'read', ...base, start, end: clock(), version: undefined, error: outcomeOf(error).error });
        }
      }
    }
  };
  await Promise.all(layers.flatMap((entry) => Array.from({ length: config.concurrency }, () => lane(entry))));
  // Whatever each layer still owes (pending invalidations in memory or in the outbox) is replayed.
  for (const entry of layers) await entry.layer.drain().catch(() => undefined);
  const figures = { ...emptyFigures(), invalidationFailures };
  for (const entry of layers) {
    const cacheStats = entry.cache.stats();
    const dbStats = entry.db.stats();
    figures.hits += cacheStats.hits;
    figures.misses += cacheStats.misses;
    figures.loads += cacheStats.loads;
    figures.fills += cacheStats.fills;
    figures.fillsRejected += cacheStats.fillsRejected;
    figures.leaseWaits += cacheStats.leaseWaits;
    figures.bypasses += cacheStats.bypasses;
    figures.redisTimeouts += cacheStats.timeouts;
    figures.redisErrors += cacheStats.errors;
    figures.redisReconnects += cacheStats.reconnects;
    figures.mysqlReconnects += dbStats.reconnects;
    figures.mysqlRetries += dbStats.retries;
  }
  figures.readerLoads = endpoints.reader;
  figures.writerLoads = endpoints.writer;
  const history: WorkerHistory = { ops, figures };
  writeFileSync(config.historyFile, JSON.stringify(history));
  for (const entry of layers) {
    await entry.db.quit();
    await entry.cache.close();
    entry.client.disconnect();
  }
}

const raw = process.env['CF_HISTORY_WORKER'];
if (raw) {
  main(JSON.parse(raw) as WorkerConfig).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
