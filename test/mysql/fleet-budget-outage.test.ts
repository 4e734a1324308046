/**
 * The budget's Redis killed in the middle of a burst: every container falls back to the
 * processlist mode (a `budgetFallback` event, and processlist checks at end(): never an unlimited
 * mode), no invocation fails, and when Redis comes back the containers use the budget again
 * (`budgetRestored`, new grants). Before the outage the fleet stays within the budget's capacity.
 */
import { createRedisBudget, type RedisBudget } from '@cachefront/cache';
import { type Connector, createConnector, sql } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AUX_MYSQL } from '../support/env.js';
import { adminConnection, createAccount, type TestAccount, threadsOf } from '../support/mysql.js';
import { auxRedisPort, startAuxRedis, stopAuxRedis } from '../support/redis.js';
import { waitFor } from '../support/wait-for.js';

const LIMIT = 10;
let admin: Connection;
let account: TestAccount;
let port: number;

beforeAll(async () => {
  admin = await adminConnection(AUX_MYSQL);
  account = await createAccount(admin, AUX_MYSQL, { maxUserConnections: LIMIT });
  port = await auxRedisPort();
  await startAuxRedis(port);
});

afterAll(async () => {
  await stopAuxRedis(port);
  await account?.drop();
  await admin?.end();
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

it('falls back when Redis dies mid-burst, fails nothing, and recovers when Redis returns', async () => {
  const budgets: RedisBudget[] = [];
  const fleet: Connector[] = Array.from({ length: 16 }, () => {
    const budget = createRedisBudget({ redis: { host: '127.0.0.1', port, retryStrategy: () => 100 }, name: 'outage', breakerOpenMs: 500 });
    budgets.push(budget);
    return createConnector({ connection: account.connection, budget });
  });
  const fallbacks: string[] = [];
  const restored: number[] = [];
  for (const db of fleet) {
    db.on('budgetFallback', ({ code }) => fallbacks.push(code ?? ''));
    db.on('budgetRestored', ({ fallbackMs }) => restored.push(fallbackMs));
  }
  let most = 0;
  let phase: 'before' | 'down' | 'after' = 'before';
  const failed: unknown[] = [];
  let running = true;
  const sampler = (async () => {
    while (running) {
      // Counted: sessions past their login, before Redis dies (while it is down the server's own
      // limit is what holds, and its check races with concurrent logins: 11 sessions were seen).
      const admitted = (await threadsOf(admin, account.user)).filter((t) => t.command !== 'Connect' && t.command !== 'Killed');
      if (phase === 'before') most = Math.max(most, admitted.length);
      await sleep(5);
    }
  })();
  const grantsAt = () => fleet.reduce((n, db) => n + db.stats().budgetGrants, 0);
  const checks = () => fleet.reduce((n, db) => n + db.stats().usageChecks, 0);
  let checksWhileDown = 0;
  const work = fleet.map(async (db) => {
    while (running) {
      db.setDeadline(Date.now() + 10_000);
      try {
        await db.query(sql`SELECT SLEEP(${0.01}) AS s`);
      } catch (error) {
        failed.push({ phase, error });
      } finally {
        await db.end();
      }
      await sleep(5);
    }
  });
  try {
    await waitFor(() => grantsAt() >= 8, { timeoutMs: 5000 });
    await sleep(300);
    phase = 'down';
    await stopAuxRedis(port);
    await waitFor(() => fallbacks.length >= 8, { timeoutMs: 10_000 });
    const checksAtFallback = checks();
    await sleep(1000);
    checksWhileDown = checks() - checksAtFallback;
    const grantsWhileDown = grantsAt();
    phase = 'after';
    await startAuxRedis(port);
    await waitFor(() => restored.length >= 1 && grantsAt() > grantsWhileDown, { timeoutMs: 15_000 });
    await sleep(500);
  } finally {
    running = false;
    await Promise.all(work);
    await sampler;
    await Promise.all(fleet.map((db) => db.quit()));
    await Promise.all(budgets.map((budget) => budget.close()));
  }
  expect(failed).toEqual([]);
  expect(most).toBeLessThanOrEqual(8); // the budget's capacity: 0.8 of the limit
  expect(fallbacks.length).toBeGreaterThanOrEqual(8);
  expect(restored.length).toBeGreaterThanOrEqual(1);
  // While Redis was down the connectors checked the processlist at end(), as without a budget.
  expect(checksWhileDown).toBeGreaterThan(0);
  expect(fleet.reduce((n, db) => n + db.stats().budgetFallbacks, 0)).toBeGreaterThan(0);
}, 60_000);
