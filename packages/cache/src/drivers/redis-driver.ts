/**
 * The cache's driver for Redis and Redis Cluster, over the calls of `redis-client.ts` (the only file
 * that imports ioredis). Works on a single Redis and on Redis Cluster: on a single
 * Redis a read is one MGET and a fill compares tag tokens atomically in Lua; on a cluster, tag
 * keys live in other slots, so they are read with their own commands, sent together (give the
 * Cluster `enableAutoPipelining: true` to batch them into one round trip per node), and a fill
 * re-checks them just before its Lua call (reads re-check them anyway).
 *
 * TLS: `tls: { ca }` (or a `rediss://` URL) verifies the server's certificate chain and host name,
 * as Node's `tls.connect` does by default; only `rejectUnauthorized: false` turns that off. The
 * client's connection failures (a certificate refused, a login refused) are reported through
 * `onProblem`, classified by the table in `redis-errors.ts`; a call that meanwhile waits in
 * ioredis' offline queue is attributed to that problem instead of being a bare timeout.
 */
import { ReplicaAckError } from '../errors.js';
import { readTokens } from '../tokens.js';
import type { CacheDriver, FillRequest, ReadResult, StoreProblem } from './driver.js';
import { ACQUIRE_LEASES, FILL, INIT_TAGS, READ_TAG, RELEASE_LEASES } from './lua.js';
import { ReadBatcher } from './read-batch.js';
import {
  createRedisClient,
  isClusterClient,
  isRedisClient,
  type RedisClient,
  type RedisConnection,
  type RedisPipeline,
  readsReplicas,
} from './redis-client.js';
import { classifyRedisError, errorCode } from './redis-errors.js';
import { Script } from './script.js';
import { keySlot } from './slot.js';

/** How long an invalidation waits for a replica's acknowledgement, by default. */
export const DEFAULT_REPLICA_ACK_MS = 30;
const REPLICAS_RECHECK_MS = 10_000;
/** How late Redis may end a WAIT: one tick of its timer at the default `hz` of 10 (measured: WAIT 1 100 took 148-201 ms). */
const WAIT_TICK_MS = 110;

export interface RedisDriverOptions {
  /**
   * How long an invalidation waits for a replica of its master to acknowledge it (`WAIT`), where
   * the master has replicas; 0 returns on the master's word alone, and a failover may then lose an
   * invalidation. @default 30
   */
  readonly replicaAckMs?: number;
}

const acquire = new Script(ACQUIRE_LEASES);
const release = new Script(RELEASE_LEASES);
const fill = new Script(FILL);
const initTags = new Script(INIT_TAGS);
const readTag = new Script(READ_TAG);

export class RedisDriver implements CacheDriver {
  readonly sharedFate: boolean;
  readonly setTagsExtraMs: number;
  readonly client: RedisClient;
  readonly #owned: boolean;
  readonly #cluster: boolean;
  /** A Cluster that reads from replicas: values may come from them, tag tokens never. */
  readonly #replicaReads: boolean;
  /** How long an invalidation waits for a replica's acknowledgement; 0: it does not. */
  readonly #ackMs: number;
  #replicasCheckedUntil = Number.NEGATIVE_INFINITY;
  /** Cluster slots whose master said it has no replica that could take over, until when (ms). */
  readonly #noReplicasUntil = new Map<number, number>();
  #replicaCheck: Promise<boolean> = Promise.resolve(false);
  /** Reads of one turn in one MGET (single Redis only). */
  readonly #batch = new ReadBatcher((keys) => this.client.mgetBuffer(...keys));
  readonly #problemListeners = new Set<(problem: StoreProblem) => void>();
  /** The latest connection failure; it stands while the client is not ready. */
  #connectionProblem: StoreProblem | undefined;
  /** The client's error behind it: ioredis also rejects the queued calls with it (a refused AUTH). */
  #connectionError: unknown;
  readonly #onClientError = (error: unknown): void => {
    // A connection that failed for a reply (a SELECT refused) is still a connection that could not be made.
    const classified = classifyRedisError(error);
    const problem: StoreProblem =
      classified === undefined || classified.kind === 'server' ? { kind: 'network', code: classified?.code ?? errorCode(error) } : classified;
    this.#connectionProblem = problem;
    this.#connectionError = error;
    for (const listener of this.#problemListeners) listener(problem);
  };
  readonly #reconnectListeners = new Set<() => void>();
  #everReady = false;
  readonly #onClientReady = (): void => {
    this.#connectionProblem = undefined;
    this.#connectionError = undefined;
    // Every ready after the first is a reconnect: what was sent while the link was down may be lost.
    if (this.#everReady) for (const listener of this.#reconnectListeners) listener();
    this.#everReady = true;
  };

