/**
 * The read-replica benchmark, on a throwaway MariaDB primary and its GTID replica
 * (scripts/mariadb-replica.sh) and the Redis of CACHEFRONT_REDIS_URL (default
 * redis://127.0.0.1:6379). Two parts, every contender side by side in each run, order rotated;
 * `--runs N` reports the medians of N runs.
 *
 * 1. The cost of a miss (sequential, a key never read before, its tag known for long):
 *    mysql2's SELECT on the writer and on the replica (the floor), and a cachefront repository miss
 *    (read, load, fill) loading from the writer and from the replica.
 * 2. Lag-safe fills, read after write: a write (`repo.write`, no refill) and then a read of the
 *    same key, a cycle after another. Per lag safety: the write's and the read's latency, who
 *    answered the read's load, and whether the read returned the row just written. 'none' is the
 *    control without lag safety (a window of 0): what it costs to be right.
 *
 *   pnpm bench:replicas -- --runs 5
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { createRedisCache } from '@cachefront/cache';
import { createDataLayer, defineRepository } from '@cachefront/core';
import { type Connector, createConnector, type LagSafety, mysqlDatabase, sql } from '@cachefront/mysql';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { z } from 'zod';
import { runsFlag } from '../cache/flags.js';
import { median, quantile } from '../cache/measure.js';
import { waitForQuietMachine } from '../cache/quiet-machine.js';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/mariadb-replica.sh', import.meta.url));
const REDIS_URL = process.env['CACHEFRONT_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const PRIMARY_PORT = 3341;
const REPLICA_PORT = 3342;
const ROWS = 20_000;
const MISSES = 1500;
const CYCLES = 400;

const { values: flags } = parseArgs({ args: process.argv.slice(2).filter((arg) => arg !== '--'), options: { runs: { type: 'string', default: '3' } } });
const runs = runsFlag(flags.runs);

const endpoint = (port: number) => ({ host: '127.0.0.1', port, user: 'root', password: '', database: 'bench' });

/** Sequential timings of `op(i)`, ms, sorted. */
async function timed(count: number, op: (i: number) => Promise<unknown>): Promise<Float64Array> {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    await op(i);
    out[i] = performance.now() - started;
  }
  return out.sort();
}

/** A data layer over the pair: the writer, and the replica as its reader unless `lagSafety` is 'writer only'. */
function layerOf(lagSafety: LagSafety | 'none' | 'writer only', namespace: string) {
  const writer = createConnector({ connection: endpoint(PRIMARY_PORT) });
  const reader = createConnector({ connection: endpoint(REPLICA_PORT) });
  const replicas =
    lagSafety === 'writer only'
      ? undefined
      : lagSafety === 'none'
        ? { readers: [reader], lagSafety: 'window' as const, lagWindowMs: 0 }
        : { readers: [reader], lagSafety };
  const cache = createRedisCache({ redis: REDIS_URL, namespace });
  const layer = createDataLayer({ cache, database: mysqlDatabase(writer, { outboxTable: false, ...(replicas ? { replicas } : {}) }) });
  const answered = { writer: 0, reader: 0 };
  const items = layer.repository(
    defineRepository({
      name: 'item',
      params: z.object({ id: z.number().int() }),
      value: z.object({ id: z.number(), version: z.number() }),
      ttlMs: 600_000,
      tags: ({ id }) => [`item:${id}`],
      load: async (db: Connector, { id }) => {
        const [row] = await db.query<{ id: number; version: number }>(sql`SELECT id, version FROM item WHERE id = ${id}`);
        if (db === writer) answered.writer += 1;
        else answered.reader += 1;
        return { id: Number(row?.id), version: Number(row?.version) };
      },
    }),
  );
  const close = async () => {
    await cache.close();
    await writer.quit();
    await reader.quit();
  };
  return { layer, items, answered, writer, close };
}

/** Gives the tags of `ids` a token, as a system that has run for a while has: a tag given its first token just now sends its fill to the writer. */
async function primeTags(redis: Redis, namespace: string, ids: readonly number[]): Promise<void> {
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.set(`${namespace}:t:item:${id}`, 'i.primed', 'PX', 3_600_000);
  await pipeline.exec();
}

