/**
 * The fleet-wide connection budget in Redis: the `ConnectionBudget` port of `@cachefront/common`
 * (the connector of `@cachefront/mysql` takes it as `budget`). Slots are leases in one hash slot
 * (`{cf-budget:<name>}`), every operation one Lua script on Redis' clock (budget/lua.ts); waiters
 * queue in arrival order and block on a list of their own, which a release, a published limit or
 * the grant before them pushes to. A lease lapses at its expiry, read from the store, so a waiter
 * also wakes when the next lease is due to lapse. Works on Redis and Redis Cluster.
 */
import { randomBytes } from 'node:crypto';
import {
  type BudgetAcquireOptions,
  type BudgetGrant,
  type BudgetHandOver,
  type BudgetHandOverOptions,
  type BudgetLease,
  type BudgetLeaseState,
  type ConnectionBudget,
  definedOnly,
  Emitter,
  NAME,
  withTimeout,
} from '@cachefront/common';
import { createRedisClient, isRedisClient, type RedisClient, type RedisConnection } from '../drivers/redis-client.js';
import { classifyRedisError, errorCode } from '../drivers/redis-errors.js';
import { Script } from '../drivers/script.js';
import { BudgetUnavailableError, CacheOptionsError } from '../errors.js';
import { CircuitBreaker } from '../runtime/breaker.js';
import { ABANDON, ACQUIRE, HAND_OVER, INSPECT, LEAVE, PUBLISH_LIMIT, RELEASE, RENEW } from './lua.js';

export interface RedisBudgetOptions {
  /**
   * A Redis URL, ioredis options, or an existing ioredis `Redis` / `Cluster` client (left open by
   * `close()`), as for `createRedisCache`. A waiter blocks on a connection of its own, duplicated
   * from this one. Required.
   */
  redis: RedisConnection;
  /**
   * What separates budgets: one per database and user (`orders-rw`). 1-64 characters of A-Z, a-z,
   * 0-9, `_` and `-`. @default 'default'
   */
  name?: string;
  /**
   * The share of the database's limit the budget admits; the rest is headroom for a claimer's
   * connect before its kill, and for connections outside the budget (other services, admin
   * sessions, migrations). @default 0.8
   */
  share?: number;
  /**
   * A lease not renewed for this long lapses and may be claimed. Longer than a typical freeze
   * between warm invocations; every use renews it. @default 30000
   */
  leaseTtlMs?: number;
  /**
   * With no free seat, a lease unused for this long may be claimed (its thread killed by id), as a
   * lapsed one: frozen warm containers and dropped ones look alike until the TTL, and a fleet that
   * churns containers would otherwise wait that long. The holder checks its lease before the first
   * statement after half of this. 0: only lapsed leases. @default 3000
   */
  claimIdleMs?: number;
  /**
   * The database's connection limit, when known (`LEAST(max_connections, max_user_connections)`).
   * Without it, the first container to connect reads it, and the budget caches it for an hour.
   */
  limit?: number;
  /**
   * How long a waiter waits before a holder gives its slot up at `end()`: a fleet that runs just
   * over its capacity then reconnects once per waiter and grace, not on every invocation. A holder
   * that keeps its slot meanwhile holds it on a lease of twice the grace (renewed by its next use):
   * if it goes idle it hands over when the grace is up, and if it is frozen its seat is claimed
   * then. 0: hand over at every `end()` that sees a waiter without a free seat. @default 50
   */
  handOverAfterMs?: number;
  /** Timeout of every Redis call but a waiter's blocking pop. Past it the connector falls back. @default 200 */
  commandTimeoutMs?: number;
  /** Consecutive Redis failures that open the budget's circuit breaker. @default 3 */
  breakerThreshold?: number;
  /** How long an open breaker fails calls at once before one trial. @default 2000 */
  breakerOpenMs?: number;
}

export const DEFAULT_BUDGET_OPTIONS = Object.freeze({
  name: 'default',
  share: 0.8,
  leaseTtlMs: 30_000,
  handOverAfterMs: 50,
  claimIdleMs: 3000,
  commandTimeoutMs: 200,
  breakerThreshold: 3,
  breakerOpenMs: 2000,
} as const);

