/**
 * Redis Cluster under failure (issue 13). The file's own cluster (three masters with a replica
 * each, on free ports: killing a master never disturbs the shared cluster of the other files)
 * carries the cache of two data layers — two "containers", each with its own Cluster client and
 * connector — that read and write rows of a MariaDB table through one repository, without pause.
 * A master is killed (SIGKILL: a crash, nothing handed over), and the cluster promotes its replica
 * once the others have marked it failed (node timeout 1 s: 2-3 s in all). Then:
 *
 * - every read is answered, from Redis or from the database, with the newest value whose write had
 *   returned when the read began, or a newer one: no read fails, none is older;
 * - no invalidation that returned before the kill is lost: after the failover, reads return that
 *   value or a newer one. A write during the failover returns once its invalidation reached the
 *   promoted replica, because core retries it for `invalidationRetryMs`; the control, a layer
 *   without that retry, shows the invalidation would fail meanwhile — and is then reported
 *   (`InvalidationPendingError`) and replayed, not dropped;
 * - keys of one entity stay in one slot, which the promoted replica owns, entries and all;
 * - the circuit breaker opens while the slot has no master, and closes again: hits resume;
 * - the driver contract holds when its first call on a master's slots meets that master just dead.
 *
 * Redis replicates asynchronously: a master can acknowledge a write its replica never receives. The
 * third test shows what that does to an invalidation (a known bug; see its comment).
 */
import { performance } from 'node:perf_hooks';
import { type CacheEventName, createRedisCache, entityKeys, paramKey, RedisDriver, tagKey } from '@cachefront/cache';
import { runDriverContract } from '@cachefront/cache/testing';
import { createDataLayer, defineRepository, InvalidationPendingError } from '@cachefront/core';
import { type Connector, createConnector, mysqlDatabase, sql } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MYSQL } from '../support/env.js';
import { adminConnection, closeQuietly, randomName, rows } from '../support/mysql.js';
import { randomNamespace, ready } from '../support/redis.js';
import { type ClusterNode, KillOnFirstTouch, ownerOf, startThrowawayCluster, type ThrowawayCluster } from '../support/redis-cluster.js';
import { sleep, waitFor } from '../support/wait-for.js';

const table = randomName('cf_failover');
const ENTITY = 'item';
/** Rows under load: half with their tag on the master that is killed, half elsewhere. */
const LOAD_ROWS = 6;
/** Rows read once before the kill and never written: the promoted replica must serve them as hits. */
const QUIET_ROWS = 3;
/** Read loops per container (one write loop besides). */
const READERS = 3;
/** scripts/redis-cluster.sh's cluster-node-timeout: no replica can take over sooner. */
const NODE_TIMEOUT_MS = 1000;
/** Hits each container serves before the kill, and after the failover before the load stops. */
const HITS = 100;

let cluster: ThrowawayCluster;
let admin: Connection;
const closing: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  [cluster, admin] = await Promise.all([startThrowawayCluster(), adminConnection(MYSQL)]);
  await admin.query(`CREATE TABLE test.${table} (id INT PRIMARY KEY, version INT NOT NULL)`);
  await admin.query(`INSERT INTO test.${table} SELECT seq, 0 FROM test.seq_1_to_1000`);
});

afterAll(async () => {
  for (const close of closing.reverse()) await close().catch(() => undefined);
  await admin?.query(`DROP TABLE IF EXISTS test.${table}`);
  if (admin) await closeQuietly(admin);
  await cluster?.stop();
});

