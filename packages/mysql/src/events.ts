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
  reconnect: { reason: 'stale-socket' | 'probe-failed'; idleMs: number };
  query: { verb: string; durationMs: number; retried: boolean; ok: boolean };
  /** What end() saw; `pressure` when this invocation had to wait for a slot, so the server counts as full. */
  usage: { limit: number; used: number; utilization: number; thresholdMs: number | undefined; pressure: boolean };
  kill: { threadId: number; idleMs: number };
  killError: { threadId: number; code: string | undefined; errno: number | undefined };
  close: { threadId: number; reason: 'utilization' | 'quit' | 'lost' | 'timeout' };
  /**
   * A typed error: one raised to a caller (each once, and counted in `stats().errors`), or a failure
   * `end()` swallowed so that the invocation that already succeeded does not fail (not counted).
   */
  error: { error: CachefrontMysqlError };
}

export type ConnectorEventName = keyof ConnectorEvents;

/** The `node:diagnostics_channel` names, one per event: `cachefront:mysql:connect`, ... */
export const CHANNEL_PREFIX = 'cachefront:mysql:';
