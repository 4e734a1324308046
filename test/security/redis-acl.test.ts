/**
 * Redis ACL users, on a throwaway redis-server of the test's own (scripts/redis-aux.sh): a
 * least-privilege user — only the keys of the cache's namespace and only the commands the cache
 * sends (the driver's MGET / GET / SET / DEL, the Lua scripts' EVALSHA with EVAL as fallback, and
 * ioredis' INFO ready check) — runs the cache, and is refused everything else, Lua included. A wrong
 * password is an `auth` connection-error with a counter; a user missing a permission gets a typed,
 * attributable error (kind `auth`, code NOPERM). docs/SECURITY.md documents exactly this rule.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { inspect } from 'node:util';
import { type CacheEventName, type CacheEvents, CacheUnavailableError, createRedisCache, RedisFailureError, tagKey } from '@cachefront/cache';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  auxRedisPort,
  clusterClient,
  inventory,
  REDIS_CLUSTER_NODES,
  REDIS_CLUSTER_PORTS,
  randomNamespace,
  ready,
  slotOwners,
  startAuxRedis,
  stopAuxRedis,
} from '../support/redis.js';
import { masterPorts } from '../support/redis-cluster.js';
import { waitFor } from '../support/wait-for.js';

/** The rule docs/SECURITY.md gives, for namespace `cf`: the test applies it with its own namespace. */
const DOCUMENTED = 'ACL SETUSER cachefront reset on >CHANGE-ME ~cf:* -@all +get +mget +set +del +evalsha +eval +info +wait +time +role';

/** On Redis Cluster, ioredis also reads the slot table and checks the cluster's state. */
const DOCUMENTED_CLUSTER =
  'ACL SETUSER cachefront reset on >CHANGE-ME ~cf:* -@all +get +mget +set +del +evalsha +eval +info +wait +time +role +cluster|slots +cluster|info +cluster|myid +cluster|replicas';

/** The documented rule's words after the password, for `namespace`. */
const rule = (namespace: string) => [
  'reset',
  'on',
  `~${namespace}:*`,
  '-@all',
  '+get',
  '+mget',
  '+set',
  '+del',
  '+evalsha',
  '+eval',
  '+info',
  '+wait',
  '+time',
  '+role',
];
const clusterRule = (namespace: string) => [...rule(namespace), '+cluster|slots', '+cluster|info', '+cluster|myid', '+cluster|replicas'];

let port: number;
let admin: Redis;
const users: string[] = [];
const clients: Array<{ close(): Promise<void> } | Redis | Cluster> = [];

beforeAll(async () => {
  port = await auxRedisPort();
  await startAuxRedis(port);
  admin = new Redis({ host: '127.0.0.1', port });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => (client instanceof Redis || client instanceof Cluster ? client.quit() : client.close())));
  for (const user of users.splice(0)) await admin.call('ACL', 'DELUSER', user);
});

afterAll(async () => {
  admin?.disconnect();
  await stopAuxRedis(port);
});

interface Account {
  user: string;
  password: string;
  namespace: string;
}

/** A user of the test's own with the documented rule (or `words` instead of it). */
async function aclUser(words?: (namespace: string) => string[]): Promise<Account> {
  const user = `cf_acl_${randomBytes(4).toString('hex')}`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const namespace = randomNamespace();
  const [head, ...rest] = (words ?? rule)(namespace);
  await admin.call('ACL', 'SETUSER', user, head ?? 'reset', `>${password}`, ...rest);
  users.push(user);
  return { user, password, namespace };
}

function cacheAs(account: Account, password = account.password) {
  const cache = createRedisCache({ redis: { host: '127.0.0.1', port, username: account.user, password }, namespace: account.namespace });
  clients.push(cache);
  const events: Array<{ event: CacheEventName; payload: unknown }> = [];
  for (const event of ['connection-error', 'error', 'timeout', 'bypass'] as const) cache.on(event, (payload) => events.push({ event, payload }));
  const of = <E extends CacheEventName>(event: E) => events.filter((e) => e.event === event).map((e) => e.payload as CacheEvents[E]);
  const items = cache.entity<{ id: number }, { id: number }>({ name: 'item', ttlMs: 60_000, tags: ({ id }) => [`item:${id}`, 'items'] });
  return { cache, events, of, items };
}

function shown(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    parts.push(current.message, String(current.stack), JSON.stringify(current), inspect(current, { depth: 10, showHidden: true }));
  }
  return parts.join('\n');
}

const load = async ({ id }: { id: number }) => ({ id });

