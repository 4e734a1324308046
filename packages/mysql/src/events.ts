import diagnostics from 'node:diagnostics_channel';
import type { CachefrontMysqlError } from './errors.js';

/**
 * Everything the connector reports. Payloads carry thread ids, timings and error codes — never a
 * statement's parameters, a password or a server message.
 */
export interface ConnectorEvents {
  connect: { threadId: number; attempts: number; durationMs: number };
  retry: { attempt: number; delayMs: number; code: string | undefined; errno: number | undefined };
  reconnect: { reason: 'stale-socket' | 'probe-failed'; idleMs: number };
  query: { verb: string; durationMs: number; retried: boolean; ok: boolean };
  /** What end() saw; `pressure` when this invocation had to wait for a slot, so the server counts as full. */
  usage: { limit: number; used: number; utilization: number; thresholdMs: number | undefined; pressure: boolean };
  kill: { threadId: number; idleMs: number };
  killError: { threadId: number; code: string | undefined; errno: number | undefined };
  close: { threadId: number; reason: 'utilization' | 'quit' | 'lost' | 'timeout' };
  error: { error: CachefrontMysqlError };
}

export type ConnectorEventName = keyof ConnectorEvents;
export type Listener<E extends ConnectorEventName> = (payload: ConnectorEvents[E]) => void;

/** The `node:diagnostics_channel` names, one per event: `cachefront:mysql:connect`, ... */
export const CHANNEL_PREFIX = 'cachefront:mysql:';

/** A small typed emitter; a throwing listener never breaks the connector. */
export class ConnectorEmitter {
  readonly #listeners = new Map<ConnectorEventName, Set<(payload: never) => void>>();
  readonly #channels = new Map<ConnectorEventName, diagnostics.Channel>();

  on<E extends ConnectorEventName>(event: E, listener: Listener<E>): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (payload: never) => void);
    return () => this.off(event, listener);
  }

  off<E extends ConnectorEventName>(event: E, listener: Listener<E>): void {
    this.#listeners.get(event)?.delete(listener as (payload: never) => void);
  }

  emit<E extends ConnectorEventName>(event: E, payload: ConnectorEvents[E]): void {
    const set = this.#listeners.get(event);
    if (set) {
      for (const listener of set) {
        try {
          (listener as Listener<E>)(payload);
        } catch {
          // A listener's failure is the listener's problem, not the statement's.
        }
      }
    }
    let channel = this.#channels.get(event);
    if (!channel) {
      channel = diagnostics.channel(CHANNEL_PREFIX + event);
      this.#channels.set(event, channel);
    }
    if (channel.hasSubscribers) channel.publish(payload);
  }
}
