/**
 * A history run: worker processes (worker.ts) read and write a small key space through their data
 * layers while this process injects faults on loopback, watches the outbox, and finally checks the
 * whole history (history.ts). Used by the integration test (a CI-sized run) and by `pnpm soak`.
 *
 * Faults, on a seeded schedule:
 * - `redis-restart`: the throwaway redis-server is shut down (its data lost) and started again;
 * - `redis-pause`: `CLIENT PAUSE 300 ALL`;
 * - `redis-stall`: `DEBUG SLEEP 0.3` (the server blocks);
 * - `redis-flush`: `FLUSHALL` (on a cluster: every master);
 * - `redis-node-restart` (cluster): one master shut down and started again, empty, with its slots;
 * - `mysql-kill`: KILL of some of the application user's connections;
 * - `commit-cut`: the connection carrying the next COMMIT is cut through a TCP proxy, after the
 *   server answered it (committed, the client never learns) or before;
 * - `replica-lag` (runs with a read replica): the replica stops applying what it receives for
 *   0.2-1 s, then catches up.
 *
 * With `replica`, the database is a throwaway MariaDB primary with a GTID replica
 * (scripts/mariadb-replica.sh), and every layer loads from the replica with the lag safety asked.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createRedisCache } from '@cachefront/cache';
import { createDataLayer, defineRepository } from '@cachefront/core';
import { createConnector, mysqlDatabase, sql } from '@cachefront/mysql';
import { Cluster, Redis } from 'ioredis';
import type { Connection } from 'mysql2/promise';
import { z } from 'zod';
import { MYSQL } from '../support/env.js';
import { adminConnection, closeQuietly, createAccount, rows } from '../support/mysql.js';
import { freePort } from '../support/net.js';
import { startAuxRedis, stopAuxRedis } from '../support/redis.js';
import { startReplicaPair } from '../support/replica.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { type CheckResult, checkHistory, describeViolation, type Op } from './history.js';
import { clock, emptyFigures, type LayerFigures, seeded, type WorkerConfig, type WorkerHistory } from './worker.js';

const run = promisify(execFile);

export const FAULTS = ['redis-restart', 'redis-pause', 'redis-stall', 'redis-flush', 'redis-node-restart', 'mysql-kill', 'commit-cut', 'replica-lag'] as const;
export type Fault = (typeof FAULTS)[number];

export interface RunOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly processes: number;
  readonly layers: number;
  readonly concurrency: number;
  readonly keys: number;
  readonly faults: readonly Fault[];
  /** Pause between two faults, drawn in this range (ms). */
  readonly faultEveryMs: readonly [number, number];
  readonly redis: 'standalone' | 'cluster';
  readonly mode: WorkerConfig['mode'];
  readonly writeRatio?: number;
  /** The items' TTL. @default 30000 */
  readonly ttlMs?: number;
  /** Loads from a read replica, with this lag safety (`off`: the negative control). @default none */
  readonly replica?: NonNullable<WorkerConfig['replica']>['lagSafety'];
  readonly log?: (line: string) => void;
}

export interface RunReport extends CheckResult {
  readonly seed: number;
  readonly options: RunOptions;
  readonly faults: Readonly<Record<string, number>>;
  /** Writes by outcome, reads that failed by error code. */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly readErrors: Readonly<Record<string, number>>;
  readonly stale: number;
  /** What the layers did, summed over every worker. */
  readonly figures: LayerFigures;
  /** Writes that ended in InvalidationPendingError whose outbox row was replayed by some layer before the end. */
  readonly replayedPending: number;
  readonly described: readonly string[];
}

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const workerFile = fileURLToPath(new URL('./worker.ts', import.meta.url));
const testRoot = fileURLToPath(new URL('..', import.meta.url));
const clusterScript = fileURLToPath(new URL('../../scripts/redis-cluster.sh', import.meta.url));