/** One "container": its own Cluster client, cache, connector and data layer, on a namespace it shares with the others. */
async function container(namespace: string, options: { invalidationRetryMs: number; replicaAckMs?: number }) {
  const client = cluster.client();
  await ready(client);
  // Well above a loaded 2-core machine's hiccups: a stray timeout would look like the failover.
  const cache = createRedisCache({
    redis: client,
    namespace,
    commandTimeoutMs: 250,
    ...(options.replicaAckMs === undefined ? {} : { replicaAckMs: options.replicaAckMs }),
  });
  const db: Connector = createConnector({ connection: { ...MYSQL, database: 'test' }, maxConnections: 4 });
  closing.push(
    () => cache.close(),
    () => db.quit(),
  );
  const layer = createDataLayer({ cache, database: mysqlDatabase(db, { outboxTable: false }), invalidationRetryMs: options.invalidationRetryMs });
  const items = layer.repository(
    defineRepository({
      name: ENTITY,
      params: z.object({ id: z.number().int() }),
      value: z.object({ id: z.number(), version: z.number() }),
      ttlMs: 60_000,
      tags: ({ id }) => [`${table}:${id}`],
      load: async (conn: Connector, { id }) => {
        const [row] = await conn.query<{ id: number; version: number }>(sql`SELECT id, version FROM ${sql.id(table)} WHERE id = ${id}`);
        return { id: Number(row?.id), version: Number(row?.version) };
      },
    }),
  );
  /** What the cache reported, in order: hits, trouble and the breaker's moves. */
  const seen: Array<{ event: CacheEventName; at: number }> = [];
  for (const event of ['hit', 'bypass', 'error', 'timeout', 'circuit-open', 'circuit-close'] as const) {
    cache.on(event, () => seen.push({ event, at: performance.now() }));
  }
  const hitsSince = (since: number) => seen.filter((s) => s.event === 'hit' && s.at > since).length;
  /** Bumps the row's version in a transaction; returns the version committed. `warm`: refill the entry afterwards (the default). */
  const bump = (id: number, warm = true) =>
    items.write(
      { id },
      async (tx) => {
        await tx.execute(sql`UPDATE ${sql.id(table)} SET version = version + 1 WHERE id = ${id}`);
        const [row] = await tx.query<{ version: number }>(sql`SELECT version FROM ${sql.id(table)} WHERE id = ${id}`);
        return Number(row?.version);
      },
      { warm },
    );
  return { items, bump, seen, hitsSince, client };
}

type Container = Awaited<ReturnType<typeof container>>;

/** Whether the container's breaker is closed (it never opened, or closed after it last opened) and it served a hit since then and since `since`. */
function recovered({ seen }: Container, since: number): boolean {
  const lastOpen = seen.findLast((s) => s.event === 'circuit-open')?.at ?? Number.NEGATIVE_INFINITY;
  const lastClose = seen.findLast((s) => s.event === 'circuit-close')?.at ?? Number.NEGATIVE_INFINITY;
  return lastClose >= lastOpen && seen.some((s) => s.event === 'hit' && s.at > Math.max(since, lastOpen));
}

/**
 * Reads and writes `ids` from every container without pause until `stop()`, and checks every read
 * against the history: never older than the newest version whose write() had returned when the
 * read began. Failed reads and writes are kept, not thrown.
 */
function steadyLoad(fleet: readonly Container[], ids: readonly number[]) {
  /** Per row, the newest version whose write() has returned. */
  const committed = new Map<number, number>();
  const violations: string[] = [];
  const failedReads: string[] = [];
  const failedWrites: string[] = [];
  const reads: Array<{ at: number; ms: number; hit: boolean }> = [];
  const writes: Array<{ at: number; ms: number }> = [];
  let stopped = false;
  let seed = 17;
  const pick = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return ids[seed % ids.length] as number;
  };
  const readLoop = async ({ items }: Container) => {
    while (!stopped) {
      const id = pick();
      const floor = committed.get(id) ?? 0;
      const at = performance.now();
      try {
        const { value, status } = await items.read({ id });
        reads.push({ at, ms: performance.now() - at, hit: status === 'fresh' });
        if (value.version < floor) violations.push(`row ${id}: read version ${value.version} (${status}) after version ${floor} had returned`);
      } catch (error) {
        failedReads.push(`row ${id}: ${String(error)}`);
      }
      await sleep(2); // leaves the 2 cores to the servers too
    }
  };
  const writeLoop = async ({ bump }: Container) => {
    while (!stopped) {
      const id = pick();
      const at = performance.now();
      try {
        const version = await bump(id);
        committed.set(id, Math.max(committed.get(id) ?? 0, version));
        writes.push({ at, ms: performance.now() - at });
      } catch (error) {
        failedWrites.push(`row ${id}: ${String(error)}`);
      }
      await sleep(20);
    }
  };
  const loops = Promise.all(fleet.flatMap((c) => [...Array.from({ length: READERS }, () => readLoop(c)), writeLoop(c)]));
  return {
    committed,
    violations,
    failedReads,
    failedWrites,
    reads,
    writes,
    async stop() {
      stopped = true;
      await loops;
    },
  };
}

