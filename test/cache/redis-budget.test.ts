/**
 * The fleet budget on the real Redis and on the throwaway Redis Cluster: the budget contract of
 * `@cachefront/mysql/testing` (what the in-memory budget also passes), then what only a store shared
 * by processes shows: every key of a budget in one slot, a waiter whose container died leaving the
 * queue, and an unreachable Redis failing fast with a typed error and a breaker.
 */
import { BudgetUnavailableError, createRedisBudget, type RedisBudget } from '@cachefront/cache';
import type { ConnectionBudget } from '@cachefront/mysql';
import { runBudgetContract } from '@cachefront/mysql/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { REDIS_URL } from '../support/env.js';
import { freePort } from '../support/net.js';
import { clusterClient, ready, scanKeys } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

const cluster = clusterClient();
const single = new Redis(REDIS_URL);
afterAll(() => {
  cluster.disconnect();
  single.disconnect();
});

runBudgetContract('redis', (options) => createRedisBudget({ redis: REDIS_URL, ...options }));
runBudgetContract('redis (a client handed in)', (options) => createRedisBudget({ redis: single, ...options }));
runBudgetContract('redis cluster (3 masters, a replica each)', async (options) => {
  await ready(cluster);
  // A burst of waiters duplicates the Cluster client once each (a blocking pop needs a connection of
  // its own), and 25 cluster clients connecting at once stall this process for 100-200 ms on 2
  // cores: past the 200 ms default. The contract is about who is admitted, not about speed.
  return createRedisBudget({ redis: cluster, commandTimeoutMs: 1000, ...options });
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const unique = (label: string) => `${label}-${process.pid}-${Date.now().toString(36)}`;

describe('the Redis budget', () => {
  it('undoes an acquire that timed out on the client but ran on the server: no phantom seat, no phantom scout', async () => {
    // Before: 40 containers starting at once on a cluster saw their first acquire time out while
    // it still ran: the scout's seat stayed taken with a token nobody renewed, and every waiter
    // waited for it until its 30 s lease lapsed.
    const admin = new Redis(REDIS_URL);
    const budget = createRedisBudget({ redis: REDIS_URL, name: `abandon-${Date.now().toString(36)}`, commandTimeoutMs: 30, leaseTtlMs: 30_000 });
    try {
      await waitFor(() => budget.inspect().then(() => true), { message: 'the budget connected' });
      // Scripts wait while writes are paused: the acquire runs only after the client gave up on it.
      await admin.call('CLIENT', 'PAUSE', '200', 'WRITE');
      const error = await budget.acquire({ deadline: Date.now() + 5000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BudgetUnavailableError);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(await budget.inspect()).toMatchObject({ taken: 0, waiting: 0 });
      // And the next container is the scout at once, as if nothing had happened.
      const grant = await budget.acquire({ deadline: Date.now() + 1000 });
      expect(grant).toMatchObject({ kind: 'granted', needsLimit: true });
    } finally {
      await budget.close();
      admin.disconnect();
    }
  });

  it('is a ConnectionBudget', () => {
    expectTypeOf<RedisBudget>().toExtend<ConnectionBudget>();
    const budget: ConnectionBudget = createRedisBudget({ redis: single });
    expect(budget.leaseTtlMs).toBe(30_000);
    expect(budget.name).toBe('default');
  });

  it('keeps every key of a budget in one slot of the cluster, each with a TTL', async () => {
    await ready(cluster);
    const name = unique('slot');
    const budget = createRedisBudget({ redis: cluster, name, limit: 4, share: 0.5 });
    const a = await budget.acquire({ deadline: Date.now() + 1000 });
    const b = await budget.acquire({ deadline: Date.now() + 1000 });
    if (a.kind !== 'granted' || b.kind !== 'granted') throw new Error('expected two grants');
    await budget.bind(a.lease, 1);
    const waiting = budget.acquire({ deadline: Date.now() + 300 }); // queues, with a wake list
    await sleep(100);
    const keys = await scanKeys(cluster, `{cf-budget:${name}}:*`);
    expect(keys.length).toBeGreaterThanOrEqual(4);
    const slots = new Set(await Promise.all(keys.map((key) => cluster.cluster('KEYSLOT', key))));
    expect(slots.size).toBe(1);
    // Invariant 7: every key has a TTL (a day past its last use at most).
    for (const key of keys) {
      const ttl = await cluster.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(86_400_000);
    }
    expect((await waiting).kind).toBe('timeout');
    expect(await budget.inspect()).toMatchObject({ taken: 2, lapsed: 0, waiting: 0, limit: 4, capacity: 2 });
    await budget.close();
  });

  it('a waiter whose container died leaves the queue within seconds, and the next one is served', async () => {
    const name = unique('dead');
    const holderBudget = createRedisBudget({ redis: REDIS_URL, name, limit: 2, share: 0.5 });
    const holder = await holderBudget.acquire({ deadline: Date.now() + 1000 });
    if (holder.kind !== 'granted') throw new Error('expected a grant');
    // A container queues, then dies: its connections are cut and it never comes back.
    const doomed = createRedisBudget({ redis: REDIS_URL, name, limit: 2, share: 0.5 });
    void doomed.acquire({ deadline: Date.now() + 60_000 }).catch(() => undefined);
    await sleep(100);
    await doomed.close();
    const next = createRedisBudget({ redis: REDIS_URL, name, limit: 2, share: 0.5 });
    const nextGrant = next.acquire({ deadline: Date.now() + 10_000 });
    await sleep(100);
    await holderBudget.release(holder.lease);
    const started = Date.now();
    expect((await nextGrant).kind).toBe('granted');
    // The dead waiter was ahead: it is dropped once it has not refreshed its place for 3 s.
    expect(Date.now() - started).toBeLessThan(4500);
    await Promise.all([holderBudget.close(), next.close()]);
  });

  it('an unreachable Redis fails fast with a typed error naming no argument, then the breaker answers at once', async () => {
    const port = await freePort(); // nothing listens there
    const budget = createRedisBudget({ redis: { host: '127.0.0.1', port, retryStrategy: () => 50 }, commandTimeoutMs: 100 });
    const opened: number[] = [];
    budget.events.on('circuit-open', ({ failures }) => opened.push(failures));
    const failures: unknown[] = [];
    for (let i = 0; i < 3; i += 1) failures.push(await budget.acquire({ deadline: Date.now() + 5000 }).catch((error: unknown) => error));
    for (const error of failures) {
      expect(error).toBeInstanceOf(BudgetUnavailableError);
      expect((error as BudgetUnavailableError).code).toBe('E_BUDGET_UNAVAILABLE');
    }
    expect(opened).toEqual([3]);
    const started = Date.now();
    const fast = await budget.renew({ slot: 's1', token: 'secret-token' }).catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(50);
    expect(fast).toMatchObject({ reason: 'breaker-open' });
    expect(String((fast as Error).message)).not.toContain('secret-token');
    expect(budget.stats().unavailable).toBe(4);
    await budget.close();
  });

  it('refuses options that cannot work, with a typed error', () => {
    for (const bad of [{ name: 'has space' }, { share: 0 }, { share: 1.5 }, { leaseTtlMs: -1 }, { limit: 2.5 }, { breakerThreshold: 0 }]) {
      expect(() => createRedisBudget({ redis: REDIS_URL, ...bad })).toThrow(expect.objectContaining({ code: 'E_INVALID_CACHE_OPTIONS' }));
    }
    expect(() => createRedisBudget(undefined as never)).toThrow(expect.objectContaining({ code: 'E_INVALID_CACHE_OPTIONS' }));
  });
});
