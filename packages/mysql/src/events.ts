import type { CachefrontMysqlError } from './errors.js';

/**
 * Everything the connector reports, through `connector.on(...)` and one `node:diagnostics_channel`
 * per event (`cachefront:mysql:<event>`). Payloads carry thread ids, timings and error codes —
 * never a statement's parameters, a password or a server message.
 */
export interface ConnectorEvents {
  /** A physical connection opened, after `attempts` tries. */
  connect: { threadId: number; attempts: number; durationMs: number };
  /** A connect failed and is tried again after `delayMs`; `code` is the driver's, or `ETIMEDOUT` when `connectTimeoutMs` ran out. */
  retry: { attempt: number; delayMs: number; code: string | undefined; errno: number | undefined };
  /** A connection was found closed (or failed its probe) and is replaced. */
  reconnect: { reason: 'stale-socket' | 'probe-failed' | 'lease-lapsed'; idleMs: number };
  query: { verb: string; durationMs: number; retried: boolean; ok: boolean };
  /** What end() saw; `pressure` when this invocation had to wait for a slot, so the server counts as full. */
  usage: { limit: number; used: number; utilization: number; thresholdMs: number | undefined; pressure: boolean };
  /**
   * A zombie was killed: `lapsed-lease` for the thread of a fleet-budget lease this container
   * claimed (a known zombie, re-checked at kill time), `idle` for one the processlist showed idle
   * past the threshold.
   */
  kill: { threadId: number; idleMs: number; reason: 'lapsed-lease' | 'idle' };
  killError: { threadId: number; code: string | undefined; errno: number | undefined };
  /**
   * `utilization`: the processlist policy gave the connection back; `hand-over`: others waited for
   * a slot of the fleet budget; `lapsed-lease`: its lease lapsed while the container was frozen, so
   * another container may be killing its thread (it is destroyed unused).
   */
  close: { threadId: number; reason: 'utilization' | 'hand-over' | 'lapsed-lease' | 'quit' | 'lost' | 'timeout' };
  /** The fleet budget granted a slot, after `waitedMs` in its queue; `claimed` when it was a lapsed lease (its zombie is killed next). */
  budgetGrant: { budget: string; waitedMs: number; claimed: boolean; scout: boolean };
  /** No slot of the fleet budget came before the operation's end: the operation fails with a `ConnectionLimitError`. */
  budgetTimeout: { budget: string; waitedMs: number; queued: number };
  /** `end()` handed this container's slot to the `waiting` containers in the budget's queue. */
  handOver: { budget: string; threadId: number; waiting: number };
  /**
   * This container's lease lapsed while it was frozen (its last renewal was `idleMs` ago): its
   * connection is closed unused, and a new slot taken before the next statement.
   */
  leaseLapsed: { budget: string; threadId: number; idleMs: number };
  /** The budget's store could not be reached (`code`): the connector falls back to the processlist checks. */
  budgetFallback: { budget: string; code: string | undefined };
  /** The budget's store answered again after `fallbackMs` in the processlist mode. */
  budgetRestored: { budget: string; fallbackMs: number };
  /**
   * A typed error: one raised to a caller (each once, and counted in `stats().errors`), or a failure
   * `end()` swallowed so that the invocation that already succeeded does not fail (not counted).
   */
  error: { error: CachefrontMysqlError };
}

export type ConnectorEventName = keyof ConnectorEvents;

/** The `node:diagnostics_channel` names, one per event: `cachefront:mysql:connect`, ... */
export const CHANNEL_PREFIX = 'cachefront:mysql:';