/** The first `count` row ids from `from` on whose tag key lives on a master `where` accepts. */
async function rowsWhere(namespace: string, count: number, where: (owner: ClusterNode | undefined) => boolean, from = 1): Promise<number[]> {
  const layout = await cluster.layout();
  const found: number[] = [];
  for (let id = from; found.length < count; id += 1) {
    if (id > 1000) throw new Error('not enough rows whose tag lives where the test needs it');
    if (where(ownerOf(layout, await cluster.slotOf(tagKey(namespace, `${table}:${id}`))))) found.push(id);
  }
  return found;
}

/** A master with a live replica (one that can take over), but those in `except`. */
async function masterWithReplica(except: readonly number[] = []): Promise<ClusterNode> {
  const layout = await cluster.layout();
  const master = layout.find(
    (node) =>
      node.role === 'master' &&
      !node.failed &&
      node.slots.length > 0 &&
      !except.includes(node.port) &&
      layout.some((replica) => replica.masterId === node.id && !replica.failed),
  );
  if (!master) throw new Error('no master with a live replica is left');
  return master;
}

/** "n reads (h hits), p50 …, p99 …" of the reads that began in [from, to). */
function phase(reads: ReadonlyArray<{ at: number; ms: number; hit: boolean }>, from: number, to: number): string {
  const inPhase = reads.filter((r) => r.at >= from && r.at < to);
  const ms = inPhase.map((r) => r.ms).sort((a, b) => a - b);
  const at = (p: number) => (ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))] ?? Number.NaN).toFixed(1);
  return `${inPhase.length} reads (${inPhase.filter((r) => r.hit).length} hits), p50 ${at(50)} ms, p99 ${at(99)} ms`;
}

