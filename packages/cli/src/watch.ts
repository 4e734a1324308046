/**
 * `cachefront watch`: a live view, every `--interval` (1 s), of the connections by user and state
 * against the limit, and of Redis' hit ratio, evictions and clients over the last interval. On a
 * terminal it redraws one screen and `q` (or Ctrl-C) quits; elsewhere it prints one line per
 * interval, and `--count N` stops after N. One connection to each server for the whole watch.
 */
import { Redis } from 'ioredis';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import type { MysqlTarget, RedisTarget } from './connections.js';
import type { Io } from './io.js';
import { type Style, styleFor, table } from './style.js';

export interface Sample {
  readonly at: Date;
  readonly mysql: { readonly maxConnections: number; readonly threads: ReadonlyArray<{ user: string; command: string; count: number }> } | undefined;
  readonly redis: { readonly hits: number; readonly misses: number; readonly evicted: number; readonly clients: number } | undefined;
}

export interface Sampler {
  sample(): Promise<Sample>;
  close(): Promise<void>;
}

export async function openSampler(mysql: MysqlTarget | undefined, redis: RedisTarget | undefined, connectTimeoutMs: number): Promise<Sampler> {
  const db = mysql
    ? await createConnection({ host: mysql.host, port: mysql.port, user: mysql.user, password: mysql.password, connectTimeout: connectTimeoutMs })
    : undefined;
  const cache = redis ? new Redis(redis.url, { connectTimeout: connectTimeoutMs, maxRetriesPerRequest: 1 }) : undefined;
  cache?.on('error', () => undefined);
  return {
    async sample() {
      const [mysqlSample, redisSample] = await Promise.all([db ? sampleMysql(db) : undefined, cache ? sampleRedis(cache) : undefined]);
      return { at: new Date(), mysql: mysqlSample, redis: redisSample };
    },
    async close() {
      cache?.disconnect();
      await db?.end().catch(() => db.destroy());
    },
  };
}

async function sampleMysql(db: Awaited<ReturnType<typeof createConnection>>): Promise<Sample['mysql']> {
  const [rows] = await db.query<RowDataPacket[]>(
    'SELECT USER AS user, COMMAND AS command, COUNT(*) AS count, @@max_connections AS maxConnections FROM information_schema.PROCESSLIST GROUP BY USER, COMMAND ORDER BY USER, COUNT(*) DESC',
  );
  return {
    maxConnections: Number(rows[0]?.['maxConnections'] ?? 0),
    threads: rows.map((row) => ({ user: String(row['user']), command: String(row['command']), count: Number(row['count']) })),
  };
}

async function sampleRedis(redis: Redis): Promise<Sample['redis']> {
  const info = await redis.info();
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { hits: field('keyspace_hits'), misses: field('keyspace_misses'), evicted: field('evicted_keys'), clients: field('connected_clients') };
}

/** What changed on Redis between two samples: the hit ratio and the evictions of the interval. */
function redisDelta(previous: Sample | undefined, current: Sample): { ratio: string; evicted: number; clients: number } | undefined {
  const now = current.redis;
  if (!now) return undefined;
  const before = previous?.redis;
  const hits = now.hits - (before?.hits ?? now.hits);
  const misses = now.misses - (before?.misses ?? now.misses);
  const reads = hits + misses;
  return { ratio: reads === 0 ? '–' : `${((hits / reads) * 100).toFixed(1)}%`, evicted: now.evicted - (before?.evicted ?? now.evicted), clients: now.clients };
}

const total = (mysql: NonNullable<Sample['mysql']>) => mysql.threads.reduce((sum, t) => sum + t.count, 0);

/** One line per interval, for logs and pipes. */
export function sampleLine(previous: Sample | undefined, current: Sample): string {
  const parts = [current.at.toISOString()];
  if (current.mysql) {
    const byUser = current.mysql.threads.map((t) => `${t.user} ${t.command} ${t.count}`).join(', ');
    parts.push(`mysql ${total(current.mysql)}/${current.mysql.maxConnections} (${byUser})`);
  }
  const redis = redisDelta(previous, current);
  if (redis) parts.push(`redis hits ${redis.ratio} evicted +${redis.evicted} clients ${redis.clients}`);
  return `${parts.join('  ')}\n`;
}

/** The terminal screen: a table of threads against the limit, and Redis' interval figures. */
export function sampleScreen(previous: Sample | undefined, current: Sample, style: Style): string {
  const lines = [style.bold(`cachefront watch — ${current.at.toISOString()}   (q quits)`), ''];
  if (current.mysql) {
    const used = total(current.mysql);
    const share = current.mysql.maxConnections > 0 ? used / current.mysql.maxConnections : 0;
    const paint = share >= 0.8 ? style.red : share >= 0.6 ? style.yellow : style.green;
    lines.push(`MySQL connections ${paint(`${used} / ${current.mysql.maxConnections}`)} (${(share * 100).toFixed(0)}%)`);
    lines.push(
      table(
        ['user', 'state', 'threads'],
        current.mysql.threads.map((t) => [t.user, t.command, String(t.count)]),
      ),
      '',
    );
  }
  const redis = redisDelta(previous, current);
  if (redis) lines.push(`Redis hit ratio ${redis.ratio} (last interval), evicted +${redis.evicted}, clients ${redis.clients}`);
  return `\u001b[2J\u001b[H${lines.join('\n')}\n`;
}

/** Samples every `intervalMs` until `count` samples, or `q` / Ctrl-C on a terminal. */
export async function watchLoop(sampler: Sampler, io: Io, print: (text: string) => void, intervalMs: number, count: number | undefined): Promise<void> {
  const tty = io.stdout.isTTY === true;
  const style = styleFor(io.stdout, io.env);
  const keys = tty && io.stdin?.isTTY ? io.stdin : undefined;
  let stop = false;
  let wake = () => {};
  const onKey = (data: Buffer | string) => {
    const key = String(data);
    if (key === 'q' || key === 'Q' || key === '\u0003') {
      stop = true;
      wake();
    }
  };
  if (keys) {
    keys.setRawMode?.(true);
    keys.resume?.();
    keys.on('data', onKey);
  }
  let previous: Sample | undefined;
  try {
    for (let n = 0; !stop; n += 1) {
      const current = await sampler.sample();
      print(tty ? sampleScreen(previous, current, style) : sampleLine(previous, current));
      previous = current;
      if (count !== undefined && n + 1 >= count) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    if (keys) {
      keys.off('data', onKey);
      keys.setRawMode?.(false);
      keys.pause?.();
    }
    await sampler.close();
  }
}