  /** From a URL or options (a client of its own, closed by `close()`), or the application's client, told apart structurally. */
  constructor(connection: RedisConnection, options: RedisDriverOptions = {}) {
    this.#ackMs = options.replicaAckMs ?? DEFAULT_REPLICA_ACK_MS;
    // Redis times a WAIT out on its clock ticks (10 a second by default): it may end up to a tick late.
    this.setTagsExtraMs = this.#ackMs > 0 ? this.#ackMs + WAIT_TICK_MS : 0;
    if (isRedisClient(connection)) {
      this.client = connection;
      this.#owned = false;
    } else {
      this.client = createRedisClient(connection);
      this.#owned = true;
    }
    this.#cluster = isClusterClient(this.client);
    this.#replicaReads = readsReplicas(this.client);
    this.sharedFate = !this.#cluster;
    // Without a listener ioredis prints every connection error; the cache reports them as events.
    this.client.on('error', this.#onClientError);
    // A cluster reports each node's connection errors on their own; its 'error' is about the slot table.
    if (this.#cluster) this.client.on('node error', this.#onClientError);
    // A client handed in already connected: its next 'ready' is a reconnect.
    this.#everReady = this.client.status === 'ready';
    this.client.on('ready', this.#onClientReady);
  }

  problem(error?: unknown): StoreProblem | undefined {
    // The connection's own failure, handed to a call too: the same problem, already reported.
    if (error !== undefined && error === this.#connectionError && this.#connectionProblem) return this.#connectionProblem;
    const own = error === undefined ? undefined : classifyRedisError(error);
    if (own) return own;
    const current = this.client.status === 'ready' ? undefined : this.#connectionProblem;
    if (current || error === undefined) return current;
    // What ioredis says of a connection it lost or gave up on ("Connection is closed.", a flushed queue).
    return { kind: 'network', code: errorCode(error) };
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => {
      this.#reconnectListeners.delete(listener);
    };
  }

  onProblem(listener: (problem: StoreProblem) => void): () => void {
    this.#problemListeners.add(listener);
    return () => {
      this.#problemListeners.delete(listener);
    };
  }

  async read(keys: readonly string[], tagKeys: readonly string[]): Promise<ReadResult> {
    if (!this.#cluster) {
      if (keys.length + tagKeys.length === 0) return { values: [], tags: [] };
      return this.#batch.read(keys, tagKeys);
    }
    const [values, tags] = await Promise.all([
      keys.length === 0 ? Promise.resolve([]) : this.client.mgetBuffer(...keys),
      Promise.all(tagKeys.map((key) => (this.#replicaReads ? (readTag.run(this.client, [key], []) as Promise<string | null>) : this.client.get(key)))),
    ]);
    return { values, tags };
  }

  async acquireLeases(leaseKeys: readonly string[], token: string, ttlMs: number): Promise<boolean[]> {
    if (leaseKeys.length === 0) return [];
    const out = (await acquire.run(this.client, leaseKeys, [token, Math.max(1, Math.ceil(ttlMs))])) as number[];
    return out.map((flag) => flag === 1);
  }

  async releaseLeases(leaseKeys: readonly string[], token: string): Promise<void> {
    if (leaseKeys.length > 0) await release.run(this.client, leaseKeys, [token]);
  }

  async fill(requests: readonly FillRequest[], token: string): Promise<boolean[]> {
    if (requests.length === 0) return [];
    let candidates = requests.map((request, index) => ({ request, index }));
    if (this.#cluster) {
      // Tag keys are in other slots: check them first, then let Lua check the lease.
      const tagKeys = [...new Set(requests.flatMap((r) => r.expectTags.map(([key]) => key)))];
      const current = new Map<string, string | null>();
      await readTokens(
        (values, keys) => this.read(values, keys),
        [],
        tagKeys,
        (key) => key,
        current,
      );
      const stale = candidates.filter(({ request }) => !request.expectTags.every(([key, expected]) => current.get(key) === expected));
      if (stale.length > 0) {
        await this.releaseLeases(
          stale.map(({ request }) => request.leaseKey),
          token,
        );
        candidates = candidates.filter((candidate) => !stale.includes(candidate));
      }
    }
    const keys: string[] = [];
    const args: Array<string | Buffer | number> = [token, candidates.length];
    for (const { request } of candidates) {
      keys.push(request.key, request.leaseKey);
      args.push(Math.max(1, Math.ceil(request.ttlMs)), request.value);
      if (this.#cluster) {
        args.push(0);
      } else {
        args.push(request.expectTags.length);
        for (const [tagKey, expected] of request.expectTags) {
          keys.push(tagKey);
          args.push(expected ?? '');
        }
      }
    }
    const stored = new Array<boolean>(requests.length).fill(false);
    if (candidates.length === 0) return stored;
    const out = (await fill.run(this.client, keys, args)) as number[];
    candidates.forEach(({ index }, i) => {
      stored[index] = out[i] === 1;
    });
    return stored;
  }

  /**
   * Gives the tag keys the token. Where a master has replicas, the invalidation returns only once
   * one of them has it too (`WAIT 1` in the same round trip, at most `replicaAckMs`): replication is
   * asynchronous, and a master that died with the token unreplicated would leave its promoted
   * replica with the old one, under which entries filled before the write look fresh. No
   * acknowledgement in time, while the master still has a replica that could take over, fails the
   * call (`ReplicaAckError`), and the caller keeps the invalidation pending.
   */
  async setTags(tagKeys: readonly string[], token: string, ttlMs: number): Promise<void> {
    const px = Math.max(1, Math.ceil(ttlMs));
    if (!this.#cluster) {
      const acked = this.#ackMs > 0 && (await this.#singleHasReplicas());
      if (tagKeys.length === 1 && !acked) {
        await this.client.set(tagKeys[0] as string, token, 'PX', px);
        return;
      }
      await this.#setAndWait(tagKeys, token, px, acked);
      return;
    }
    // On a cluster each tag key is in its own slot, on its own master.
    await Promise.all(
      tagKeys.map((key) =>
        this.#ackMs > 0 && this.#clusterHasReplicas(key) ? this.#setAndWait([key], token, px, true) : this.client.set(key, token, 'PX', px),
      ),
    );
  }

  /** SETs in one pipeline (keys of one node), then, with `wait`, a WAIT for one replica's acknowledgement. */
  async #setAndWait(keys: readonly string[], token: string, px: number, wait: boolean): Promise<void> {
    const results = await this.#pipelined((pipeline) => {
      for (const key of keys) pipeline.set(key, token, 'PX', px);
      if (wait) pipeline.call('WAIT', '1', String(this.#ackMs));
    });
    if (wait && Number(results.at(-1)?.[1]) < 1 && (await this.#hasReplicas(keys[0] as string))) throw new ReplicaAckError(this.#ackMs);
  }

  /**
   * Runs one pipeline (on a cluster, on the node of its first key; keyless commands ride along) and
   * returns its replies, throwing the first error. ioredis follows a MOVED in a pipeline only when
   * every command in it is read-only, and these are not: during a failover the pipeline is sent
   * again, at most 3 times, once the slot table has been read anew.
   */
  async #pipelined(build: (pipeline: RedisPipeline) => void): Promise<Array<[Error | null, unknown]>> {
    for (let attempt = 0; ; attempt += 1) {
      const pipeline = this.client.pipeline();
      build(pipeline);
      const results = (await pipeline.exec()) ?? [];
      const error = results.find(([failed]) => failed)?.[0];
      if (!error) return results;
      if (!(this.#cluster && attempt < 3 && /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /.test(error.message))) throw error;
      await new Promise<void>((resolve) => (this.client.refreshSlotsCache ? this.client.refreshSlotsCache(() => resolve()) : resolve()));
    }
  }

  /**
   * Whether the master of `key` still has a replica that could take over. Asked when a WAIT went
   * unacknowledged, since what the driver knew may be out of date: after a failover the promoted
   * master has no replica until one joins (the old master, dead, is flagged `fail`), and waiting
   * for one then would fail every invalidation. On a cluster: the replicas the cluster knows for
   * that master (CLUSTER REPLICAS), but those it agreed have failed; a replica merely slow, cut off
   * or suspected counts, as it may still be promoted. On a single Redis: the replicas connected (ROLE).
   * Commands go with a read of the key, so a cluster routes them to its master.
   */
  async #hasReplicas(key: string): Promise<boolean> {
    const ask = async (...command: [string, ...string[]]): Promise<unknown> => {
      const results = await this.#pipelined((pipeline) => {
        pipeline.call('PTTL', key);
        pipeline.call(...command);
      });
      return results.at(-1)?.[1];
    };
    if (!this.#cluster) {
      const replicas = ((await ask('ROLE')) as unknown[] | undefined)?.[2];
      const connected = Array.isArray(replicas) && replicas.length > 0;
      if (!connected) this.#replicaCheck = Promise.resolve(false);
      return connected;
    }
    const id = String(await ask('CLUSTER', 'MYID'));
    const lines = String(await ask('CLUSTER', 'REPLICAS', id))
      .split('\n')
      .filter(Boolean);
    // <id> <ip:port@bus> <flags> ...: a replica the cluster agreed has failed cannot take over until
    // it is back; one only suspected (`fail?`) still counts.
    return lines.some((line) => !(line.split(' ')[2] ?? '').split(',').includes('fail'));
  }

  /**
   * Whether the key's master has a replica in the client's slot table (one that has replicated
   * something: Redis lists no other), unless the master said lately it has none that could take
   * over (the table can list a dead one for a while after a failover).
   */
  #clusterHasReplicas(key: string): boolean {
    const slot = keySlot(key);
    if ((this.#noReplicasUntil.get(slot) ?? 0) > Date.now()) return false;
    return (this.client.slots?.[slot]?.length ?? 0) > 1;
  }

  /** Whether the single Redis has replicas attached (INFO replication), asked at the first invalidation and again every 10 s. */
  async #singleHasReplicas(): Promise<boolean> {
    const now = Date.now();
    if (now >= this.#replicasCheckedUntil) {
      this.#replicasCheckedUntil = now + REPLICAS_RECHECK_MS;
      this.#replicaCheck = (async () => {
        const info = String((await this.client.call?.('INFO', 'replication')) ?? '');
        return Number(/^connected_slaves:(\d+)/m.exec(info)?.[1] ?? 0) > 0;
      })().catch(() => false);
    }
    return this.#replicaCheck;
  }

  async initTags(tagKeys: readonly string[], token: string, ttlMs: number): Promise<string[]> {
    if (tagKeys.length === 0) return [];
    const px = Math.max(1, Math.ceil(ttlMs));
    const tokens = (keys: readonly string[]) => initTags.run(this.client, keys, [token, px]) as Promise<string[]>;
    // On a cluster each tag key is in its own slot: one script call per key (auto-pipelined per node).
    if (!this.#cluster) return tokens(tagKeys);
    return (await Promise.all(tagKeys.map((key) => tokens([key])))).flat();
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.client.del(...keys);
  }

  async time(): Promise<number> {
    if (!this.client.time) throw new Error('This Redis client has no TIME.');
    const [seconds, micros] = await this.client.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  async ttl(key: string): Promise<number> {
    return this.client.pttl(key);
  }

  async close(): Promise<void> {
    // The application's client stays open; its errors reach no closed cache, but keep a listener (ioredis prints errors without one).
    this.#problemListeners.clear();
    this.#reconnectListeners.clear();
    if (!this.#owned) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