describe('a master killed under a steady read and write load', () => {
  const namespace = randomNamespace('cffo');
  const entitySlot = () => cluster.slotOf(entityKeys(namespace, ENTITY, 1).value(paramKey({ id: 1 })));
  let killed: ClusterNode;
  let promoted: ClusterNode;
  // The killed master comes back as the promoted one's replica: every master has a replica again.
  afterAll(async () => {
    if (killed) await cluster.revive(killed.port);
  });

  it('answers every read with the committed value or a newer one, loses no invalidation, and closes the breaker again', async () => {
    const slot = await entitySlot();
    const layout = await cluster.layout();
    const owner = ownerOf(layout, slot);
    const replica = layout.find((node) => node.masterId === owner?.id);
    if (!owner || !replica) throw new Error('the entity’s slot has no master with a replica');
    killed = owner;
    const onKilled = (node: ClusterNode | undefined) => node?.port === killed.port;
    const ids = [...(await rowsWhere(namespace, LOAD_ROWS / 2, onKilled)), ...(await rowsWhere(namespace, LOAD_ROWS / 2, (node) => !onKilled(node)))];
    const quiet = await rowsWhere(namespace, QUIET_ROWS, () => true, Math.max(...ids) + 1);
    const [controlId = 0] = await rowsWhere(namespace, 1, onKilled, Math.max(...quiet) + 1);

    // Long enough for a write to outlast the failover (2-3 s here; ElastiCache takes longer).
    const fleet = [await container(namespace, { invalidationRetryMs: 10_000 }), await container(namespace, { invalidationRetryMs: 10_000 })] as const;
    // The control: core without its retry, as a bare `cache.invalidate()` after COMMIT would be.
    const control = await container(namespace, { invalidationRetryMs: 0 });
    for (const id of quiet) expect((await fleet[0].items.read({ id })).status).toBe('miss');

    const load = steadyLoad(fleet, ids);
    await waitFor(() => fleet.every((c) => c.hitsSince(0) >= HITS), { timeoutMs: 20_000, message: 'hits before the kill' });
    const atKill = new Map(load.committed);
    const killAt = performance.now();
    await cluster.kill(killed.port);
    // While the slot has no master: the control's write commits, and its invalidation cannot be delivered.
    const pending = await control.bump(controlId).then(
      () => undefined,
      (error: unknown) => error,
    );
    promoted = await cluster.failedOver(slot);
    const failedOverAt = performance.now();
    expect(promoted.port).toBe(replica.port);
    await waitFor(() => fleet.every((c) => recovered(c, failedOverAt)), { timeoutMs: 20_000, message: 'the breaker closed and hits again' });
    const recoveredAt = performance.now();
    await waitFor(() => fleet.every((c) => c.hitsSince(recoveredAt) >= HITS), { timeoutMs: 20_000, message: 'hits after the failover' });
    await load.stop();

    // Reads kept being answered, none older than a write that had returned; writes rode the failover out.
    expect(load.failedReads).toEqual([]);
    expect(load.violations).toEqual([]);
    expect(load.failedWrites).toEqual([]);
    // No invalidation that returned before the kill was lost: every container, every row, a value at least as new.
    for (const c of fleet) for (const id of ids) expect((await c.items.get({ id })).version).toBeGreaterThanOrEqual(atKill.get(id) ?? 0);
    // Once quiet, every read is the row as the database has it: nothing invalidated is served as fresh.
    const current = await rows<{ id: number; version: number }>(admin, `SELECT id, version FROM test.${table} WHERE id IN (?)`, [ids]);
    for (const c of fleet) for (const row of current) expect(await c.items.get({ id: row.id })).toEqual(row);

    // The control: without the retry, the write that committed during the failover is not reported as done...
    expect(pending).toBeInstanceOf(InvalidationPendingError);
    expect(pending).toMatchObject({ committed: true, tags: [`${table}:${controlId}`] });
    // ... and its layer replays the pending tag before its next cached read (Redis gave trouble).
    expect((await control.items.get({ id: controlId })).version).toBe(1);

    // The failover was felt (the slot had no master): bypasses, the breaker opened, then closed again.
    for (const c of fleet) {
      expect(c.seen.some((s) => s.event === 'bypass' && s.at >= killAt && s.at < failedOverAt)).toBe(true);
      expect(c.seen.some((s) => s.event === 'circuit-open' && s.at >= killAt)).toBe(true);
      expect(c.seen.findLast((s) => s.event === 'circuit-open' || s.event === 'circuit-close')?.event).toBe('circuit-close');
    }
    // Entries filled before the kill are on the promoted replica: the slot moved with its data. (Read
    // through the cache they are hits, but for a stray timeout on this 2-core machine: a bypass.)
    const valueKey = (id: number) => entityKeys(namespace, ENTITY, 1).value(paramKey({ id }));
    for (const id of quiet) expect(await cluster.admin(promoted.port).exists(valueKey(id))).toBe(1);
    const quietReads = await Promise.all(quiet.map((id) => fleet[1].items.read({ id })));
    expect(quietReads.filter((read) => read.status === 'fresh').length).toBeGreaterThanOrEqual(quiet.length - 1);

    const seconds = (at: number) => `${((at - killAt) / 1000).toFixed(2)} s`;
    const slowestWrite = Math.max(...load.writes.filter((w) => w.at + w.ms >= killAt).map((w) => w.ms));
    console.info(
      `failover: promoted ${seconds(failedOverAt)} after the kill, breaker closed and hits after ${seconds(recoveredAt)}; ` +
        `before: ${phase(load.reads, 0, killAt)}; during: ${phase(load.reads, killAt, recoveredAt)}; after: ${phase(load.reads, recoveredAt, Number.POSITIVE_INFINITY)}; ` +
        `${load.writes.length} writes, the slowest across the kill ${slowestWrite.toFixed(0)} ms; ${load.failedReads.length} failed reads`,
    );
  });

  it('keeps the keys of one entity in one slot, which the promoted replica owns', async () => {
    const keys = entityKeys(namespace, ENTITY, 1);
    const slots = new Set<number>();
    for (const id of [1, 2, 42, 999]) {
      slots.add(await cluster.slotOf(keys.value(paramKey({ id }))));
      slots.add(await cluster.slotOf(keys.lease(paramKey({ id }))));
    }
    expect([...slots]).toEqual([await entitySlot()]);
    expect(ownerOf(await cluster.layout(), await entitySlot())?.port).toBe(promoted.port);
    expect(promoted.port).not.toBe(killed.port);
  });
});