/** A miss contender: its name, and how to make its operation (the i-th miss) and close it. */
type Contender = [name: string, make: () => Promise<{ op: (i: number) => Promise<unknown>; close: () => Promise<void> }>];

interface MissRow {
  readonly name: string;
  readonly p50: number;
  readonly p99: number;
}

interface CycleRow {
  readonly name: string;
  readonly writeP50: number;
  readonly readP50: number;
  readonly readP99: number;
  readonly writerShare: number;
  readonly stale: number;
}

async function main(): Promise<void> {
  const quiet = await waitForQuietMachine(30 * 60_000);
  await run('bash', [SCRIPT, 'start', String(PRIMARY_PORT), String(REPLICA_PORT)]);
  const admin = await mysql.createConnection({ ...endpoint(PRIMARY_PORT), database: undefined, multipleStatements: true });
  const redis = new Redis(REDIS_URL);
  try {
    await admin.query(
      'CREATE DATABASE IF NOT EXISTS bench; DROP TABLE IF EXISTS bench.item; CREATE TABLE bench.item (id INT PRIMARY KEY, version INT NOT NULL) ENGINE=InnoDB',
    );
    for (let from = 1; from <= ROWS; from += 1000) {
      const values = Array.from({ length: 1000 }, (_, i) => `(${from + i}, 0)`).join(',');
      await admin.query(`INSERT INTO bench.item VALUES ${values}`);
    }
    const [[{ pos }]] = (await admin.query('SELECT @@GLOBAL.gtid_binlog_pos AS pos')) as unknown as [[{ pos: string }]];
    const replicaAdmin = await mysql.createConnection(endpoint(REPLICA_PORT));
    await replicaAdmin.query('SELECT MASTER_GTID_WAIT(?, 30)', [pos]);
    await replicaAdmin.end();

    const missResults = new Map<string, { p50: number[]; p99: number[] }>();
    const cycleResults = new Map<string, { write: number[]; read: number[]; readP99: number[]; writerShare: number[]; stale: number[] }>();
    let nextId = 1;
    const freshIds = (count: number) => {
      const ids = Array.from({ length: count }, (_, i) => ((nextId + i - 1) % ROWS) + 1);
      nextId += count;
      return ids;
    };

    for (let r = 0; r < runs; r += 1) {
      // Part 1: misses.
      const missContenders: Contender[] = [
        ...(['writer', 'replica'] as const).map(
          (where): Contender => [
            `mysql2 SELECT → ${where}`,
            async () => {
              const conn = await mysql.createConnection(endpoint(where === 'writer' ? PRIMARY_PORT : REPLICA_PORT));
              const ids = freshIds(MISSES);
              return { op: (i) => conn.execute('SELECT id, version FROM item WHERE id = ?', [ids[i] as number]), close: () => conn.end() };
            },
          ],
        ),
        ...(['writer only', 'position'] as const).map(
          (mode): Contender => [
            `cachefront miss → ${mode === 'writer only' ? 'writer' : 'replica'}`,
            async () => {
              const namespace = `cfbr${randomBytes(4).toString('hex')}`;
              const { items, close } = layerOf(mode, namespace);
              const ids = freshIds(MISSES);
              await primeTags(redis, namespace, ids);
              return { op: (i) => items.get({ id: ids[i] as number }), close };
            },
          ],
        ),
      ];
      const rotated = missContenders.map((_, i) => missContenders[(i + r) % missContenders.length] as Contender);
      for (const [name, make] of rotated) {
        const { op, close } = await make();
        await op(0); // connected, as a warm container is
        const times = await timed(MISSES - 1, (i) => op(i + 1));
        await close();
        const slot = missResults.get(name) ?? { p50: [], p99: [] };
        slot.p50.push(quantile(times, 0.5));
        slot.p99.push(quantile(times, 0.99));
        missResults.set(name, slot);
      }

      // Part 2: read after write.
      const modes = ['writer only', 'window', 'position', 'none'] as const;
      for (const mode of modes.map((_, i) => modes[(i + r) % modes.length] as (typeof modes)[number])) {
        const namespace = `cfbr${randomBytes(4).toString('hex')}`;
        const { items, answered, close } = layerOf(mode, namespace);
        const ids = freshIds(CYCLES);
        await primeTags(redis, namespace, ids);
        // Every key cached first: the cycles then measure the write's invalidation and the refill after it.
        for (const id of ids) await items.get({ id });
        answered.writer = 0;
        answered.reader = 0;
        const writes = new Float64Array(CYCLES);
        const reads = new Float64Array(CYCLES);
        let stale = 0;
        for (let i = 0; i < CYCLES; i += 1) {
          const id = ids[i] as number;
          let version = 0;
          let started = performance.now();
          await items.write(
            { id },
            async (tx) => {
              await tx.execute(sql`UPDATE item SET version = LAST_INSERT_ID(version + 1) WHERE id = ${id}`);
              const [row] = await tx.query<{ v: number }>(sql`SELECT LAST_INSERT_ID() AS v`);
              version = Number(row?.v);
            },
            { warm: false },
          );
          writes[i] = performance.now() - started;
          started = performance.now();
          const read = await items.get({ id });
          reads[i] = performance.now() - started;
          if (read.version !== version) stale += 1;
        }
        await close();
        writes.sort();
        reads.sort();
        const slot = cycleResults.get(mode) ?? { write: [], read: [], readP99: [], writerShare: [], stale: [] };
        slot.write.push(quantile(writes, 0.5));
        slot.read.push(quantile(reads, 0.5));
        slot.readP99.push(quantile(reads, 0.99));
        slot.writerShare.push(answered.writer / Math.max(1, answered.writer + answered.reader));
        slot.stale.push(stale);
        cycleResults.set(mode, slot);
      }
      console.error(`run ${r + 1}/${runs} done`);
    }

    const misses: MissRow[] = [...missResults].map(([name, s]) => ({ name, p50: median(s.p50), p99: median(s.p99) }));
    const cycles: CycleRow[] = [...cycleResults].map(([name, s]) => ({
      name,
      writeP50: median(s.write),
      readP50: median(s.read),
      readP99: median(s.readP99),
      writerShare: median(s.writerShare),
      stale: Math.max(...s.stale),
    }));
    report(misses, cycles, quiet);
  } finally {
    redis.disconnect();
    await admin.end();
    await run('bash', [SCRIPT, 'stop', String(PRIMARY_PORT), String(REPLICA_PORT)]);
  }
}

