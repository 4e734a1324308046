/**
 * `cachefront doctor` and `cachefront reap` against the real servers, with states set up here and
 * torn down after: an account with sleeping connections (and the servers' default wait_timeout of
 * 8 hours), the same account with MAX_USER_CONNECTIONS, a namespace with keys that have no TTL, a
 * throwaway redis-server with allkeys-lru. Asserted: the recommendation ids, the exit codes, the
 * `--json` schema, the dry run that kills nothing, `--yes` killing exactly the candidates — and no
 * output, ever, holding a password.
 */
import { createRedisBudget } from '@cachefront/cache';
import { type Io, run } from '@cachefront/cli';
import { Redis } from 'ioredis';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL, REDIS_URL } from '../support/env.js';
import { accountUrl, adminConnection, closeQuietly, createAccount, rawConnection, type TestAccount, threadsOf, waitForThreadGone } from '../support/mysql.js';
import { auxRedisPort, randomNamespace, startAuxRedis, stopAuxRedis } from '../support/redis.js';

/** Runs the command in-process and keeps everything it printed. */
async function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) }, env };
  const code = await run(args, io);
  printed.push(out, err);
  return { code, out, err };
}

/** Every byte the commands printed in this file, scanned for the passwords at the end. */
const printed: string[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ids = (json: { recommendations: Array<{ id: string }> }) => json.recommendations.map((r) => r.id);

describe('cachefront doctor and reap', () => {
  let admin: Connection;
  let account: TestAccount;
  const sleepers: Connection[] = [];
  let url: string;
  beforeAll(async () => {
    admin = await adminConnection(MYSQL);
    account = await createAccount(admin, MYSQL);
    url = accountUrl(account, MYSQL);
  });
  afterAll(async () => {
    for (const connection of sleepers) await closeQuietly(connection);
    await account.drop();
    await closeQuietly(admin);
    // No output of any command in this file holds the account's password.
    for (const text of printed) expect(text).not.toContain(account.password);
  });

  async function openSleepers(n: number): Promise<number[]> {
    const opened = await Promise.all(Array.from({ length: n }, () => rawConnection(account.connection)));
    sleepers.push(...opened);
    return Promise.all(opened.map(async (c) => Number(((await c.query('SELECT CONNECTION_ID() AS id')) as [Array<{ id: number }>, unknown])[0][0]?.id)));
  }

  it('finds the zombies, the 8-hour timeouts and the missing connection cap, with the exact fixes, as JSON and exit code 1', async () => {
    const zombies = await openSleepers(3);
    await sleep(1200);
    const { code, out } = await cli(['doctor', '--mysql', url, '--zombie-idle', '1s', '--json']);
    expect(code).toBe(1);
    const json = JSON.parse(out);
    expect(Object.keys(json)).toEqual(['version', 'servers', 'limits', 'usage', 'findings', 'recommendations']);
    expect(json.servers).toEqual({ mysql: `${account.user}@${MYSQL.host}:${MYSQL.port}/${account.database}`, redis: null });
    expect(json.limits).toMatchObject({ max_connections: expect.any(Number), account_max_user_connections: 0 });
    expect(ids(json)).toEqual(expect.arrayContaining(['zombies', 'max-user-connections']));
    for (const r of json.recommendations) expect(Object.keys(r).sort()).toEqual(['evidence', 'fix', 'id', 'message', 'severity']);
    const zombie = json.recommendations.find((r: { id: string }) => r.id === 'zombies');
    expect(zombie.evidence.sleeping).toBe(3);
    expect(json.usage.mysql.zombies.map((z: { id: number }) => z.id).sort()).toEqual([...zombies].sort());
    const cap = json.recommendations.find((r: { id: string }) => r.id === 'max-user-connections');
    expect(cap.fix).toBe(`ALTER USER '${account.user}'@'%' WITH MAX_USER_CONNECTIONS ${Math.floor(json.limits.max_connections * 0.8)};`);
    // This server keeps MariaDB's default 8-hour wait_timeout: the doctor says so, with the setting.
    const [[timeouts]] = (await admin.query('SELECT @@GLOBAL.wait_timeout AS wait')) as unknown as [[{ wait: number }]];
    if (timeouts.wait > 600) expect(json.recommendations.find((r: { id: string }) => r.id === 'wait-timeout').fix).toContain('SET GLOBAL wait_timeout = 600');
  });

  it('reap lists the candidates in a dry run and kills nothing; --yes kills exactly them, and no younger one', async () => {
    const before = (await threadsOf(admin, account.user)).map((t) => t.id).sort();
    const dry = await cli(['reap', '--mysql', url, '--older-than', '1s', '--json']);
    expect(dry.code).toBe(0);
    const planned = JSON.parse(dry.out);
    expect(planned.dryRun).toBe(true);
    expect(planned.killed).toEqual([]);
    expect(planned.candidates.length).toBe(3);
    // Nothing was killed. (The CLI's own connection, as the same account, may still be unwinding.)
    const after = (await threadsOf(admin, account.user)).map((t) => t.id);
    for (const id of before) expect(after).toContain(id);
    // A connection opened now is too young for the threshold: it must survive the kill.
    const [young] = await openSleepers(1);
    const done = await cli(['reap', '--mysql', url, '--older-than', '1s', '--yes']);
    expect(done.code).toBe(0);
    expect(done.out).toContain('3 killed');
    // A killed thread may linger a moment in the processlist while it unwinds.
    for (const c of planned.candidates) await waitForThreadGone(admin, c.id);
    expect((await threadsOf(admin, account.user)).map((t) => t.id)).toContain(young);
  });

  it('drops the recommendation once the account has MAX_USER_CONNECTIONS; text output names the fix', async () => {
    await admin.query(`ALTER USER '${account.user}'@'%' WITH MAX_USER_CONNECTIONS 10`);
    const { out } = await cli(['doctor', '--mysql', url, '--json']);
    const json = JSON.parse(out);
    expect(json.limits.account_max_user_connections).toBe(10);
    expect(ids(json)).not.toContain('max-user-connections');
    const text = await cli(['doctor', '--mysql', url], { NO_COLOR: '1' });
    expect(text.out).toContain('max_user_connections');
    expect(text.out).not.toContain('\u001b[');
  });

  it('says which server it could not reach or log in to, with exit code 2 and no password', async () => {
    const wrong = `mysql://${account.user}:not-${encodeURIComponent(account.password)}@${MYSQL.host}:${MYSQL.port}/`;
    const refused = await cli(['doctor', '--mysql', wrong]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('the login was refused');
    const nothing = await cli(['doctor', '--redis', 'redis://127.0.0.1:1']);
    expect(nothing.code).toBe(2);
    expect(nothing.err).toContain('connection refused');
    expect((await cli(['doctor'])).code).toBe(2);
    expect((await cli(['doctor', '--bogus'])).code).toBe(2);
    for (const command of ['doctor', 'reap', 'watch']) {
      const help = await cli([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.out).toContain(`Usage: cachefront ${command}`);
    }
    expect((await cli(['--help'])).out).toMatch(/doctor[\s\S]*reap[\s\S]*watch/);
    expect((await cli(['frobnicate'])).code).toBe(2);
  });
});

describe('cachefront doctor on Redis', () => {
  it('finds keys without a TTL in a cachefront namespace', async () => {
    const redis = new Redis(REDIS_URL);
    const namespace = randomNamespace('cfdoc');
    try {
      await redis.set(`${namespace}:{${namespace}/product}:1:v:[1]`, 'x', 'PX', 60_000);
      await redis.set(`${namespace}:{${namespace}/product}:1:v:[2]`, 'x');
      const { code, out } = await cli(['doctor', '--redis', REDIS_URL, '--json', '--scan-keys', '10000000']);
      expect(code).toBe(1);
      const json = JSON.parse(out);
      const ns = json.usage.redis.namespaces.find((n: { namespace: string }) => n.namespace === namespace);
      expect(ns).toMatchObject({ keys: 2, withoutTtl: 1 });
      const finding = json.recommendations.find(
        (r: { id: string; evidence: { namespace?: string } }) => r.id === 'keys-without-ttl' && r.evidence.namespace === namespace,
      );
      expect(finding.evidence).toMatchObject({ 'keys without a TTL': 1, keys: 2 });
    } finally {
      await redis.del(`${namespace}:{${namespace}/product}:1:v:[1]`, `${namespace}:{${namespace}/product}:1:v:[2]`);
      redis.disconnect();
    }
  });

  it('recommends volatile-lru over allkeys-lru, and nothing on a clean server (exit 0)', async () => {
    const port = await auxRedisPort();
    await startAuxRedis(port);
    const redis = new Redis({ port, host: '127.0.0.1' });
    try {
      const clean = await cli(['doctor', '--redis', `redis://127.0.0.1:${port}`, '--json']);
      expect(clean.code).toBe(0);
      expect(JSON.parse(clean.out).recommendations).toEqual([]);
      await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const { code, out } = await cli(['doctor', '--redis', `redis://127.0.0.1:${port}`, '--json']);
      expect(code).toBe(1);
      const policy = JSON.parse(out).recommendations.find((r: { id: string }) => r.id === 'maxmemory-policy');
      expect(policy.evidence['maxmemory-policy']).toBe('allkeys-lru');
      expect(policy.fix).toContain('volatile-lru');
    } finally {
      redis.disconnect();
      await stopAuxRedis(port);
    }
  });

  it('shows a fleet budget’s seats and waiters, and recommends fewer containers when some wait', async () => {
    const port = await auxRedisPort();
    await startAuxRedis(port);
    const url = `redis://127.0.0.1:${port}`;
    // Capacity 1 (limit 2 × share 0.5): one container holds the seat, a second waits.
    const budget = createRedisBudget({ redis: url, name: 'doctor', limit: 2, share: 0.5 });
    try {
      await budget.publishLimit(2);
      const first = await budget.acquire({ deadline: Date.now() + 5000 });
      if (first.kind !== 'granted') throw new Error('the first container gets the seat');
      const second = budget.acquire({ deadline: Date.now() + 10_000 });
      // Settled below; if an assertion fails first, the close in `finally` rejects it.
      second.catch(() => undefined);
      await sleep(100);
      const { code, out } = await cli(['doctor', '--redis', url, '--json']);
      expect(code).toBe(1);
      const json = JSON.parse(out);
      expect(json.usage.redis.budget_states).toEqual([{ name: 'doctor', taken: 1, lapsed: 0, waiting: 1, limit: 2 }]);
      const waiting = json.recommendations.find((r: { id: string }) => r.id === 'budget-waiting');
      expect(waiting.evidence).toMatchObject({ budget: 'doctor', waiting: 1, taken: 1 });
      await budget.release(first.lease);
      const granted = await second;
      if (granted.kind === 'granted') await budget.release(granted.lease);
    } finally {
      await budget.close();
      await stopAuxRedis(port);
    }
  });
});