/**
 * Redis replicates asynchronously: a master acknowledges a SET before its replica has it. When the
 * master dies in that window, the promoted replica holds the tag's previous token, and an entry
 * filled before the write carries exactly that token: it would be served as fresh, with the old
 * value. So an invalidation waits for a replica's acknowledgement (`WAIT 1`, `replicaAckMs`) before
 * it counts as done. Here the window is made wide and certain: the replica is held still (SIGSTOP)
 * and its link cut for the write and the kill, as a replica a few milliseconds behind (another zone)
 * would be. On loopback the natural window is microseconds.
 */
describe('an invalidation the master took but had not yet sent to its replica when it died', () => {
  const namespace = randomNamespace('cffo');

  /**
   * Caches row `id`'s entry, then holds the tag's replica still, writes, and kills the tag's master
   * before the replica resumes; returns what the write did and the read after the promotion.
   */
  async function writeAcrossTheKill(fromRow: number, options: { replicaAckMs?: number }) {
    const { items, bump, client } = await container(namespace, { invalidationRetryMs: 500, ...options });
    const entityOwner = ownerOf(await cluster.layout(), await cluster.slotOf(entityKeys(namespace, ENTITY, 1).value(paramKey({ id: 1 }))));
    // The tag's master dies; the entry lives on another master, which stays up.
    const victim = await masterWithReplica(entityOwner ? [entityOwner.port] : []);
    const replica = (await cluster.layout()).find((node) => node.masterId === victim.id && !node.failed);
    if (!replica) throw new Error('the victim has no live replica');
    const [id = 0] = await rowsWhere(namespace, 1, (node) => node?.port === victim.port, fromRow);
    const [{ version: before = 0 } = {}] = await rows<{ version: number }>(admin, `SELECT version FROM test.${table} WHERE id = ?`, [id]);
    expect(await items.read({ id })).toEqual({ status: 'miss', value: { id, version: before } });
    expect(await items.read({ id })).toEqual({ status: 'fresh', value: { id, version: before } });

    // The replica has everything so far (the tag's first token, given by the read above): what it
    // then misses is the write's invalidation alone.
    const offset = (port: number, field: string) =>
      cluster
        .admin(port)
        .info('replication')
        .then((info) => Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(info)?.[1] ?? -1));
    const written = await offset(victim.port, 'master_repl_offset');
    await waitFor(async () => (await offset(replica.port, 'slave_repl_offset')) >= written, { message: 'the replica caught up' });
    // The cache learns that the tag's master has a replica from its client's slot table, which lists
    // a replica once it has replicated something: a client that connected to a fresh cluster has to
    // read the table again.
    const tagSlot = await cluster.slotOf(tagKey(namespace, `${table}:${id}`));
    await waitFor(
      () => {
        if ((client.slots[tagSlot]?.length ?? 0) >= 2) return true;
        client.refreshSlotsCache();
        return false;
      },
      { intervalMs: 100, message: "the tag's replica in the client's slot table" },
    );
    const replicaPid = await cluster.pidOf(replica.port);
    process.kill(replicaPid, 'SIGSTOP');
    let write: unknown;
    try {
      await cluster.admin(victim.port).call('CLIENT', 'KILL', 'TYPE', 'replica');
      // No refill: it would overwrite this entry, but not the others that carry the tag (a list of the row's category, say).
      write = await bump(id, false).catch((error: unknown) => error);
      await cluster.kill(victim.port);
    } finally {
      process.kill(replicaPid, 'SIGCONT');
    }
    expect((await cluster.failedOver(await cluster.slotOf(tagKey(namespace, `${table}:${id}`)))).port).toBe(replica.port);
    const after = await items.read({ id });
    await cluster.revive(victim.port);
    return { id, committed: before + 1, write, after };
  }

  it('is not lost: the write reports it pending (no replica acknowledged it), and the layer replays it after the failover', async () => {
    const { id, committed, write, after } = await writeAcrossTheKill(500, {});
    expect(write).toBeInstanceOf(InvalidationPendingError);
    expect(write).toMatchObject({ committed: true });
    // The read replays the pending invalidation on the promoted replica first: the committed row.
    expect(after.value, `read as ${after.status}`).toEqual({ id, version: committed });
  });

  it('control: without waiting for a replica (replicaAckMs: 0) the write returns, and the old row is served as fresh after the failover', async () => {
    const { id, committed, write, after } = await writeAcrossTheKill(700, { replicaAckMs: 0 });
    expect(write).toBe(committed);
    expect(after).toEqual({ status: 'fresh', value: { id, version: committed - 1 } });
  });
});

