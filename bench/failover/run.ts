/**
 * Read availability through a Redis Cluster master failover. A throwaway cluster of three masters
 * with a replica each (scripts/redis-cluster.sh on ports 7121-7126, node timeout 1 s, a directory
 * of its own) carries the cache of 4 data layers ("containers", each with its own Cluster client
 * and connector) reading 1,000 rows through one repository, 4 reads in flight each, in a closed
 * loop, with the cache's defaults (50 ms command timeout, the breaker open after 3 failures, for
 * 2 s). The rows are in a table of its own on the MariaDB of CACHEFRONT_MYSQL_HOST/PORT/USER/
 * PASSWORD (127.0.0.1:3306 root, database `test`), dropped at the end.
 *
 * After the warm-up (`--before` seconds) the master owning the entity's slot — every read of the
 * entity needs it — is killed with SIGKILL; its replica is promoted once the others have marked
 * it failed. Per phase — before the kill; during, from the kill until every container's breaker
 * has closed and it served a hit again; after (`--after` seconds) — it reports the reads, the
 * share answered (from Redis or from the database), the errors, the share answered from Redis, and
 * p50 / p99; and the time from the kill to the promotion and to the recovery. A fresh cluster per
 * run; `--runs N` reports medians.
 *
 *   pnpm bench:failover -- --runs 5
 *   pnpm bench:failover -- --runs 1 --before 2 --after 2   # a quick check, ~15 s
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { type Cache, type CacheEventName, createRedisCache, entityKeys, paramKey } from '@cachefront/cache';
import { createDataLayer, defineRepository } from '@cachefront/core';
import { type Connector, createConnector, mysqlDatabase, sql } from '@cachefront/mysql';
import { Cluster } from 'ioredis';
import mysql from 'mysql2/promise';
import { z } from 'zod';
import { runsFlag, waitMinutesFlag } from '../cache/flags.js';
import { median, quantile } from '../cache/measure.js';
import { waitForQuietMachine } from '../cache/quiet-machine.js';
import { type BenchCluster, startCluster } from './cluster.js';

const PORTS = [7121, 7122, 7123, 7124, 7125, 7126];
const CONTAINERS = 4;
const READERS = 4;
const ROWS = 1000;
const ENTITY = 'item';
/** Longest wait for the promotion, and then for the recovery, before the run is given up. */
const GIVE_UP_MS = 30_000;
const MYSQL = {
  host: process.env['CACHEFRONT_MYSQL_HOST'] ?? '127.0.0.1',
  port: Number(process.env['CACHEFRONT_MYSQL_PORT'] ?? 3306),
  user: process.env['CACHEFRONT_MYSQL_USER'] ?? 'root',
  password: process.env['CACHEFRONT_MYSQL_PASSWORD'] ?? '',
  database: 'test',
};

const { values: flags } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    runs: { type: 'string', default: '3' },
    before: { type: 'string', default: '5' },
    after: { type: 'string', default: '10' },
    'wait-minutes': { type: 'string', default: '30' },
  },
});
const runs = runsFlag(flags.runs);
const seconds = (name: 'before' | 'after') => {
  const value = Number(flags[name]);
  if (!Number.isFinite(value) || value < 1 || value > 600) throw new RangeError(`--${name} must be from 1 to 600 seconds.`);
  return value;
};
const beforeSeconds = seconds('before');
const afterSeconds = seconds('after');

type Outcome = 'redis' | 'database' | 'error';

interface Read {
  readonly at: number;
  readonly ms: number;
  readonly outcome: Outcome;
}

const PHASES = ['before', 'during', 'after'] as const;
type PhaseName = (typeof PHASES)[number];

interface Phase {
  readonly reads: number;
  /** Answered, from Redis or from the database, over all reads. */
  readonly answered: number;
  /** Answered from Redis (a fresh hit), over all reads. */
  readonly fromRedis: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
}

interface RunResult {
  readonly promotedMs: number;
  readonly recoveredMs: number;
  readonly phases: Record<PhaseName, Phase>;
  readonly errors: ReadonlyMap<string, number>;
}