function report(misses: readonly MissRow[], cycles: readonly CycleRow[], quiet: boolean): void {
  const ms = (value: number) => `${(value * 1000).toFixed(0)} µs`;
  const floor = misses.find((row) => row.name === 'mysql2 SELECT → writer')?.p50 ?? Number.NaN;
  const lines = [
    `${cpus().length} cores, Node ${process.version}, MariaDB primary + GTID replica on loopback, load ${loadavg()[0]?.toFixed(2)}${quiet ? '' : ', OTHER BENCHMARKS WERE RUNNING'}; medians of ${runs} runs`,
    '',
    `| miss (sequential, ${MISSES} keys) | p50 | p99 | p50 vs mysql2 → writer |`,
    '|---|---|---|---|',
    ...misses.map((row) => `| ${row.name} | ${ms(row.p50)} | ${ms(row.p99)} | ${(row.p50 / floor).toFixed(2)}× |`),
    '',
    `| read after write (${CYCLES} cycles) | write p50 | read p50 | read p99 | reads loaded by the writer | reads older than the write |`,
    '|---|---|---|---|---|---|',
    ...cycles.map(
      (row) =>
        `| ${row.name} | ${ms(row.writeP50)} | ${ms(row.readP50)} | ${ms(row.readP99)} | ${(row.writerShare * 100).toFixed(0)}% | ${row.stale} (worst run) |`,
    ),
  ];
  console.log(lines.join('\n'));
}

await main();
