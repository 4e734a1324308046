import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Cache } from '../cache.js';
import type { CacheDriver, FillRequest, ReadResult, StoreProblem } from '../drivers/driver.js';
import { MemoryDriver } from '../drivers/memory-driver.js';
import { CacheTimeoutError, CacheUnavailableError, RedisFailureError } from '../errors.js';
import type { CacheEventName, CacheEvents } from '../events.js';

const PASSWORD = 'hunter2-Secret-Password';
const TAG = 'user:carol@secret.example';

/**
 * A store behind a connection, as the Redis driver reports it: `mode` makes every call hang (waiting
 * for a connection), fail with a reply carrying the command's arguments, or work; `report()` plays
 * the client's error event for a failed connection attempt.
 */
class ConnectionDriver implements CacheDriver {
  readonly sharedFate = true;
  readonly store = new MemoryDriver();
  mode: 'ok' | 'hang' | 'noperm' = 'ok';
  current: StoreProblem | undefined;
  readonly #listeners = new Set<(problem: StoreProblem) => void>();

  report(problem: StoreProblem): void {
    this.current = problem;
    for (const listener of this.#listeners) listener(problem);
  }

  problem(error?: unknown): StoreProblem | undefined {
    if ((error as { name?: unknown } | undefined)?.name === 'ReplyError') return { kind: 'auth', code: 'NOPERM' };
    return this.current;
  }

  onProblem(listener: (problem: StoreProblem) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  listeners(): number {
    return this.#listeners.size;
  }

  #run<T>(run: () => Promise<T>): Promise<T> {
    if (this.mode === 'hang') return new Promise<T>(() => {});
    if (this.mode === 'noperm') {
      const error = Object.assign(new Error('NOPERM this user has no permissions to access one of the keys used as arguments'), {
        name: 'ReplyError',
        command: { name: 'set', args: [`cf:tag:${TAG}`, PASSWORD] },
      });
      return Promise.reject(error);
    }
    return run();
  }

  read(keys: readonly string[], tagKeys: readonly string[]): Promise<ReadResult> {
    return this.#run(() => this.store.read(keys, tagKeys));
  }
  acquireLeases(leaseKeys: readonly string[], token: string, ttlMs: number): Promise<boolean[]> {
    return this.#run(() => this.store.acquireLeases(leaseKeys, token, ttlMs));
  }
  initTags(tagKeys: readonly string[], token: string, ttlMs: number): Promise<string[]> {
    return this.#run(() => this.store.initTags(tagKeys, token, ttlMs));
  }
  releaseLeases(leaseKeys: readonly string[], token: string): Promise<void> {
    return this.#run(() => this.store.releaseLeases(leaseKeys, token));
  }
  fill(requests: readonly FillRequest[], token: string): Promise<boolean[]> {
    return this.#run(() => this.store.fill(requests, token));
  }
  setTags(tagKeys: readonly string[], token: string, ttlMs: number): Promise<void> {
    return this.#run(() => this.store.setTags(tagKeys, token, ttlMs));
  }
  delete(keys: readonly string[]): Promise<void> {
    return this.#run(() => this.store.delete(keys));
  }
  ttl(key: string): Promise<number> {
    return this.store.ttl(key);
  }
  async close(): Promise<void> {}
}

const EVENTS = ['connection-error', 'error', 'timeout', 'bypass', 'circuit-open'] as const;

function setup(breakerThreshold = 10) {
  const driver = new ConnectionDriver();
  const cache = new Cache(driver, { namespace: 'cf', commandTimeoutMs: 5, breakerThreshold, leaseWaitMs: 0 });
  const events: Array<{ event: CacheEventName; payload: unknown }> = [];
  for (const event of EVENTS) cache.on(event, (payload: CacheEvents[typeof event]) => events.push({ event, payload }));
  const users = cache.entity<{ email: string }, string>({ name: 'user', ttlMs: 60_000, tags: ({ email }) => [`user:${email}`] });
  const of = <E extends CacheEventName>(event: E) => events.filter((e) => e.event === event).map((e) => e.payload as CacheEvents[E]);
  return { driver, cache, users, events, of };
}

/** Everything an error shows: message, stack, own properties, and the same down its causes. */
function shown(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    parts.push(current.message, String(current.stack), JSON.stringify(current), inspect(current, { depth: 10, showHidden: true }));
  }
  return parts.join('\n');
}

