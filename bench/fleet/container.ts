/**
 * One Lambda container of the fleet benchmark, as a real process: forked by run.ts (tsx, the
 * `@cachefront/source` condition) with its task as its one argument. Its database client is created
 * in module scope, for one driver; each `{ invoke }` message runs the handler (read, maybe write,
 * then `end()`) and is answered with `{ ok, error?, handlerMs, counters }`. Between invocations the
 * orchestrator freezes the process (SIGSTOP); an expired container is never told, and stays frozen
 * with its sockets open until the end of the driver's run.
 */
import diagnostics from 'node:diagnostics_channel';
import { createRedisBudget } from '@cachefront/cache';
import {
  type ContainerClient,
  cachefrontAdapter,
  type DriverAdapter,
  type DriverCounters,
  errorLabel,
  READ_ITEM_SQL,
  WRITE_ITEM_SQL,
} from '@cachefront/examples/connector-fleet';
import { serverlessMysqlAdapter } from '../burst/serverless-mysql-adapter.js';
import {
  CACHEFRONT,
  CACHEFRONT_BUDGET,
  type ContainerCounters,
  type ContainerTask,
  type CountersMessage,
  type InvokeMessage,
  type ParentMessage,
  type ReadyMessage,
  type ReplyMessage,
  SERVERLESS_MYSQL,
} from './protocol.js';

const task = JSON.parse(process.argv[2] ?? '') as ContainerTask;

/** Statements at the mysql2 layer, for every driver alike: what was sent, and which KILLs failed how. */
const seen = { statements: 0, appStatements: 0, killStatements: 0, killErrors: 0, noSuchThread: 0 };
const APP_PREFIXES = [READ_ITEM_SQL, WRITE_ITEM_SQL].map((text) => text.slice(0, text.indexOf('?')));
const KILL = /^\s*(?:KILL\b|CALL\s+mysql\.rds_kill\b)/i;
interface QueryContext {
  readonly query?: unknown;
  readonly error?: unknown;
}
diagnostics.subscribe('tracing:mysql2:query:start', (message) => {
  const text = String((message as QueryContext).query ?? '');
  seen.statements += 1;
  if (APP_PREFIXES.some((prefix) => text.startsWith(prefix))) seen.appStatements += 1;
  if (KILL.test(text)) seen.killStatements += 1;
});
diagnostics.subscribe('tracing:mysql2:query:error', (message) => {
  const { query, error } = message as QueryContext;
  if (!KILL.test(String(query ?? ''))) return;
  seen.killErrors += 1;
  if ((error as { errno?: unknown } | undefined)?.errno === 1094) seen.noSuchThread += 1;
});

/** The budget's events, from the connector's diagnostics channels (the adapter keeps the connector to itself). */
const budget = { budgetGrants: 0, budgetWaits: 0, budgetTimeouts: 0, handOvers: 0, leaseLapses: 0, budgetFallbacks: 0 };
diagnostics.subscribe('cachefront:mysql:budgetGrant', (message) => {
  budget.budgetGrants += 1;
  if (((message as { waitedMs?: number }).waitedMs ?? 0) > 0) budget.budgetWaits += 1;
});
diagnostics.subscribe('cachefront:mysql:budgetTimeout', () => {
  budget.budgetTimeouts += 1;
});
diagnostics.subscribe('cachefront:mysql:handOver', () => {
  budget.handOvers += 1;
});
diagnostics.subscribe('cachefront:mysql:leaseLapsed', () => {
  budget.leaseLapses += 1;
});
diagnostics.subscribe('cachefront:mysql:budgetFallback', () => {
  budget.budgetFallbacks += 1;
});

function adapterFor(config: ContainerTask): DriverAdapter {
  switch (config.driver) {
    case SERVERLESS_MYSQL:
      return serverlessMysqlAdapter();
    case CACHEFRONT:
      return cachefrontAdapter();
    case CACHEFRONT_BUDGET:
      // createConnector({ connection, budget: createRedisBudget({ redis, name }) }): the budget's defaults (share 0.8, leaseTtlMs 30000).
      return cachefrontAdapter({ name: CACHEFRONT_BUDGET, budget: () => createRedisBudget({ redis: config.redisUrl, name: config.budgetName }) });
  }
}

// Module scope, as a handler creates its client: no I/O for the database here.
const adapter = adapterFor(task);
const client: ContainerClient = adapter.createClient(task.database);
let invocations = 0;
let busy = false;

function counters(): ContainerCounters {
  const driver: DriverCounters = adapter.counters();
  return {
    invocations,
    connects: driver.connects ?? 0,
    retries: driver.retries ?? 0,
    kills: driver.kills,
    closes: driver.closes,
    reconnects: driver.reconnects,
    ...seen,
    ...budget,
  };
}

async function handle(work: InvokeMessage['invoke']): Promise<ReplyMessage> {
  invocations += 1;
  const started = performance.now();
  try {
    await client.invoke({ readId: work.readId, writeId: work.writeId, deadline: work.deadline });
    return { ok: true, handlerMs: performance.now() - started, counters: counters() };
  } catch (error) {
    return { ok: false, error: failureLabel(error), handlerMs: performance.now() - started, counters: counters() };
  }
}

/** errorLabel()'s `code (errno)`, and the driver's code under cachefront's (`E_CONNECT_FAILED/ETIMEDOUT`) when it has one. */
function failureLabel(error: unknown): string {
  const label = errorLabel(error);
  const driverCode = (error as { driverCode?: unknown } | null)?.driverCode;
  return typeof driverCode === 'string' && driverCode !== '' && !label.includes(driverCode) ? `${label}/${driverCode}` : label;
}

process.on('message', (message: ParentMessage) => {
  if (typeof message !== 'object' || message === null) return;
  if ('collect' in message) {
    process.send?.({ counters: counters(), collected: true } satisfies CountersMessage);
    return;
  }
  if (!('invoke' in message)) return;
  if (busy) {
    process.send?.({ ok: false, error: 'CONTAINER_BUSY', handlerMs: 0, counters: counters() } satisfies ReplyMessage);
    return;
  }
  busy = true;
  void handle(message.invoke).then((reply) => {
    busy = false;
    process.send?.(reply);
  });
});
// The orchestrator went away: nothing else will ever end this process.
process.on('disconnect', () => process.exit(0));

const ready: ReadyMessage = { ready: { initMs: performance.now(), resolvedMysql: import.meta.resolve('@cachefront/mysql') } };
process.send?.(ready);