interface RedisTarget {
  readonly config: WorkerConfig['redis'];
  admin(): Redis | Cluster;
  restart(random: () => number): Promise<void>;
  flush(): Promise<void>;
  pause(): Promise<void>;
  stall(): Promise<void>;
  stop(): Promise<void>;
}

async function standaloneRedis(): Promise<RedisTarget> {
  const port = await freePort();
  await startAuxRedis(port);
  const admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  return {
    config: { standalone: { host: '127.0.0.1', port } },
    admin: () => admin,
    restart: async () => {
      await stopAuxRedis(port);
      await startAuxRedis(port);
    },
    flush: async () => {
      await admin.flushall();
    },
    pause: async () => {
      await admin.call('CLIENT', 'PAUSE', '300', 'ALL');
    },
    stall: async () => {
      await admin.call('DEBUG', 'SLEEP', '0.3');
    },
    stop: async () => {
      admin.disconnect();
      await stopAuxRedis(port);
    },
  };
}

async function dedicatedCluster(): Promise<RedisTarget> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const env = {
    ...process.env,
    CACHEFRONT_REDIS_CLUSTER_PORTS: ports.join(' '),
    CACHEFRONT_REDIS_CLUSTER_DIR: mkdtempSync(path.join(tmpdir(), 'cf-history-cluster-')),
  };
  const script = (...args: string[]) => run('bash', [clusterScript, ...args], { env });
  await script('start');
  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
  const admins = ports.map((port) => {
    const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    return client;
  });
  return {
    config: { cluster: nodes },
    admin: () => admins[0] as Redis,
    restart: async (random) => {
      await script('restart-node', String(ports[Math.floor(random() * ports.length)]));
    },
    flush: async () => {
      await Promise.all(admins.map((client) => client.flushall()));
    },
    pause: async () => {
      await Promise.all(admins.map((client) => client.call('CLIENT', 'PAUSE', '300', 'ALL')));
    },
    stall: async () => {
      await (admins[0] as Redis).call('DEBUG', 'SLEEP', '0.3');
    },
    stop: async () => {
      for (const client of admins) client.disconnect();
      await script('stop');
    },
  };
}

const COMMIT = Buffer.from('COMMIT');

