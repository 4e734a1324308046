/** `cachefront doctor`: read the live servers, judge, print; the exit code says what it found. */
import { type MysqlTarget, type RedisTarget, UsageError } from '../connections.js';
import { whyUnreachable } from '../reachability.js';
import type { Facts } from './facts.js';
import { readMysql } from './mysql.js';
import { type Judgement, judge } from './recommend.js';
import { readRedis } from './redis.js';

export interface DoctorOptions {
  readonly mysql: MysqlTarget | undefined;
  readonly redis: RedisTarget | undefined;
  readonly zombieThresholdS: number;
  readonly scanKeys: number;
  readonly connectTimeoutMs: number;
}

/** The server could not be read: exit code 2, with what to check. Its message holds no secret. */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

export interface DoctorResult {
  readonly facts: Facts;
  readonly judgement: Judgement;
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorResult> {
  if (!options.mysql && !options.redis) throw new UsageError('Nothing to check: give --mysql (or MYSQL_URL) and/or --redis (or REDIS_URL).');
  const [mysql, redis] = await Promise.all([
    options.mysql
      ? readMysql(options.mysql, options.zombieThresholdS, options.connectTimeoutMs).catch((error) => unreachable('MySQL', options.mysql?.label, error))
      : undefined,
    options.redis
      ? readRedis(options.redis, { maxKeys: options.scanKeys }, options.connectTimeoutMs).catch((error) => unreachable('Redis', options.redis?.label, error))
      : undefined,
  ]);
  const facts: Facts = { mysql, redis };
  return { facts, judgement: judge(facts) };
}

/** Says which server and why (reachability.ts), never the server's own message. */
function unreachable(what: string, label: string | undefined, error: unknown): never {
  throw new UnreachableError(`${what} ${label ?? ''}: ${whyUnreachable(error)}`);
}
