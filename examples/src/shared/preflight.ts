/**
 * The demo's first step: are MariaDB/MySQL and Redis there? The doctor's reachability checks
 * (`@cachefront/cli`). When one is missing the demo says which, why, and how to start it — never a
 * silent bypass of the cache, never a stack trace — and with `--start-servers` it starts a
 * throwaway server for each missing one from the installed `mariadbd` / `redis-server` (the
 * scripts the tests use, on a free loopback port), runs against it, and stops it at the end.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { checkReachable, mysqlTarget, redisTarget } from '@cachefront/cli';
import type { AdminConfig } from './admin-session.js';

const run = promisify(execFile);
const script = (name: string) => fileURLToPath(new URL(`../../../scripts/${name}`, import.meta.url));

export interface Servers {
  readonly mysql: AdminConfig;
  readonly redisUrl: string;
  /** What was started for this run (empty when both were there). */
  readonly started: readonly string[];
  /** Stops what was started. */
  stop(): Promise<void>;
}

export type Preflight = { readonly ok: true; readonly servers: Servers } | { readonly ok: false; readonly message: string };

const HOW_TO_START = {
  MySQL:
    'start it (here: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd; elsewhere: systemctl start mariadb), or point the demo at yours with CACHEFRONT_MYSQL_HOST / _PORT / _USER / _PASSWORD',
  Redis: 'start it (redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no), or point the demo at yours with CACHEFRONT_REDIS_URL',
} as const;

export async function preflight(mysql: AdminConfig, redisUrl: string, startServers: boolean): Promise<Preflight> {
  const url = `mysql://${encodeURIComponent(mysql.user)}:${encodeURIComponent(mysql.password)}@${mysql.host}:${mysql.port}/`;
  const checks = await checkReachable({ mysql: mysqlTarget(url), redis: redisTarget(redisUrl) }, 2000);
  const missing = checks.filter((check) => !check.ok);
  if (missing.length === 0) return { ok: true, servers: { mysql, redisUrl, started: [], stop: async () => {} } };
  if (!startServers) {
    const lines = missing.map((check) => `  ${check.service} ${check.label}: ${check.reason}\n    → ${HOW_TO_START[check.service]}`);
    return {
      ok: false,
      message: `The demo needs MariaDB/MySQL and Redis, and ${missing.map((c) => c.service).join(' and ')} cannot be reached:\n${lines.join('\n')}\n  Or let the demo start throwaway servers for this run: npx -y pnpm@12.4.2 demo -- --start-servers`,
    };
  }
  const stops: Array<() => Promise<void>> = [];
  const started: string[] = [];
  let servers: Servers = { mysql, redisUrl, started, stop: async () => {} };
  try {
    for (const check of missing) {
      const port = await freePort();
      if (check.service === 'MySQL') {
        await run('bash', [script('mariadb-aux.sh'), 'start', String(port)]);
        stops.push(async () => {
          await run('bash', [script('mariadb-aux.sh'), 'purge', String(port)]);
        });
        servers = { ...servers, mysql: { host: '127.0.0.1', port, user: 'root', password: '' } };
        started.push(`a throwaway MariaDB on 127.0.0.1:${port}`);
      } else {
        await run('bash', [script('redis-aux.sh'), 'start', String(port)]);
        stops.push(async () => {
          await run('bash', [script('redis-aux.sh'), 'stop', String(port)]);
        });
        servers = { ...servers, redisUrl: `redis://127.0.0.1:${port}` };
        started.push(`a throwaway redis-server on 127.0.0.1:${port}`);
      }
    }
  } catch (error) {
    for (const stop of stops) await stop().catch(() => {});
    const code = (error as { code?: unknown }).code;
    return {
      ok: false,
      message: `Could not start a throwaway server (${String(code ?? 'failed')}): are mariadbd, mariadb-install-db and redis-server installed?`,
    };
  }
  return {
    ok: true,
    servers: {
      ...servers,
      async stop() {
        for (const stop of stops) await stop().catch(() => {});
      },
    },
  };
}

/** A loopback port the system has just handed out as free. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
