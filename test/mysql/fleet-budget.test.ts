/**
 * The fleet budget against the real server: containers (one connector each, in this process) share
 * one budget, as Lambda containers share one in Redis. The account's MAX_USER_CONNECTIONS is the
 * database's limit; the budget admits its share (capacity), and the rest is headroom.
 *
 * Every scenario runs on each budget implementation of `BUDGETS`: the in-memory one of
 * `@cachefront/mysql/testing`, and the Redis ones of `@cachefront/cache` (fleet-budget-redis.test.ts
 * adds them through the same `fleetBudgetSuite`).
 */
import { createConnector } from '@cachefront/mysql';
import { MemoryBudget } from '@cachefront/mysql/testing';
import { describe } from 'vitest';
import { fleetBudgetSuite } from './fleet-budget-suite.js';

describe('fleet budget (in memory) on the real server', () => {
  fleetBudgetSuite({
    label: 'memory',
    make: ({ leaseTtlMs, share }) => new MemoryBudget({ leaseTtlMs, share }),
    connector: createConnector,
  });
});
