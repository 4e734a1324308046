/**
 * The demo checks its servers first (issue 12): with Redis unreachable it says which server, why,
 * and how to start it, and exits 2 — no silent bypass of the cache, no stack trace; with
 * `--start-servers` it starts a throwaway redis-server, runs on it (the cache is used), and stops it.
 */
import { execFile } from 'node:child_process';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = `${root}node_modules/.bin/tsx`;
const main = `${root}examples/src/lambda-sim/main.ts`;

function demo(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(tsx, ['--conditions=@cachefront/source', main, ...args], { env: { ...process.env, ...env }, timeout: 120_000 }, (error, out, err) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, out, err });
    });
  });
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

describe('the demo checks its servers first', () => {
  it('says which server is missing and how to start it, with exit code 2 and no stack trace', async () => {
    const { code, out, err } = await demo([], { CACHEFRONT_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(code).toBe(2);
    expect(err).toContain('Redis redis://127.0.0.1:1: connection refused');
    expect(err).toContain('redis-server --daemonize yes');
    expect(err).toContain('--start-servers');
    expect(`${out}${err}`).not.toMatch(/\n\s+at /);
    // It stopped before the fleet: no table, no silently bypassed cache.
    expect(out).not.toContain('cache hit ratio');
  });

  it('with --start-servers runs on a throwaway redis-server, uses the cache, and stops the server', async () => {
    const { code, out } = await demo(['--start-servers', '--containers', '4', '--waves', '1', '--invocations', '4', '--gap-ms', '0'], {
      CACHEFRONT_REDIS_URL: 'redis://127.0.0.1:1',
    });
    expect(code).toBe(0);
    const port = Number(/Started a throwaway redis-server on 127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(out).toMatch(/cache hit ratio\s+–\s+\d+\.\d%/);
    expect(await refused(port)).toBe(true);
  });
});