/** The budget as the store sees it, from `inspect()`. */
export interface BudgetSnapshot {
  /** Seats taken: live leases and lapsed ones nobody claimed yet. */
  readonly taken: number;
  /** Of those, leases past their expiry: known zombies (or frozen containers). */
  readonly lapsed: number;
  /** Containers waiting for a seat. */
  readonly waiting: number;
  /** The database's limit as the budget knows it; undefined before a scout published it. */
  readonly limit: number | undefined;
  /** The seats the budget admits, `floor(limit × share)`; undefined without a limit. */
  readonly capacity: number | undefined;
}

/** This process's counters, from `stats()`. */
export interface RedisBudgetStats {
  grants: number;
  /** Grants that took over a lapsed lease. */
  claims: number;
  /** Grants that waited in the queue first. */
  waits: number;
  /** Blocking pops ended by a push (a release, a published limit, the grant before). */
  wakeups: number;
  timeouts: number;
  /** Calls that failed, timed out or met an open breaker. */
  unavailable: number;
}

export interface RedisBudgetEvents {
  /** Redis failed `failures` calls in a row: the budget fails calls at once for `openMs`. */
  'circuit-open': { readonly failures: number; readonly openMs: number };
  'circuit-close': Record<string, never>;
}

/** The diagnostics channel of event `e` is `cachefront:budget:<e>`. */
export const BUDGET_CHANNEL_PREFIX = 'cachefront:budget:';

/** Whatever a waiter's blocking pop needs of a client: ioredis' `duplicate` and `blpop`. */
interface BlockingClient extends RedisClient {
  duplicate(): BlockingClient;
  blpop(key: string, timeoutSeconds: number): Promise<[string, string] | null>;
}

/** A waiter re-runs the acquire script at least this often: it refreshes its place, and a lost push costs no more than this. */
const HEARTBEAT_MS = 1000;
/** A waiter that stopped refreshing for this long (its container crashed) leaves the queue. */
const WAITER_ALIVE_MS = 3 * HEARTBEAT_MS;
/** How long a scouted limit is trusted before a container reads it again. */
const LIMIT_FRESH_MS = 3600_000;

const acquireScript = new Script(ACQUIRE);
const renewScript = new Script(RENEW);
const releaseScript = new Script(RELEASE);
const handOverScript = new Script(HAND_OVER);
const leaveScript = new Script(LEAVE);
const abandonScript = new Script(ABANDON);
const publishScript = new Script(PUBLISH_LIMIT);
const inspectScript = new Script(INSPECT);

const randomId = () => randomBytes(9).toString('base64url');

export class RedisBudget implements ConnectionBudget {
  readonly name: string;
  readonly leaseTtlMs: number;
  readonly claimIdleMs: number;
  readonly events = new Emitter<RedisBudgetEvents>(BUDGET_CHANNEL_PREFIX);
  readonly #options: Required<Omit<RedisBudgetOptions, 'redis' | 'limit'>> & { limit: number | undefined };
  readonly #client: BlockingClient;
  readonly #owned: boolean;
  /** The key prefix, with the budget's hash tag: KEYS[1] of every script. */
  readonly #prefix: string;
  readonly #breaker: CircuitBreaker;
  /** Blocking connections not in use; one more is duplicated for each concurrent waiter. */
  readonly #idleBlockers: BlockingClient[] = [];
  readonly #blockers = new Set<BlockingClient>();
  readonly #stats: RedisBudgetStats = { grants: 0, claims: 0, waits: 0, wakeups: 0, timeouts: 0, unavailable: 0 };
  #closed = false;