let contractDriver: KillOnFirstTouch | undefined;

runDriverContract('redis cluster, a master killed at its first call', async () => {
  // ioredis retries a command whose node is gone 16 times, 100 ms apart, by default: 1.6 s, less
  // than a failover takes here. The contract calls the driver bare (no cache timeout, no breaker),
  // so its client waits longer, as an application's client riding out a failover would.
  const client = cluster.client({ maxRedirections: 100 });
  await ready(client);
  contractDriver = new KillOnFirstTouch(cluster, new RedisDriver(client), await masterWithReplica());
  return contractDriver;
});

describe('the driver contract above', () => {
  it('ran across the failover: calls on the killed master’s slots waited for the promotion, later ones were served by it', async () => {
    const driver = contractDriver;
    if (!driver?.killedAt || !driver.promoted) throw new Error('no contract call touched the master to kill');
    const { killedAt } = driver;
    const promotedAt = await driver.promoted;
    const waited = driver.calls.filter((call) => call.onVictim && call.start >= killedAt && call.start < promotedAt);
    // The first call on the dead master's slots was made before the promotion, and none was answered
    // before a replica could have been promoted (the node timeout must pass first).
    expect(waited.length).toBeGreaterThan(0);
    expect(waited.every((call) => call.end - killedAt >= NODE_TIMEOUT_MS)).toBe(true);
    expect(driver.calls.filter((call) => call.onVictim && call.start >= promotedAt).length).toBeGreaterThan(0);
    console.info(
      `contract: a master killed at its first call, promoted ${((promotedAt - killedAt) / 1000).toFixed(2)} s later; ` +
        `${waited.length} call(s) on its slots waited for it, ${driver.calls.length} calls in all`,
    );
  });
});
