/**
 * TLS to Redis, proven on a real redis-server that speaks only TLS (scripts/redis-aux.sh with the
 * certificates scripts/tls-certs.sh makes at test time; its own port, stopped afterwards): the cache
 * works over TLS given the CA, with `tls: { ca }` and with a plain `rediss://` URL trusted through
 * Node's CA store (as ElastiCache's CA is). A CA that did not sign the server's certificate, and a
 * host name the certificate does not list, are refused — and the cache says so: a typed
 * `connection-error` event and a counter, reads that fall back to the loader with a bypass that
 * says `tls`, an invalidation that fails with a cause that says TLS. Never the password.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import {
  type Cache,
  type CacheEventName,
  type CacheEvents,
  CacheUnavailableError,
  createRedisCache,
  type RedisCacheOptions,
  RedisFailureError,
} from '@cachefront/cache';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auxRedisPort, inventory, randomNamespace, startAuxRedis, stopAuxRedis } from '../support/redis.js';
import { type Certificates, makeCertificates } from '../support/tls.js';
import { waitFor } from '../support/wait-for.js';
import type { RedissWorkerConfig, RedissWorkerReport } from './workers/rediss-worker.js';

const USER = 'cachefront_app';
const PASSWORD = 'Tls-Test-Password-7f3a9c';

let certs: Certificates;
let port: number;
let admin: Redis;
const caches: Cache[] = [];

beforeAll(async () => {
  certs = await makeCertificates();
  port = await auxRedisPort();
  await startAuxRedis(port, certs.dir);
  admin = new Redis({ host: '127.0.0.1', port, tls: { ca: certs.ca } });
  await admin.call('ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, '~*', '+@all');
});

afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

afterAll(async () => {
  admin?.disconnect();
  await stopAuxRedis(port);
  await certs?.remove();
});

interface Watched {
  cache: Cache;
  namespace: string;
  events: Array<{ event: CacheEventName; payload: unknown }>;
  of<E extends CacheEventName>(event: E): Array<CacheEvents[E]>;
}

function watchedCache(redis: RedisCacheOptions['redis']): Watched {
  const namespace = randomNamespace();
  const cache = createRedisCache({ redis, namespace });
  caches.push(cache);
  const events: Watched['events'] = [];
  for (const event of ['connection-error', 'error', 'timeout', 'bypass', 'fill', 'hit'] as const) {
    cache.on(event, (payload) => events.push({ event, payload }));
  }
  const of = <E extends CacheEventName>(event: E) => events.filter((e) => e.event === event).map((e) => e.payload as CacheEvents[E]);
  return { cache, namespace, events, of };
}

/** Message, stack, properties and causes: everything an error shows. */
function shown(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    parts.push(current.message, String(current.stack), JSON.stringify(current), inspect(current, { depth: 10, showHidden: true }));
  }
  return parts.join('\n');
}

