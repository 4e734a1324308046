/**
 * The cache on a real Redis Cluster of 3 masters with a replica each (scripts/redis-cluster.sh,
 * started by global setup): the driver contract, then the cache itself with entities, tags and
 * value tags spread over every master. Lua and multi-key commands only ever touch one entity's slot, so nothing here may
 * fail with CROSSSLOT; tags live in their own slots, on other nodes, and must still work.
 */
import { Cache, type CacheEventName, entityKeys, paramKey, RedisDriver, tagKey } from '@cachefront/cache';
import { runDriverContract } from '@cachefront/cache/testing';
import type { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterClient, inventory, primeTags, randomNamespace, ready, slotOwners } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

const contractClient = clusterClient();
afterAll(() => {
  contractClient.disconnect();
});

runDriverContract('redis cluster (3 masters, a replica each)', async () => {
  await ready(contractClient);
  return new RedisDriver(contractClient);
});

interface Item {
  id: number;
  entity: string;
  version: number;
  group: string;
}

/** Two Cache instances (two "processes", each with its own cluster connection) on one namespace. */
describe('the cache on Redis Cluster', () => {
  const namespace = randomNamespace();
  let clientA: Cluster;
  let clientB: Cluster;
  let a: Cache;
  let b: Cache;
  /** Error-ish events of both instances: any of them means a command failed (e.g. CROSSSLOT). */
  const trouble: Array<{ event: CacheEventName; payload: unknown }> = [];
  let portOf: (key: string) => Promise<number>;
  let ports: number[];

  beforeAll(async () => {
    clientA = clusterClient();
    clientB = clusterClient();
    await Promise.all([ready(clientA), ready(clientB)]);
    // A generous timeout: these tests are about correctness on the cluster, not about speed.
    a = new Cache(new RedisDriver(clientA), { namespace, commandTimeoutMs: 2000 });
    b = new Cache(new RedisDriver(clientB), { namespace, commandTimeoutMs: 2000 });
    for (const cache of [a, b]) {
      for (const event of ['error', 'timeout', 'bypass', 'circuit-open', 'decode-error'] as const) {
        cache.on(event, (payload) => trouble.push({ event, payload }));
      }
    }
    portOf = await slotOwners(clientA);
    ports = clientA
      .nodes('master')
      .map((node) => Number(node.options.port))
      .sort((x, y) => x - y);
    expect(ports).toHaveLength(3);
  });

  afterEach(() => {
    expect(trouble).toEqual([]);
  });

  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    clientA.disconnect();
    clientB.disconnect();
  });

  /** The first `prefix<n>` for which `keyOf` lands on each master: one name per node. */
  async function onePerNode(prefix: string, keyOf: (name: string) => string): Promise<Map<number, string>> {
    const found = new Map<number, string>();
    for (let n = 0; found.size < ports.length; n += 1) {
      if (n > 1000) throw new Error(`no ${prefix} name found for every node`);
      const name = `${prefix}${n}`;
      const port = await portOf(keyOf(name));
      if (!found.has(port)) found.set(port, name);
    }
    return found;
  }

  const at = <V>(map: Map<number, V>, port: number | undefined): V => {
    const value = map.get(port as number);
    if (value === undefined) throw new Error(`nothing on port ${String(port)}`);
    return value;
  };

  it('serves, fills and invalidates entities on every node, with tags and value tags living on other nodes', async () => {
    const entityName = await onePerNode('item', (name) => entityKeys(namespace, name, 1).value(paramKey({ id: 1 })));
    const tagName = await onePerNode('tag', (name) => tagKey(namespace, name));
    const groupName = await onePerNode('group', (name) => tagKey(namespace, name));
    const [p0, p1, p2] = ports as [number, number, number];
    const others = (port: number) => ports.filter((p) => p !== port);
    // The entity on node X carries the parameter tags of the two other nodes, and a value tag of the next node.
    const next = (port: number) => ports[(ports.indexOf(port) + 1) % ports.length] as number;
    const rows = new Map<number, Item>(ports.map((port) => [port, { id: 1, entity: at(entityName, port), version: 1, group: at(groupName, next(port)) }]));
    const loads: number[] = [];
    const views = (cache: Cache) =>
      new Map(
        ports.map((port) => [
          port,
          cache.entity<{ id: number }, Item>({
            name: at(entityName, port),
            ttlMs: 60_000,
            tags: () => others(port).map((other) => at(tagName, other)),
            valueTags: (value) => [value.group],
          }),
        ]),
      );
    const reader = views(a);
    const load = (port: number) => async () => {
      loads.push(port);
      return structuredClone(at(rows, port));
    };
    const statuses = async () => Promise.all(ports.map(async (port) => (await at(reader, port).get({ id: 1 }, load(port))).status));
    // Check the layout this test relies on: value keys on three different nodes, tags elsewhere.
    for (const port of ports) {
      expect(await portOf(at(reader, port).keys.value(paramKey({ id: 1 })))).toBe(port);
      expect(await portOf(tagKey(namespace, at(tagName, port)))).toBe(port);
    }

    // The groups' tags exist, as in a running system (a value tag with no token leaves a first load unstored).
    await primeTags(
      clientA,
      namespace,
      ports.map((port) => at(groupName, port)),
    );
    expect(await statuses()).toEqual(['miss', 'miss', 'miss']);
    expect(await statuses()).toEqual(['fresh', 'fresh', 'fresh']);
    expect(a.stats()).toMatchObject({ fills: 3, fillsRejected: 0 });

    // A write elsewhere (instance b) invalidates the tag living on the first node: the two entities on the other nodes carry it.
    rows.set(p1, { ...at(rows, p1), version: 2 });
    rows.set(p2, { ...at(rows, p2), version: 2 });
    await b.invalidate([at(tagName, p0)]);
    expect(await statuses()).toEqual(['fresh', 'miss', 'miss']);
    const results = await Promise.all(ports.map((port) => at(reader, port).get({ id: 1 }, load(port))));
    expect(results.map((r) => [r.status, r.value.version])).toEqual([
      ['fresh', 1],
      ['fresh', 2],
      ['fresh', 2],
    ]);

    // A value tag (known only from the loaded value) on another node: the entity on p0 carries the group on p1.
    rows.set(p0, { ...at(rows, p0), version: 3 });
    await b.invalidate([at(groupName, p1)]);
    expect(await statuses()).toEqual(['miss', 'fresh', 'fresh']);
    expect((await at(reader, p0).get({ id: 1 }, load(p0))).value.version).toBe(3);

    // One invalidate call with tags on all three nodes.
    await b.invalidate(ports.map((port) => at(tagName, port)));
    expect(await statuses()).toEqual(['miss', 'miss', 'miss']);
    expect(await statuses()).toEqual(['fresh', 'fresh', 'fresh']);
    // The other instance reads what this one filled.
    const fromB = views(b);
    for (const port of ports) expect((await at(fromB, port).get({ id: 1 }, load(port))).status).toBe('fresh');
    expect(loads).toHaveLength(3 + 2 + 1 + 3);
  });

  it('takes a namespace with `:` and `.` (`app:env.region`): its hash tags hold, so fills, leases and tags work on every node', async () => {
    const prefixed = `${namespace}:prod.eu`;
    const cache = new Cache(new RedisDriver(clientA), { namespace: prefixed, commandTimeoutMs: 2000 });
    for (const event of ['error', 'timeout', 'bypass', 'circuit-open', 'decode-error'] as const) cache.on(event, (payload) => trouble.push({ event, payload }));
    const names = await onePerNode('scoped', (name) => entityKeys(prefixed, name, 1).value(paramKey({ id: 1 })));
    for (const port of ports) {
      const items = cache.entity<{ id: number }, string>({ name: at(names, port), ttlMs: 60_000, tags: ({ id }) => [`scoped:${port}:${id}`] });
      const key = items.keys.value(paramKey({ id: 1 }));
      expect(key.startsWith(`${prefixed}:{${prefixed}/`)).toBe(true);
      expect(await portOf(key)).toBe(port);
      expect(await portOf(items.keys.lease(paramKey({ id: 1 })))).toBe(port);
      expect((await items.get({ id: 1 }, async () => 'v1')).status).toBe('miss');
      expect((await items.get({ id: 1 }, async () => 'v1')).status).toBe('fresh');
      await cache.invalidate([`scoped:${port}:1`]);
      expect(await items.get({ id: 1 }, async () => 'v2')).toEqual({ status: 'miss', value: 'v2' });
    }
    expect(cache.stats()).toMatchObject({ fills: 6, fillsRejected: 0, errors: 0 });
    await cache.close();
  });

  it('getMany: one read, one loader call and one fill for many keys, with tags on every node', async () => {
    const items = a.entity<{ id: number }, Item>({
      name: 'batch',
      ttlMs: 60_000,
      tags: ({ id }) => [`item:${id}`],
      valueTags: (value) => [value.group],
    });
    const ids = Array.from({ length: 100 }, (_, i) => i + 1);
    const tagPorts = new Set(await Promise.all(ids.map((id) => portOf(tagKey(namespace, `item:${id}`)))));
    expect(tagPorts.size).toBe(3);
    const version = new Map(ids.map((id) => [id, 1]));
    const calls: number[][] = [];
    const loadMany = async (list: readonly { id: number }[]) => {
      calls.push(list.map((p) => p.id));
      return list.map(({ id }) => ({ id, entity: 'batch', version: version.get(id) ?? 0, group: `shelf:${id % 7}` }));
    };
    const params = ids.map((id) => ({ id }));
    await primeTags(
      clientA,
      namespace,
      Array.from({ length: 7 }, (_, i) => `shelf:${i}`),
    );

    const first = await items.getMany(params, loadMany);
    expect(first.every((r) => r.status === 'miss')).toBe(true);
    expect(calls).toEqual([ids]);
    const second = await items.getMany(params, loadMany);
    expect(second.map((r) => r.status)).toEqual(ids.map(() => 'fresh'));
    expect(second.map((r) => r.value.id)).toEqual(ids);
    expect(calls).toHaveLength(1);

    // Invalidate ten parameter tags and one value tag (shelf:3 holds ids 3, 10, 17, ...), through the other instance.
    const changed = [5, 15, 25, 35, 45, 55, 65, 75, 85, 95];
    const shelf3 = ids.filter((id) => id % 7 === 3);
    for (const id of [...changed, ...shelf3]) version.set(id, 2);
    await b.invalidate([...changed.map((id) => `item:${id}`), 'shelf:3']);
    const third = await items.getMany(params, loadMany);
    const stale = [...new Set([...changed, ...shelf3])].sort((x, y) => x - y);
    expect(calls[1]).toEqual(stale);
    for (const result of third) {
      const expected = stale.includes(result.value.id) ? ['miss', 2] : ['fresh', 1];
      expect([result.status, result.value.version]).toEqual(expected);
    }
    expect((await items.getMany(params, loadMany)).every((r) => r.status === 'fresh')).toBe(true);
    expect(calls).toHaveLength(2);
  });

  /**
   * A reader loads the old row and stalls; a write commits and instance b invalidates the row's tag,
   * which lives on another node than the entry; the reader's fill must then be dropped.
   */
  async function racedFill(prefix: string) {
    // An entity name whose tag `<name>:1` lives on another node than its entry.
    let name = prefix;
    for (let n = 0; ; n += 1) {
      name = `${prefix}${n}`;
      const [entityPort, tagPort] = await Promise.all([
        portOf(entityKeys(namespace, name, 1).value(paramKey({ id: 1 }))),
        portOf(tagKey(namespace, `${name}:1`)),
      ]);
      if (entityPort !== tagPort) break;
    }
    const products = (cache: Cache) => cache.entity<{ id: number }, Item>({ name, ttlMs: 60_000, tags: ({ id }) => [`${name}:${id}`] });
    let row: Item = { id: 1, entity: name, version: 1, group: 'g' };
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => {
      resume = resolve;
    });
    let hasRead!: () => void;
    const read = new Promise<void>((resolve) => {
      hasRead = resolve;
    });
    const rejectedBefore = a.stats().fillsRejected;
    const slow = products(a).get({ id: 1 }, async () => {
      const old = structuredClone(row);
      hasRead();
      await paused;
      return old;
    });
    await read;
    row = { ...row, version: 2 };
    await b.invalidate([`${name}:1`]);
    resume();
    expect((await slow).value.version).toBe(1); // the reader's own answer is what it read
    expect(a.stats().fillsRejected).toBe(rejectedBefore + 1);
    const load = async () => structuredClone(row);
    return { products, load };
  }

  it('rejects a fill that raced a write whose invalidation lands on another node', async () => {
    const { products, load } = await racedFill('raced');
    const after = await products(b).get({ id: 1 }, load);
    expect([after.status, after.value.version]).toEqual(['miss', 2]);
    expect(await products(a).get({ id: 1 }, load)).toMatchObject({ status: 'fresh', value: { version: 2 } });
  });

  // Regression (fixed in da01eab): on the cluster the driver drops a raced fill before its Lua call;
  // it kept the lease until `leaseTtlMs`, so every reader waited `leaseWaitMs`, then loaded without filling.
  it('releases the lease of a rejected fill: the next reader fills at once, and the one after hits', async () => {
    const { products, load } = await racedFill('released');
    const waitsBefore = b.stats().leaseWaits;
    const after = await products(b).get({ id: 1 }, load);
    expect([after.status, after.value.version]).toEqual(['miss', 2]);
    expect(b.stats().leaseWaits).toBe(waitsBefore);
    expect(await products(a).get({ id: 1 }, load)).toMatchObject({ status: 'fresh', value: { version: 2 } });
  });

  it('gives every internal key a TTL: values, leases and tags, on every node', async () => {
    // Runs after the tests above, so the namespace holds their values and tags on every node. A lease
    // is only visible while its holder loads: hold one, and look at the whole namespace then.
    const held = a.entity<{ id: number }, string>({ name: 'held', ttlMs: 60_000, tags: ({ id }) => [`held:${id}`] });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const pending = held.get({ id: 1 }, async () => {
      await gate;
      return 'late';
    });
    const leaseKey = held.keys.lease(paramKey({ id: 1 }));
    await waitFor(async () => (await clientA.exists(leaseKey)) === 1, { message: 'the lease to be taken' });
    const keys = await inventory(clientA, namespace);
    release();
    expect((await pending).value).toBe('late');

    const kinds = (kind: string) => keys.filter((k) => k.key.includes(kind));
    expect(kinds(':v:').length).toBeGreaterThanOrEqual(100);
    expect(kinds(':l:').map((k) => k.key)).toContain(leaseKey);
    expect(kinds(':t:').length).toBeGreaterThanOrEqual(10);
    expect(new Set(keys.map((k) => k.port)).size).toBe(3);
    const withoutTtl = keys.filter((k) => !(k.pttl > 0));
    expect(withoutTtl).toEqual([]);
    // The driver's own ttl() agrees with PTTL.
    const driver = new RedisDriver(clientA);
    for (const sample of [kinds(':v:')[0], kinds(':t:')[0]]) {
      const ttl = await driver.ttl(sample?.key ?? '');
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(sample?.pttl ?? 0);
    }
    expect(await driver.ttl(leaseKey)).toBe(-2); // the fill released it
  });
});