describe('a least-privilege ACL user', () => {
  it('is the rule docs/SECURITY.md documents', async () => {
    const docs = await readFile(new URL('../../docs/SECURITY.md', import.meta.url), 'utf8');
    expect(docs).toContain(DOCUMENTED);
    expect(docs).toContain(DOCUMENTED_CLUSTER);
    expect(DOCUMENTED_CLUSTER.split(' ').slice(-4)).toEqual(clusterRule('cf').slice(-4));
    const documented = DOCUMENTED.split(' ').slice(3);
    const [reset, on, , ...commands] = rule('cf');
    expect(documented).toEqual([reset, on, '>CHANGE-ME', '~cf:*', ...commands]);
  });

  it('runs the cache: fills, hits, invalidates several tags at once, deletes — with no error and no warning', async () => {
    const warn = vi.spyOn(console, 'warn');
    const account = await aclUser();
    const { cache, of, items } = cacheAs(account);
    expect((await items.get({ id: 1 }, load)).status).toBe('miss');
    expect((await items.get({ id: 1 }, load)).status).toBe('fresh');
    expect((await items.getMany([{ id: 1 }, { id: 2 }], async (list) => list.map((p) => ({ id: p.id })))).map((r) => r.status)).toEqual(['fresh', 'miss']);
    await cache.invalidate(['item:1', 'items']);
    expect((await items.get({ id: 1 }, load)).status).toBe('miss');
    await items.delete({ id: 1 });
    expect((await items.get({ id: 1 }, load)).status).toBe('miss');
    expect(cache.stats()).toMatchObject({ errors: 0, timeouts: 0, authErrors: 0, fills: 4 });
    expect(of('error')).toEqual([]);
    // ioredis' ready check (INFO) is allowed, so it warns about nothing.
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it('may do nothing else: no other key, no other command, and no way around it through Lua', async () => {
    const account = await aclUser();
    const client = new Redis({ host: '127.0.0.1', port, username: account.user, password: account.password, maxRetriesPerRequest: 0 });
    clients.push(client);
    await client.set(`${account.namespace}:mine`, '1', 'PX', 10_000);
    const refused = async (run: () => Promise<unknown>) => {
      const error = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      // Refused inside Lua, Redis 7.0 says "ERR The user executing the script can't ..." (7.2+: "ERR ACL failure in script").
      expect((error as Error | undefined)?.message).toMatch(/^(NOPERM|ERR The user executing the script can't|ERR ACL failure in script)/);
    };
    await refused(() => client.get('other:key'));
    await refused(() => client.set(`x${account.namespace}:key`, '1'));
    await refused(() => client.keys('*'));
    await refused(() => client.flushall());
    await refused(() => client.call('CONFIG', 'GET', 'requirepass'));
    await refused(() => client.call('ACL', 'LIST'));
    await refused(() => client.eval("return redis.call('GET', KEYS[1])", 1, 'other:key'));
    await refused(() => client.eval("return redis.call('FLUSHALL')", 0));
    await refused(() => client.pttl(`${account.namespace}:mine`));
    expect(await client.eval("return redis.call('GET', KEYS[1])", 1, `${account.namespace}:mine`)).toBe('1');
  });

  it('with a wrong password: an auth connection-error and counter, reads from the loader with a bypass that says auth, never the password', async () => {
    const account = await aclUser();
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const { cache, events, of, items } = cacheAs(account, wrong);
    await waitFor(() => of('connection-error').length > 0, { message: 'a connection-error event' });
    expect(of('connection-error')[0]).toEqual({ kind: 'auth', code: 'WRONGPASS' });

    expect(await items.get({ id: 1 }, load)).toEqual({ value: { id: 1 }, status: 'miss' });
    expect(of('bypass')).toEqual([{ entity: 'item', operation: 'read', reason: 'error', kind: 'auth', code: 'WRONGPASS' }]);
    const error = await cache.invalidate(['item:1']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheUnavailableError);
    expect((error as Error).cause).toMatchObject({ kind: 'auth', redisCode: 'WRONGPASS' });
    expect((error as Error).cause).toBeInstanceOf(RedisFailureError);
    expect(((error as Error).cause as Error).message).toMatch(/`redis\.password`/);
    const stats = cache.stats();
    expect(stats.authErrors).toBeGreaterThanOrEqual(1);
    expect(stats).toMatchObject({ tlsErrors: 0, timeouts: 0 });
    // Each failed login is counted once: not again by the calls ioredis rejected with the same error.
    expect(stats.authErrors).toBe(of('connection-error').filter((e) => e.kind === 'auth').length);
    const everything = shown(error) + JSON.stringify(events);
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(account.password);
  });

  it('without the keys of its namespace: a typed NOPERM error, attributed to auth, with no key or tag in it', async () => {
    const account = await aclUser((namespace) => ['reset', 'on', `~other${namespace}:*`, ...rule(namespace).slice(3)]);
    const { cache, events, of, items } = cacheAs(account);
    expect((await items.get({ id: 7 }, load)).value).toEqual({ id: 7 });
    expect(of('bypass')).toEqual([{ entity: 'item', operation: 'read', reason: 'error', kind: 'auth', code: 'NOPERM' }]);
    expect(of('error')).toContainEqual({ operation: 'read', code: 'NOPERM', kind: 'auth' });
    expect(cache.stats().authErrors).toBeGreaterThanOrEqual(1);
    expect(of('connection-error')).toEqual([]);

    const error = await cache.invalidate(['item:secret-tag-7']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CacheUnavailableError);
    const cause = (error as Error).cause;
    expect(cause).toBeInstanceOf(RedisFailureError);
    expect(cause).toMatchObject({ code: 'E_REDIS_FAILURE', kind: 'auth', redisCode: 'NOPERM' });
    expect((cause as Error).message).toMatch(/SECURITY\.md/);
    const deletion = await items.delete({ id: 7 }).catch((e: unknown) => e);
    expect(deletion).toMatchObject({ kind: 'auth', redisCode: 'NOPERM' });
    const everything = shown(cause) + shown(deletion) + JSON.stringify(events);
    for (const secret of ['secret-tag', account.namespace, account.password, ':t:{']) expect(everything).not.toContain(secret);
  });

  it.each([
    ['EVALSHA and EVAL', ['+evalsha', '+eval']],
    ['SET, which its Lua scripts call', ['+set']],
  ])('without %s: every script is refused (NOPERM, kind auth), reads are answered by the loader, and nothing is cached', async (_, missing) => {
    const account = await aclUser((namespace) => rule(namespace).filter((word) => !missing.includes(word)));
    const { cache, of, items } = cacheAs(account);
    expect(await items.get({ id: 1 }, load)).toEqual({ value: { id: 1 }, status: 'miss' });
    expect(await items.get({ id: 1 }, load)).toEqual({ value: { id: 1 }, status: 'miss' });
    // A miss first gives its tags a token (a script): refused, so the read goes to the loader, and says why.
    expect(of('error')[0]).toEqual({ operation: 'read', code: 'NOPERM', kind: 'auth' });
    expect(of('bypass').length).toBeGreaterThan(0);
    expect(of('bypass').every((bypass) => bypass.kind === 'auth' && bypass.code === 'NOPERM')).toBe(true);
    expect(cache.stats()).toMatchObject({ fills: 0, hits: 0 });
    expect(cache.stats().authErrors).toBeGreaterThanOrEqual(2);
  });
});

describe('a least-privilege ACL user on Redis Cluster', () => {
  it('runs the cache on every master with the documented cluster rule', async () => {
    const user = `cf_acl_${randomBytes(4).toString('hex')}`;
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const namespace = randomNamespace();
    const nodes = REDIS_CLUSTER_PORTS.map((clusterPort) => new Redis({ host: '127.0.0.1', port: clusterPort }));
    const [head, ...rest] = clusterRule(namespace);
    try {
      // ACLs are not replicated: the user is set on every node, replicas too (one may take over).
      for (const node of nodes) await node.call('ACL', 'SETUSER', user, head ?? 'reset', `>${password}`, ...rest);
      const cluster = new Cluster(REDIS_CLUSTER_NODES, { redisOptions: { username: user, password }, enableAutoPipelining: true });
      clients.push(cluster);
      const cache = createRedisCache({ redis: cluster, namespace });
      clients.push(cache);
      await ready(cluster);
      const inspector = clusterClient();
      clients.push(inspector);
      await ready(inspector);
      // Tags on every master: each tag key sits in a slot of its own.
      const owner = await slotOwners(inspector);
      const tagOn = new Map<number, string>();
      const masters = await masterPorts(inspector);
      expect(masters).toHaveLength(3);
      for (let n = 0; tagOn.size < masters.length; n += 1) {
        const port = await owner(tagKey(namespace, `group:${n}`));
        if (!tagOn.has(port)) tagOn.set(port, `group:${n}`);
      }
      const groups = [...tagOn.values()];
      const items = cache.entity<{ id: number }, { id: number }>({ name: 'item', ttlMs: 60_000, tags: ({ id }) => [`item:${id}`, ...groups] });
      for (let id = 1; id <= 6; id += 1) expect((await items.get({ id }, load)).status).toBe('miss');
      for (let id = 1; id <= 6; id += 1) expect((await items.get({ id }, load)).status).toBe('fresh');
      await cache.invalidate(groups);
      expect((await items.get({ id: 1 }, load)).status).toBe('miss');
      expect(cache.stats()).toMatchObject({ errors: 0, timeouts: 0, authErrors: 0, fills: 7 });
      // This user wrote on every master: the tags' keys are on all of them.
      const ports = new Set((await inventory(inspector, namespace)).map((key) => key.port));
      expect(ports).toEqual(new Set(masters));
    } finally {
      for (const node of nodes) {
        await node.call('ACL', 'DELUSER', user);
        node.disconnect();
      }
    }
  });
});
