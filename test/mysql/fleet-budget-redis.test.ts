/**
 * The fleet-budget scenarios of fleet-budget-suite.ts with the Redis budget: one budget client per
 * container, as Lambda containers each open their own, on Redis and on the Redis Cluster.
 */
import { createRedisBudget, type RedisBudget, type RedisConnection } from '@cachefront/cache';
import { createConnector } from '@cachefront/mysql';
import { Cluster } from 'ioredis';
import { describe } from 'vitest';
import { REDIS_URL } from '../support/env.js';
import { clusterClient, ready } from '../support/redis.js';
import { type BudgetFleet, type BudgetOptions, fleetBudgetSuite } from './fleet-budget-suite.js';

let fleets = 0;

/**
 * A fleet whose containers each open their own client (`client()`) on one budget name.
 * `commandTimeoutMs`: on the cluster, 40 clients connecting at once stall this 2-core machine past
 * the budget's 200 ms, and a container whose first acquire times out runs in the processlist mode,
 * outside the budget (by design: Redis too slow is Redis down), which this suite does not measure.
 */
function redisFleet(client: () => RedisConnection, commandTimeoutMs?: number) {
  return ({ leaseTtlMs, share }: BudgetOptions): BudgetFleet => {
    fleets += 1;
    const name = `fleet-${process.pid}-${Date.now().toString(36)}-${fleets}`;
    const made: Array<{ budget: RedisBudget; redis: RedisConnection }> = [];
    return {
      budget() {
        const redis = client();
        const budget = createRedisBudget({ redis, name, leaseTtlMs, share, ...(commandTimeoutMs === undefined ? {} : { commandTimeoutMs }) });
        made.push({ budget, redis });
        return budget;
      },
      async connected() {
        await Promise.all(made.map(({ redis }) => (redis instanceof Cluster ? ready(redis) : undefined)));
      },
      async close() {
        await Promise.all(made.map(({ budget }) => budget.close()));
        // A client handed in stays open after the budget's close(): the test closes its own.
        for (const { redis } of made) if (redis instanceof Cluster) redis.disconnect();
      },
    };
  };
}

describe('fleet budget (Redis) on the real server', () => {
  fleetBudgetSuite({ label: 'redis', make: redisFleet(() => REDIS_URL), connector: createConnector });
});

describe('fleet budget (Redis Cluster) on the real server', () => {
  fleetBudgetSuite({ label: 'redis cluster', make: redisFleet(clusterClient, 1000), connector: createConnector });
});
