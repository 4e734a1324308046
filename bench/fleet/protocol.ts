/** Messages between the fleet orchestrator (run.ts) and its container processes (container.ts), over the fork IPC channel. */
import type { AppDatabase } from '@cachefront/examples/connector-fleet';

export const SERVERLESS_MYSQL = 'serverless-mysql';
export const CACHEFRONT = 'cachefront';
export const CACHEFRONT_BUDGET = 'cachefront + budget';

export const FLEET_DRIVERS = [SERVERLESS_MYSQL, CACHEFRONT, CACHEFRONT_BUDGET] as const;
export type FleetDriver = (typeof FLEET_DRIVERS)[number];

/** What a container is started with (its one argv argument, as JSON). */
export interface ContainerTask {
  readonly driver: FleetDriver;
  readonly database: AppDatabase;
  /** For `cachefront + budget`: the Redis URL and the budget's name (unique per run and scenario). */
  readonly redisUrl: string;
  readonly budgetName: string;
}

/** One invocation: the row read, the row updated (when it writes), and the Lambda deadline (epoch ms). */
export interface InvokeMessage {
  readonly invoke: { readonly readId: number; readonly writeId?: number; readonly deadline: number };
}

/**
 * A container's cumulative counters. `connects`..`reconnects` come from the driver's own events
 * (the bench adapters' CounterSet; a counter the library cannot report is absent); the statement
 * and kill counts are read at the mysql2 layer (its `mysql2:query` diagnostics channel), the same
 * way for every driver; the budget counts from the connector's `cachefront:mysql:*` channels.
 */
export interface ContainerCounters {
  readonly invocations: number;
  readonly connects: number;
  /** Connect attempts retried (the server refused: 1040 / 1203 / 1226, or a connect timeout). */
  readonly retries: number;
  /** Zombies killed, as the driver reports them. */
  readonly kills: number | undefined;
  readonly closes: number | undefined;
  readonly reconnects: number | undefined;
  /** Every statement handed to mysql2 (text protocol), the driver's own included. */
  readonly statements: number;
  /** Of those: the handler's `SELECT … FROM item` and `UPDATE item …`, re-sends included. */
  readonly appStatements: number;
  /** `KILL` statements sent, and those that failed (any error), and of those the ER_NO_SUCH_THREAD (1094) ones. */
  readonly killStatements: number;
  readonly killErrors: number;
  readonly noSuchThread: number;
  /** `cachefront + budget` only (zero elsewhere): grants, grants that waited, budget timeouts, hand-overs, lapsed leases, fallbacks to the processlist. */
  readonly budgetGrants: number;
  readonly budgetWaits: number;
  readonly budgetTimeouts: number;
  readonly handOvers: number;
  readonly leaseLapses: number;
  readonly budgetFallbacks: number;
}

export interface ReadyMessage {
  readonly ready: {
    /** From the process' start to its client created (module scope). */
    readonly initMs: number;
    /** Where `@cachefront/mysql` resolved: must be packages/mysql/src (the source condition). */
    readonly resolvedMysql: string;
  };
}

export interface ReplyMessage {
  readonly ok: boolean;
  /** errorLabel() of the failure, `code (errno)`, with cachefront's driverCode after a slash when there is one. */
  readonly error?: string;
  /** The handler's own duration, statements and end() included. */
  readonly handlerMs: number;
  readonly counters: ContainerCounters;
}

/** Asked of a container whose invocation ran past its deadline, just before it is killed: its counters so far. */
export interface CollectMessage {
  readonly collect: true;
}

export interface CountersMessage {
  readonly counters: ContainerCounters;
  readonly collected: true;
}

export type ParentMessage = InvokeMessage | CollectMessage;
export type ContainerMessage = ReadyMessage | ReplyMessage | CountersMessage;

export function isReady(message: ContainerMessage): message is ReadyMessage {
  return typeof message === 'object' && message !== null && 'ready' in message;
}

export function isCollected(message: ContainerMessage): message is CountersMessage {
  return typeof message === 'object' && message !== null && 'collected' in message;
}