describe('connection problems the driver reports', () => {
  it('are a connection-error event and a counter by kind', () => {
    const { driver, cache, of } = setup();
    driver.report({ kind: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    driver.report({ kind: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    driver.report({ kind: 'auth', code: 'WRONGPASS' });
    driver.report({ kind: 'network', code: 'ECONNREFUSED' });
    expect(of('connection-error')).toEqual([
      { kind: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN' },
      { kind: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN' },
      { kind: 'auth', code: 'WRONGPASS' },
      { kind: 'network', code: 'ECONNREFUSED' },
    ]);
    expect(cache.stats()).toMatchObject({ tlsErrors: 2, authErrors: 1, networkErrors: 1, errors: 0, timeouts: 0 });
  });

  it('a read waiting on a connection refused for TLS falls back to the loader, and its bypass says tls, not timeout', async () => {
    const { driver, cache, users, of } = setup();
    driver.mode = 'hang';
    driver.report({ kind: 'tls', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    const result = await users.get({ email: 'carol@secret.example' }, async () => 'Carol');
    expect(result).toEqual({ value: 'Carol', status: 'miss' });
    expect(of('bypass')).toEqual([{ entity: 'user', operation: 'read', reason: 'error', kind: 'tls', code: 'ERR_TLS_CERT_ALTNAME_INVALID' }]);
    expect(of('error')).toEqual([{ operation: 'read', code: 'ERR_TLS_CERT_ALTNAME_INVALID', kind: 'tls' }]);
    expect(of('timeout')).toEqual([]);
    // The attempt was counted when the client reported it; the read that waited on it is one error, not a second TLS error.
    expect(cache.stats()).toMatchObject({ tlsErrors: 1, errors: 1, timeouts: 0 });
  });

  it('a slow Redis with no problem known is still a timeout', async () => {
    const { driver, cache, users, of } = setup();
    driver.mode = 'hang';
    await users.get({ email: 'dave@example.com' }, async () => 'Dave');
    expect(of('bypass')).toEqual([{ entity: 'user', operation: 'read', reason: 'timeout', kind: undefined, code: undefined }]);
    expect(cache.stats()).toMatchObject({ timeouts: 1, errors: 0, tlsErrors: 0 });
  });

  it('once the breaker is open, a bypass names the problem that opened it', async () => {
    const { driver, users, of } = setup(1);
    driver.mode = 'hang';
    driver.report({ kind: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    await users.get({ email: 'a@example.com' }, async () => 'A');
    await users.get({ email: 'a@example.com' }, async () => 'A');
    expect(of('circuit-open')).toHaveLength(1);
    expect(of('bypass').at(-1)).toEqual({ entity: 'user', operation: 'read', reason: 'circuit-open', kind: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
  });

  it('an invalidation that cannot reach Redis for TLS throws CacheUnavailableError whose cause says TLS', async () => {
    const { driver, cache } = setup();
    driver.mode = 'hang';
    driver.report({ kind: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    const error = await cache.invalidate([TAG]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheUnavailableError);
    const cause = (error as CacheUnavailableError).cause;
    expect(cause).toBeInstanceOf(RedisFailureError);
    expect(cause).toMatchObject({ code: 'E_REDIS_FAILURE', kind: 'tls', redisCode: 'SELF_SIGNED_CERT_IN_CHAIN' });
    expect((cause as Error).message).toMatch(/`redis\.tls\.ca`/);
    expect((error as CacheUnavailableError).tags).toEqual([TAG]);
  });

  it('without a problem known, an invalidation that times out keeps the timeout as its cause', async () => {
    const { driver, cache } = setup();
    driver.mode = 'hang';
    const error = await cache.invalidate(['product:1']).catch((e: unknown) => e);
    expect((error as CacheUnavailableError).cause).toBeInstanceOf(CacheTimeoutError);
  });

  it('close() stops listening to the driver', async () => {
    const { driver, cache } = setup();
    expect(driver.listeners()).toBe(1);
    await cache.close();
    expect(driver.listeners()).toBe(0);
  });
});

describe('a call refused for a permission (NOPERM)', () => {
  it('is an auth error, counted, and the read that met it says auth', async () => {
    const { driver, cache, users, of } = setup();
    driver.mode = 'noperm';
    expect((await users.get({ email: 'carol@secret.example' }, async () => 'Carol')).value).toBe('Carol');
    expect(of('bypass')).toEqual([{ entity: 'user', operation: 'read', reason: 'error', kind: 'auth', code: 'NOPERM' }]);
    expect(of('error')).toEqual([{ operation: 'read', code: 'NOPERM', kind: 'auth' }]);
    expect(cache.stats()).toMatchObject({ authErrors: 1, errors: 1 });
  });

  it("never hands on the client's error: no key, tag or password in the error, its cause or the events", async () => {
    const { driver, cache, users, events } = setup();
    driver.mode = 'noperm';
    await users.get({ email: 'carol@secret.example' }, async () => 'Carol');
    const invalidation = await cache.invalidate([TAG]).catch((e: unknown) => e);
    const deletion = await users.delete({ email: 'carol@secret.example' }).catch((e: unknown) => e);
    expect((invalidation as CacheUnavailableError).cause).toMatchObject({ kind: 'auth', redisCode: 'NOPERM' });
    expect(deletion).toBeInstanceOf(RedisFailureError);
    // The invalidation names its pending tags on purpose (`tags`); nothing else may.
    const { tags: _tags, ...rest } = invalidation as CacheUnavailableError;
    const everything = [
      shown(deletion),
      shown((invalidation as Error).cause),
      (invalidation as Error).message,
      JSON.stringify(rest),
      JSON.stringify(events),
    ].join('\n');
    for (const secret of [PASSWORD, 'carol', 'secret.example', 'cf:tag']) expect(everything).not.toContain(secret);
  });
});

describe('RedisFailureError', () => {
  it.each([
    [{ kind: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN' }, /`redis\.tls\.ca`/],
    [{ kind: 'tls', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, /`redis\.tls\.ca`/],
    [{ kind: 'tls', code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, /`redis\.tls\.servername`/],
    [{ kind: 'tls', code: 'CERT_HAS_EXPIRED' }, /expired/],
    [{ kind: 'tls', code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }, /handshake.*`redis\.tls`/],
    [{ kind: 'auth', code: 'WRONGPASS' }, /`redis\.password`/],
    [{ kind: 'auth', code: 'NOAUTH' }, /`redis\.password`/],
    [{ kind: 'auth', code: 'NOPERM' }, /SECURITY\.md/],
    [{ kind: 'network', code: 'ECONNREFUSED' }, /`redis\.host`/],
    [{ kind: 'server', code: 'OOM' }, /\(OOM\)/],
  ] as const)('%o names what to check', (problem, message) => {
    const error = new RedisFailureError(problem);
    expect(error.message).toMatch(message);
    expect(error).toMatchObject({ name: 'RedisFailureError', code: 'E_REDIS_FAILURE', kind: problem.kind, redisCode: problem.code });
  });
});