describe('the cache over TLS', () => {
  it.each(['127.0.0.1', 'localhost'])('fills, hits and invalidates with `tls: { ca }` (host %s)', async (host) => {
    const { cache, namespace, of } = watchedCache({ host, port, tls: { ca: certs.ca }, username: USER, password: PASSWORD });
    const items = cache.entity<{ id: number }, { id: number; name: string }>({ name: 'item', ttlMs: 60_000, tags: ({ id }) => [`item:${id}`] });
    let loads = 0;
    const load = async ({ id }: { id: number }) => {
      loads += 1;
      return { id, name: 'Hammer' };
    };
    expect((await items.get({ id: 1 }, load)).status).toBe('miss');
    expect(await items.get({ id: 1 }, load)).toEqual({ value: { id: 1, name: 'Hammer' }, status: 'fresh' });
    await cache.invalidate(['item:1']);
    expect((await items.get({ id: 1 }, load)).status).toBe('miss');
    expect(loads).toBe(2);
    expect(cache.stats()).toMatchObject({ fills: 2, hits: 1, errors: 0, timeouts: 0, tlsErrors: 0, authErrors: 0, networkErrors: 0 });
    expect(of('connection-error')).toEqual([]);
    // The entries are on this server, with TTLs; and this server has no plain port at all.
    const keys = await inventory(admin, namespace);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.pttl).toBeGreaterThan(0);
    expect(await admin.call('CONFIG', 'GET', 'port')).toEqual(['port', '0']);
    expect(await admin.call('CONFIG', 'GET', 'tls-port')).toEqual(['tls-port', String(port)]);
  });

  it("works with a plain rediss:// URL when the server's CA is in Node's store, and is refused for TLS when it is not", async () => {
    const url = `rediss://${USER}:${PASSWORD}@localhost:${port}`;
    const trusted = await rediss({ url, namespace: randomNamespace() }, { NODE_EXTRA_CA_CERTS: certs.path('ca.crt') });
    expect(trusted).toMatchObject({ statuses: ['miss', 'fresh', 'miss'], loads: 2, connectionErrors: [] });
    expect(trusted.invalidateError).toBeUndefined();
    expect(trusted.stats).toMatchObject({ fills: 2, errors: 0, timeouts: 0, tlsErrors: 0 });

    const untrusted = await rediss({ url, namespace: randomNamespace() }, {});
    expect(untrusted.statuses).toEqual(['miss', 'miss', 'miss']);
    expect(untrusted.loads).toBe(3);
    expect(untrusted.connectionErrors[0]).toEqual({ kind: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    expect(untrusted.stats.tlsErrors).toBeGreaterThanOrEqual(1);
    expect(untrusted.invalidateError).toBe('CacheUnavailableError');
  });
});

describe('a certificate the client must refuse', () => {
  it.each([
    ['a CA that did not sign the certificate', () => ({ ca: certs.otherCa }), 'SELF_SIGNED_CERT_IN_CHAIN'],
    ["no CA but Node's default store", () => ({}), 'SELF_SIGNED_CERT_IN_CHAIN'],
    ['a host name the certificate does not list', () => ({ ca: certs.ca, servername: 'wrong.example' }), 'ERR_TLS_CERT_ALTNAME_INVALID'],
  ] as const)('%s: a tls connection-error and counter, a bypass that says tls, an invalidation with a TLS cause', async (_, tls, code) => {
    const { cache, of, events } = watchedCache({ host: '127.0.0.1', port, tls: tls(), username: USER, password: PASSWORD });
    await waitFor(() => of('connection-error').length > 0, { message: 'a connection-error event' });
    expect(of('connection-error')[0]).toEqual({ kind: 'tls', code });

    const items = cache.entity<{ id: number }, string>({ name: 'item', ttlMs: 60_000 });
    const started = performance.now();
    expect(await items.get({ id: 1 }, async () => 'from MySQL')).toEqual({ value: 'from MySQL', status: 'miss' });
    // The read waited one command timeout for a connection that cannot be made, no more.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(of('bypass')).toEqual([{ entity: 'item', operation: 'read', reason: 'error', kind: 'tls', code }]);
    expect(of('error')).toContainEqual({ operation: 'read', code, kind: 'tls' });
    expect(of('timeout')).toEqual([]);
    const stats = cache.stats();
    expect(stats.tlsErrors).toBeGreaterThanOrEqual(1);
    expect(stats).toMatchObject({ timeouts: 0, authErrors: 0, networkErrors: 0 });

    const error = await cache.invalidate(['item:1']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheUnavailableError);
    expect((error as CacheUnavailableError).tags).toEqual(['item:1']);
    const cause = (error as CacheUnavailableError).cause;
    expect(cause).toBeInstanceOf(RedisFailureError);
    expect(cause).toMatchObject({ kind: 'tls', redisCode: code });
    expect((cause as Error).message).toMatch(code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? /`redis\.tls\.servername`/ : /`redis\.tls\.ca`/);

    expect(shown(error) + JSON.stringify(events)).not.toContain(PASSWORD);
  });

  it('rejectUnauthorized: false is the explicit opt-out: it connects to a server it cannot verify', async () => {
    const { cache, of } = watchedCache({ host: '127.0.0.1', port, tls: { ca: certs.otherCa, rejectUnauthorized: false }, username: USER, password: PASSWORD });
    const items = cache.entity<{ id: number }, string>({ name: 'item', ttlMs: 60_000 });
    await items.get({ id: 1 }, async () => 'v');
    expect((await items.get({ id: 1 }, async () => 'v')).status).toBe('fresh');
    expect(of('connection-error')).toEqual([]);
  });
});

/** tsx's CLI, run by this Node. From test/, `@cachefront/cache` resolves to its sources. */
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const worker = new URL('./workers/rediss-worker.ts', import.meta.url);
const cwd = new URL('..', import.meta.url);

function rediss(config: RedissWorkerConfig, env: Record<string, string>): Promise<RedissWorkerReport> {
  const { NODE_EXTRA_CA_CERTS: _, ...inherited } = process.env;
  const child = spawn(process.execPath, [tsxCli, '--conditions=@cachefront/source', worker.pathname], {
    cwd: cwd.pathname,
    env: { ...inherited, ...env, CF_REDISS_WORKER: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`rediss worker exited with ${String(code)}: ${stderr.slice(-2000)}`));
      try {
        resolve(JSON.parse(stdout.trim()) as RedissWorkerReport);
      } catch (error) {
        reject(new Error(`rediss worker printed no report: ${stdout.slice(0, 500)} ${stderr.slice(-2000)}`, { cause: error }));
      }
    });
  });
}