/** A container: its own Cluster client, cache, connector and repository on the run's namespace. */
function container(namespace: string, table: string) {
  const client = new Cluster(
    PORTS.map((port) => ({ host: '127.0.0.1', port })),
    { enableAutoPipelining: true },
  );
  client.on('error', () => {});
  const cache: Cache = createRedisCache({ redis: client, namespace });
  const db: Connector = createConnector({ connection: MYSQL });
  const layer = createDataLayer({ cache, database: mysqlDatabase(db, { outboxTable: false }) });
  const items = layer.repository(
    defineRepository({
      name: ENTITY,
      params: z.object({ id: z.number().int() }),
      value: z.object({ id: z.number(), version: z.number() }),
      ttlMs: 600_000,
      tags: ({ id }) => [`item:${id}`],
      load: async (conn: Connector, { id }) => {
        const [row] = await conn.query<{ id: number; version: number }>(sql`SELECT id, version FROM ${sql.id(table)} WHERE id = ${id}`);
        return { id: Number(row?.id), version: Number(row?.version) };
      },
    }),
  );
  const seen: Array<{ event: CacheEventName; at: number }> = [];
  for (const event of ['hit', 'circuit-open', 'circuit-close'] as const) cache.on(event, () => seen.push({ event, at: performance.now() }));
  /** The breaker is closed (it never opened, or closed after it last opened) and a hit came after both it and `since`. */
  const recovered = (since: number) => {
    const lastOpen = seen.findLast((s) => s.event === 'circuit-open')?.at ?? Number.NEGATIVE_INFINITY;
    const lastClose = seen.findLast((s) => s.event === 'circuit-close')?.at ?? Number.NEGATIVE_INFINITY;
    return lastClose >= lastOpen && seen.some((s) => s.event === 'hit' && s.at > Math.max(since, lastOpen));
  };
  const close = async () => {
    await cache.close();
    client.disconnect();
    await db.quit();
  };
  return { items, recovered, close };
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const until = performance.now() + GIVE_UP_MS;
  while (!condition()) {
    if (performance.now() > until) throw new Error(`${what} did not happen within ${GIVE_UP_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function phaseOf(reads: readonly Read[]): Phase {
  const ms = Float64Array.from(reads, (r) => r.ms).sort();
  const count = (outcome: Outcome) => reads.filter((r) => r.outcome === outcome).length;
  const share = (n: number) => n / Math.max(1, reads.length);
  return {
    reads: reads.length,
    answered: share(reads.length - count('error')),
    fromRedis: share(count('redis')),
    errors: count('error'),
    p50: quantile(ms, 0.5),
    p99: quantile(ms, 0.99),
  };
}

async function oneRun(table: string, onCluster: (cluster: BenchCluster | undefined) => void): Promise<RunResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cf-bench-failover-'));
  const cluster = await startCluster(PORTS, dir);
  onCluster(cluster);
  const namespace = `cfbf${randomBytes(4).toString('hex')}`;
  const fleet = Array.from({ length: CONTAINERS }, () => container(namespace, table));
  try {
    // Warm: every row cached, as a system that has run for a while has it.
    for (let id = 1; id <= ROWS; id += 1) await fleet[id % CONTAINERS]?.items.get({ id });
    const reads: Read[] = [];
    const errors = new Map<string, number>();
    let stopped = false;
    let seed = 1;
    const loop = async ({ items }: ReturnType<typeof container>) => {
      while (!stopped) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const id = 1 + (seed % ROWS);
        const at = performance.now();
        try {
          const { status } = await items.read({ id });
          reads.push({ at, ms: performance.now() - at, outcome: status === 'fresh' ? 'redis' : 'database' });
        } catch (error) {
          reads.push({ at, ms: performance.now() - at, outcome: 'error' });
          const label = (error as { code?: string }).code ?? (error instanceof Error ? error.name : 'unknown');
          errors.set(label, (errors.get(label) ?? 0) + 1);
        }
      }
    };
    const load = Promise.all(fleet.flatMap((c) => Array.from({ length: READERS }, () => loop(c))));
    await sleep(beforeSeconds * 1000);

    const slot = await cluster.slotOf(entityKeys(namespace, ENTITY, 1).value(paramKey({ id: 1 })));
    const victim = await cluster.ownerOf(slot);
    if (victim === undefined) throw new Error('no master owns the entity’s slot');
    const killAt = performance.now();
    await cluster.kill(victim);
    await cluster.waitForOwner(slot, victim, GIVE_UP_MS);
    const promotedAt = performance.now();
    await waitUntil(() => fleet.every((c) => c.recovered(promotedAt)), 'every breaker closing, with a hit after it');
    const recoveredAt = performance.now();
    await sleep(afterSeconds * 1000);
    stopped = true;
    await load;

    const bounds: Record<PhaseName, readonly [number, number]> = {
      before: [0, killAt],
      during: [killAt, recoveredAt],
      after: [recoveredAt, Number.POSITIVE_INFINITY],
    };
    const phases = Object.fromEntries(
      PHASES.map((name) => {
        const [from, to] = bounds[name];
        return [name, phaseOf(reads.filter((r) => r.at >= from && r.at < to))];
      }),
    ) as Record<PhaseName, Phase>;
    return { promotedMs: promotedAt - killAt, recoveredMs: recoveredAt - killAt, phases, errors };
  } finally {
    await Promise.all(fleet.map((c) => c.close().catch(() => undefined)));
    await cluster.stop();
    onCluster(undefined);
    rmSync(`${dir}.lock`, { force: true });
  }
}

function report(results: readonly RunResult[], quiet: boolean): string {
  const pct = (value: number) => `${(value * 100).toFixed(2)}%`;
  const m = (pick: (r: RunResult) => number) => median(results.map(pick));
  const errors = new Map<string, number>();
  for (const result of results) for (const [label, n] of result.errors) errors.set(label, (errors.get(label) ?? 0) + n);
  const errorText = errors.size === 0 ? 'none' : [...errors].map(([label, n]) => `${label} ×${n}`).join(', ');
  return [
    `${cpus().length} cores, Node ${process.version}, Redis Cluster 3 masters + 3 replicas on loopback (node timeout 1 s), ` +
      `${CONTAINERS} containers × ${READERS} reads in flight, ${ROWS} rows; load ${loadavg()[0]?.toFixed(2)}${quiet ? '' : ', OTHER BENCHMARKS WERE RUNNING'}; ` +
      `medians of ${results.length} run(s)`,
    '',
    '| phase | reads | answered | errors | from Redis | p50 ms | p99 ms |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...PHASES.map((name) => {
      const at = (pick: (p: Phase) => number) => m((r) => pick(r.phases[name]));
      return `| ${name} | ${at((p) => p.reads).toFixed(0)} | ${pct(at((p) => p.answered))} | ${at((p) => p.errors).toFixed(0)} | ${pct(at((p) => p.fromRedis))} | ${at((p) => p.p50).toFixed(2)} | ${at((p) => p.p99).toFixed(2)} |`;
    }),
    '',
    `From the kill: the replica promoted after ${(m((r) => r.promotedMs) / 1000).toFixed(2)} s, every breaker closed and hitting again after ${(m((r) => r.recoveredMs) / 1000).toFixed(2)} s ` +
      `(per run: ${results.map((r) => `${(r.promotedMs / 1000).toFixed(2)} / ${(r.recoveredMs / 1000).toFixed(2)} s`).join(', ')}). Errors in all runs: ${errorText}.`,
  ].join('\n');
}

async function main(): Promise<void> {
  const quiet = await waitForQuietMachine(waitMinutesFlag(flags['wait-minutes']) * 60_000);
  const table = `cf_bench_failover_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection(MYSQL);
  let current: BenchCluster | undefined;
  // Ctrl-C: the nodes are daemons; stop them and drop the table rather than leave them behind.
  const onSignal = () => {
    void Promise.allSettled([current?.stop(), admin.query(`DROP TABLE IF EXISTS ${table}`)]).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await admin.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, version INT NOT NULL)`);
    await admin.query(`INSERT INTO ${table} SELECT seq, 0 FROM seq_1_to_${ROWS}`);
    const results: RunResult[] = [];
    for (let r = 1; r <= runs; r += 1) {
      results.push(
        await oneRun(table, (cluster) => {
          current = cluster;
        }),
      );
      console.error(
        `run ${r}/${runs}: promoted after ${(results.at(-1)?.promotedMs ?? 0).toFixed(0)} ms, recovered after ${(results.at(-1)?.recoveredMs ?? 0).toFixed(0)} ms`,
      );
    }
    console.log(report(results, quiet));
  } finally {
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.end();
  }
}

await main();