/** Runs one history run and checks it. Cleans up everything it started, whatever happens. */
export async function historyRun(options: RunOptions): Promise<RunReport> {
  const log = options.log ?? (() => {});
  const random = seeded(options.seed);
  const pair = options.replica ? await startReplicaPair() : undefined;
  const primary = pair?.primary ?? MYSQL;
  const admin: Connection = await adminConnection(primary);
  const account = await createAccount(admin, primary);
  const d = `\`${account.database}\``;
  await admin.query(`CREATE TABLE ${d}.item (id INT PRIMARY KEY, version INT NOT NULL) ENGINE=InnoDB`);
  await admin.query(`CREATE TABLE ${d}.write_log (write_id VARCHAR(32) PRIMARY KEY, item_id INT NOT NULL, version INT NOT NULL) ENGINE=InnoDB`);
  await admin.query(`INSERT INTO ${d}.item VALUES ${Array.from({ length: options.keys }, (_, i) => `(${i + 1}, 0)`).join(', ')}`);
  const redis = options.redis === 'cluster' ? await dedicatedCluster() : await standaloneRedis();
  const proxy = await TcpProxy.start({ host: primary.host, port: primary.port });
  const namespace = `cfh${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'cf-history-'));
  const faults: Record<string, number> = {};
  const outboxGoneAt = new Map<number, number>();
  const outboxSeen = new Set<number>();
  let stopping = false;
  const home = () => {
    const db = createConnector({ connection: account.connection, manageConns: false });
    const client = 'standalone' in redis.config ? new Redis(redis.config.standalone) : new Cluster([...redis.config.cluster], { enableAutoPipelining: true });
    client.on('error', () => {});
    return { db, client, cache: createRedisCache({ redis: client, namespace }) };
  };
  const coordinator = home();
  try {
    await createDataLayer({ cache: coordinator.cache, database: mysqlDatabase(coordinator.db) }).migrate();
    // The outbox, as the database sees it: when each row was first seen gone (replayed by some layer).
    const watchOutbox = (async () => {
      while (!stopping) {
        const ids = await rows<{ id: number }>(admin, `SELECT id FROM ${d}.cachefront_outbox`).catch(() => undefined);
        const at = clock();
        if (ids) {
          const present = new Set(ids.map((row) => Number(row.id)));
          for (const id of present) outboxSeen.add(id);
          for (const id of outboxSeen) if (!present.has(id) && !outboxGoneAt.has(id)) outboxGoneAt.set(id, at);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    const startAt = Date.now() + 2500; // the workers' start-up (tsx) fits in it
    const workers = Array.from({ length: options.processes }, (_, index) => {
      const config: WorkerConfig = {
        index,
        seed: options.seed,
        startAt,
        durationMs: options.durationMs,
        layers: options.layers,
        concurrency: options.concurrency,
        keys: options.keys,
        writeRatio: options.writeRatio ?? 0.25,
        ttlMs: options.ttlMs ?? 30_000,
        batchRatio: 0.1,
        slowLoadRatio: 0.2,
        slowLoadMaxMs: 30,
        mysql: { ...account.connection, host: '127.0.0.1', port: proxy.port },
        ...(pair && options.replica ? { replica: { host: pair.replica.host, port: pair.replica.port, lagSafety: options.replica } } : {}),
        redis: redis.config,
        namespace,
        mode: options.mode,
        historyFile: path.join(dir, `worker-${index}.json`),
      };
      return { config, done: startWorker(config) };
    });

    // Faults, while the workers run.
    const faultLoop = (async () => {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now()) + 500));
      const until = startAt + options.durationMs - 500;
      while (options.faults.length > 0 && Date.now() < until) {
        const [low, high] = options.faultEveryMs;
        await new Promise((resolve) => setTimeout(resolve, low + random() * (high - low)));
        if (Date.now() >= until) break;
        const fault = options.faults[Math.floor(random() * options.faults.length)] as Fault;
        try {
          await inject(fault);
          faults[fault] = (faults[fault] ?? 0) + 1;
        } catch (error) {
          log(`fault ${fault} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    })();

    async function inject(fault: Fault): Promise<void> {
      switch (fault) {
        case 'redis-restart':
        case 'redis-node-restart':
          return redis.restart(random);
        case 'redis-pause':
          return redis.pause();
        case 'redis-stall':
          return redis.stall();
        case 'redis-flush':
          return redis.flush();
        case 'mysql-kill': {
          const threads = await rows<{ id: number }>(admin, 'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [account.user]);
          const victims = threads.filter(() => random() < 0.3).slice(0, 4);
          for (const { id } of victims) await admin.query('KILL CONNECTION ?', [Number(id)]).catch(() => undefined);
          return;
        }
        case 'replica-lag': {
          if (!pair) return;
          await pair.lag(true);
          await new Promise((resolve) => setTimeout(resolve, 200 + random() * 800));
          await pair.lag(false);
          return;
        }
        case 'commit-cut': {
          // Armed until the next COMMIT goes through; a fault loop iteration does not wait for it.
          void proxy.cutAfterClientPacket((chunk) => chunk.includes(COMMIT), { dropReply: random() < 0.5 });
          return;
        }
      }
    }

    const histories = await Promise.all(workers.map((worker) => worker.done));
    await faultLoop;
    // Everything still pending is replayed; then every key is read once more, after everything.
    const layer = createDataLayer({ cache: coordinator.cache, database: mysqlDatabase(coordinator.db) });
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const drained = await layer.drain().then(
        () => true,
        () => false,
      );
      if (drained) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    stopping = true;
    await watchOutbox;
    const items = layer.repository(
      defineRepository({
        name: 'item',
        params: z.object({ id: z.number().int() }),
        value: z.object({ id: z.number(), version: z.number() }),
        ttlMs: 30_000,
        tags: ({ id }) => [`item:${id}`],
        load: async (conn, { id }) => {
          const [row] = await conn.query<{ id: number; version: number }>(sql`SELECT id, version FROM item WHERE id = ${id}`);
          return { id: Number(row?.id), version: Number(row?.version) };
        },
      }),
    );
    const finals: Op[] = [];
    for (let key = 1; key <= options.keys; key += 1) {
      const start = clock();
      const result = await items.read({ id: key });
      finals.push({ kind: 'read', process: -1, layer: 0, key, start, end: clock(), version: result.value.version, status: result.status });
    }
    const ops = [...histories.flatMap((history) => history.ops), ...finals];
    const figures = emptyFigures();
    for (const { figures: one } of histories) for (const key of Object.keys(figures) as Array<keyof LayerFigures>) figures[key] += one[key];
    const committed = new Map<string, number>();
    for (const row of await rows<{ write_id: string; version: number }>(admin, `SELECT write_id, version FROM ${d}.write_log`)) {
      committed.set(row.write_id, Number(row.version));
    }
    const result = checkHistory(ops, { committed, outboxGoneAt, allowStale: false });
    const outcomes: Record<string, number> = {};
    const readErrors: Record<string, number> = {};
    let stale = 0;
    for (const op of ops) {
      if (op.kind === 'write') outcomes[op.outcome] = (outcomes[op.outcome] ?? 0) + 1;
      else if (op.error) readErrors[op.error] = (readErrors[op.error] ?? 0) + 1;
      else if (op.status === 'stale') stale += 1;
    }
    const pendingOps = ops.filter((op): op is Extract<Op, { kind: 'write' }> => op.kind === 'write' && op.outcome === 'pending');
    const replayedPending = pendingOps.filter((op) => op.outboxId !== undefined && outboxGoneAt.has(op.outboxId)).length;
    return {
      ...result,
      figures,
      replayedPending,
      seed: options.seed,
      options,
      faults,
      outcomes,
      readErrors,
      stale,
      described: result.violations.slice(0, 10).map(describeViolation),
    };
  } finally {
    stopping = true;
    await coordinator.db.quit().catch(() => undefined);
    await coordinator.cache.close().catch(() => undefined);
    coordinator.client.disconnect();
    await proxy.close();
    await redis.stop().catch(() => undefined);
    await account.drop().catch(() => undefined);
    await closeQuietly(admin);
    await pair?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

function startWorker(config: WorkerConfig): Promise<WorkerHistory> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsxCli, '--conditions=@cachefront/source', workerFile], {
      cwd: testRoot,
      env: { ...process.env, CF_HISTORY_WORKER: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`history worker ${config.index} exited with ${code}: ${output.slice(-2000)}`));
        return;
      }
      try {
        resolve(JSON.parse(readFileSync(config.historyFile, 'utf8')) as WorkerHistory);
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** One line per figure, for logs, the soak command and docs/RELIABILITY.md. */
export function summarize(report: RunReport): string {
  const faults = Object.entries(report.faults)
    .map(([name, count]) => `${name} ×${count}`)
    .join(', ');
  const outcomes = Object.entries(report.outcomes)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  const errors = Object.entries(report.readErrors)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  return [
    `seed ${report.seed}, ${report.options.redis}, ${report.options.processes} processes × ${report.options.layers} layers × ${report.options.concurrency} in flight, ${report.options.durationMs / 1000} s, mode ${report.options.mode}`,
    `checked ${report.checkedReads} of ${report.reads} reads against ${report.committedWrites} committed of ${report.writes} writes; violations ${report.violations.length}`,
    `writes: ${outcomes || 'none'}; failed reads: ${errors || 'none'}; stale reads: ${report.stale}`,
    `faults: ${faults || 'none'}`,
    `layers: ${Object.entries(report.figures)
      .map(([name, count]) => `${name} ${count}`)
      .join(', ')}; pending writes replayed ${report.replayedPending}`,
  ].join('\n');
}