  constructor(options: RedisBudgetOptions) {
    if (typeof options !== 'object' || options === null || options.redis === undefined) {
      throw new CacheOptionsError('createRedisBudget needs `redis`: a URL, ioredis options, or a client.');
    }
    const { redis: _redis, ...given } = options;
    const resolved = { ...DEFAULT_BUDGET_OPTIONS, limit: undefined, ...definedOnly(given) };
    checkBudgetOptions(resolved);
    this.#options = resolved;
    this.name = resolved.name;
    this.leaseTtlMs = resolved.leaseTtlMs;
    this.claimIdleMs = resolved.claimIdleMs;
    this.#prefix = `{cf-budget:${resolved.name}}:`;
    if (isRedisClient(options.redis)) {
      this.#client = options.redis as BlockingClient;
      this.#owned = false;
    } else {
      this.#client = createRedisClient(options.redis) as BlockingClient;
      this.#owned = true;
      // Connection errors surface as the calls' failures; without a listener ioredis prints them.
      this.#client.on('error', () => {});
    }
    if (typeof this.#client.duplicate !== 'function' || typeof this.#client.blpop !== 'function') {
      throw new CacheOptionsError('The budget needs a client with `duplicate` and `blpop` (an ioredis Redis or Cluster).');
    }
    this.#breaker = new CircuitBreaker(
      resolved.breakerThreshold,
      resolved.breakerOpenMs,
      Date.now,
      (failures) => this.events.emit('circuit-open', { failures, openMs: resolved.breakerOpenMs }),
      () => this.events.emit('circuit-close', {}),
    );
  }

  stats(): RedisBudgetStats {
    return { ...this.#stats };
  }

  async acquire(options: BudgetAcquireOptions): Promise<BudgetGrant> {
    const started = Date.now();
    const waiter = randomId();
    const token = randomId();
    const { leaseTtlMs, share, limit } = this.#options;
    let queued = false;
    for (;;) {
      let out: Array<number | string>;
      try {
        out = (await this.#call(acquireScript, [waiter, token, leaseTtlMs, share, limit ?? '', WAITER_ALIVE_MS, LIMIT_FRESH_MS, this.claimIdleMs])) as Array<
          number | string
        >;
      } catch (error) {
        // No reply is not "not run": undo whatever the acquire did, once it gets there.
        this.#abandon(waiter, token);
        throw error;
      }
      if (out[0] === 1) {
        const zombie = out[2] === '' ? undefined : Number(out[2]);
        this.#stats.grants += 1;
        if (zombie !== undefined) this.#stats.claims += 1;
        if (queued) this.#stats.waits += 1;
        return { kind: 'granted', lease: { slot: String(out[1]), token }, zombie, needsLimit: out[3] === 1, waitedMs: queued ? Date.now() - started : 0 };
      }
      queued = true;
      const remaining = options.deadline - Date.now();
      if (remaining <= 0) {
        this.#stats.timeouts += 1;
        await this.#call(leaveScript, [waiter]).catch(() => undefined);
        return { kind: 'timeout', waitedMs: Date.now() - started, queued: Math.max(0, Number(out[2]) - 1) };
      }
      const nextLapse = Number(out[1]);
      await this.#block(waiter, Math.min(remaining, HEARTBEAT_MS, nextLapse >= 0 ? nextLapse + 1 : HEARTBEAT_MS));
      // Redis times a blocking pop out on its own cron (10 times a second by default): the pop
      // may return after the deadline, and a slot taken then would come too late.
      if (Date.now() >= options.deadline) {
        this.#stats.timeouts += 1;
        await this.#call(leaveScript, [waiter]).catch(() => undefined);
        return { kind: 'timeout', waitedMs: Date.now() - started, queued: Math.max(0, Number(out[2]) - 1) };
      }
    }
  }

  async bind(lease: BudgetLease, threadId: number): Promise<BudgetLeaseState> {
    return this.#renew(lease, String(threadId));
  }

  async renew(lease: BudgetLease): Promise<BudgetLeaseState> {
    return this.#renew(lease, '');
  }

  async handOver(lease: BudgetLease, options: BudgetHandOverOptions = {}): Promise<BudgetHandOver> {
    const { handOverAfterMs, share, limit } = this.#options;
    const grace = options.immediate ? 0 : handOverAfterMs;
    const [give, leaseMs] = (await this.#call(handOverScript, [lease.slot, lease.token, grace, share, limit ?? ''])) as [number, number];
    return { give: give === 1, leaseMs: give === 1 || leaseMs < 0 ? undefined : leaseMs };
  }

  async release(lease: BudgetLease): Promise<void> {
    await this.#call(releaseScript, [lease.slot, lease.token]);
  }

  async publishLimit(limit: number): Promise<void> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new CacheOptionsError('publishLimit needs a positive integer.');
    await this.#call(publishScript, [limit, LIMIT_FRESH_MS]);
  }

  /** The budget as the store sees it now (for an audit, or a dashboard). */
  async inspect(): Promise<BudgetSnapshot> {
    const [taken, lapsed, waiting, limit] = ((await this.#call(inspectScript, [])) as number[]).map(Number) as [number, number, number, number];
    const known = this.#options.limit ?? (limit < 0 ? undefined : limit);
    return { taken, lapsed, waiting, limit: known, capacity: known === undefined ? undefined : Math.max(1, Math.floor(known * this.#options.share)) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const blocker of this.#blockers) blocker.disconnect();
    this.#blockers.clear();
    this.#idleBlockers.length = 0;
    if (!this.#owned) return;
    try {
      await this.#client.quit();
    } catch {
      this.#client.disconnect();
    }
  }

  async #renew(lease: BudgetLease, thread: string): Promise<BudgetLeaseState> {
    const [held, waiting] = (await this.#call(renewScript, [lease.slot, lease.token, this.leaseTtlMs, thread])) as [number, number];
    return { held: held === 1, waiting };
  }

  /** One script call under the command timeout and the breaker; any failure is a `BudgetUnavailableError`. */
  async #call(script: Script, args: ReadonlyArray<string | number>): Promise<unknown> {
    if (this.#closed) throw new BudgetUnavailableError('failed', 'CLOSED');
    if (!this.#breaker.allow()) {
      this.#stats.unavailable += 1;
      throw new BudgetUnavailableError('breaker-open');
    }
    try {
      const result = await withTimeout(() => script.run(this.#client, [this.#prefix], args), this.#options.commandTimeoutMs, {
        error: () => new BudgetUnavailableError('timeout'),
      });
      this.#breaker.success();
      return result;
    } catch (error) {
      this.#breaker.failure();
      this.#stats.unavailable += 1;
      // The client's own error carries the call's arguments: it is replaced by one built from its code alone.
      if (error instanceof BudgetUnavailableError) throw error;
      throw new BudgetUnavailableError('failed', classifyRedisError(error)?.code ?? errorCode(error));
    }
  }

  /** Sends ABANDON behind a failed acquire, outside the breaker and the timeout; its own failure changes nothing more. */
  #abandon(waiter: string, token: string): void {
    if (this.#closed) return;
    void abandonScript.run(this.#client, [this.#prefix], [waiter, token]).catch(() => undefined);
  }

  /** Blocks on the waiter's own list for at most `ms`: a push ends it early. A failed pop just ends the wait. */
  async #block(waiter: string, ms: number): Promise<void> {
    const blocker = this.#idleBlockers.pop() ?? this.#newBlocker();
    let healthy = true;
    try {
      const popped = await withTimeout(() => blocker.blpop(`${this.#prefix}wake:${waiter}`, Math.max(0.01, ms / 1000)), ms + this.#options.commandTimeoutMs, {
        error: () => new BudgetUnavailableError('timeout'),
      });
      if (popped !== null) this.#stats.wakeups += 1;
    } catch {
      healthy = false;
    } finally {
      if (healthy && !this.#closed) {
        this.#idleBlockers.push(blocker);
      } else {
        this.#blockers.delete(blocker);
        blocker.disconnect();
      }
    }
  }

  #newBlocker(): BlockingClient {
    const blocker = this.#client.duplicate();
    blocker.on('error', () => {});
    this.#blockers.add(blocker);
    return blocker;
  }
}

/**
 * The fleet budget on Redis or Redis Cluster (ElastiCache), for the connector's `budget` option:
 * `createConnector({ connection, budget: createRedisBudget({ redis: process.env.REDIS_URL }) })`.
 */
export function createRedisBudget(options: RedisBudgetOptions): RedisBudget {
  return new RedisBudget(options);
}

function checkBudgetOptions(options: Required<Omit<RedisBudgetOptions, 'redis' | 'limit'>> & { limit: number | undefined }): void {
  if (typeof options.name !== 'string' || !NAME.test(options.name)) {
    throw new CacheOptionsError('The budget `name` must be 1-64 characters of A-Z, a-z, 0-9, `_` and `-`.');
  }
  if (typeof options.share !== 'number' || !(options.share > 0 && options.share <= 1)) {
    throw new CacheOptionsError('The budget `share` must be a number in (0, 1].');
  }
  for (const name of ['handOverAfterMs', 'claimIdleMs'] as const) {
    const value = options[name];
    if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
      throw new CacheOptionsError(`The budget \`${name}\` must be a number of ms ≥ 0.`);
  }
  for (const name of ['leaseTtlMs', 'commandTimeoutMs', 'breakerOpenMs'] as const) {
    const value = options[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw new CacheOptionsError(`The budget \`${name}\` must be a positive number of ms.`);
  }
  if (!Number.isSafeInteger(options.breakerThreshold) || options.breakerThreshold < 1) {
    throw new CacheOptionsError('The budget `breakerThreshold` must be a positive integer.');
  }
  if (options.limit !== undefined && (!Number.isSafeInteger(options.limit) || options.limit < 1)) {
    throw new CacheOptionsError('The budget `limit` must be a positive integer.');
  }
}
