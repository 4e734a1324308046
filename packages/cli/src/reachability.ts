/**
 * Whether each server answers, and if not, why — in words an operator can act on, from the
 * client's error code alone (a server's message may echo the user). The doctor's first step, and
 * the demo's preflight.
 */
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import type { MysqlTarget, RedisTarget } from './connections.js';

export interface Reachability {
  readonly service: 'MySQL' | 'Redis';
  readonly label: string;
  readonly ok: boolean;
  /** Why not, when not. */
  readonly reason?: string;
}

/** Why a connection or a first statement failed, by the client's code. */
export function whyUnreachable(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused: is it running, on this host and port?';
    case 'ER_ACCESS_DENIED_ERROR':
    case 'WRONGPASS':
    case 'NOAUTH':
      return 'the login was refused: check the user and password';
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
    case 'ER_TABLEACCESS_DENIED_ERROR':
    case 'NOPERM':
      return 'a privilege is missing (the doctor reads SHOW GLOBAL STATUS, information_schema.PROCESSLIST and SHOW GRANTS; on Redis INFO, SCAN, PTTL)';
    case 'ETIMEDOUT':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'EAI_AGAIN':
      return 'unreachable: check the host name and the network path';
    default:
      return `it failed${typeof code === 'string' ? ` (${code})` : ''}`;
  }
}

/** Connects to each target (and says PING to Redis), then closes. Never rejects. */
export async function checkReachable(
  targets: { mysql?: MysqlTarget | undefined; redis?: RedisTarget | undefined },
  timeoutMs: number,
): Promise<Reachability[]> {
  const checks: Array<Promise<Reachability>> = [];
  const { mysql, redis } = targets;
  if (mysql) {
    checks.push(
      (async () => {
        try {
          const connection = await createConnection({
            host: mysql.host,
            port: mysql.port,
            user: mysql.user,
            password: mysql.password,
            connectTimeout: timeoutMs,
          });
          await connection.end().catch(() => connection.destroy());
          return { service: 'MySQL', label: mysql.label, ok: true } as const;
        } catch (error) {
          return { service: 'MySQL', label: mysql.label, ok: false, reason: whyUnreachable(error) } as const;
        }
      })(),
    );
  }
  if (redis) {
    checks.push(
      (async () => {
        const client = new Redis(redis.url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
        let socketError: unknown;
        client.on('error', (error: unknown) => {
          socketError = error;
        });
        try {
          await client.connect();
          await client.ping();
          return { service: 'Redis', label: redis.label, ok: true } as const;
        } catch (error) {
          return { service: 'Redis', label: redis.label, ok: false, reason: whyUnreachable(socketError ?? error) } as const;
        } finally {
          client.disconnect();
        }
      })(),
    );
  }
  return Promise.all(checks);
}
