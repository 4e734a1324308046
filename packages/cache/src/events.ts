import diagnostics from 'node:diagnostics_channel';
import type { StoreProblemKind } from './drivers/driver.js';

/**
 * Why a read went to the loader without the cache: the call failed (`error`), timed out with no
 * cause known (`timeout`), or the circuit breaker skipped Redis (`circuit-open`).
 */
export type BypassReason = 'error' | 'timeout' | 'circuit-open';

/** What the cache reports. Payloads name the entity and the outcome — never parameters or values. */
export interface CacheEvents {
  hit: { entity: string };
  stale: { entity: string; reason: 'lease-wait' | 'loader-error' | 'bypass' };
  miss: { entity: string };
  fill: { entity: string; bytes: number };
  /**
   * A loaded value was served but not stored: its tags changed while it loaded (`stale-fill`), a
   * value tag was invalidated during the load (`raced-value-tag`) or, on a cluster, had no token yet
   * (`new-value-tag`: nothing tells whether it was invalidated and lost meanwhile; the next load fills),
   * or it cannot be cached.
   */
  'fill-rejected': { entity: string; reason: 'stale-fill' | 'raced-value-tag' | 'new-value-tag' | 'invalid-tag' | 'uncacheable' };
  'lease-wait': { entity: string; waitedMs: number; outcome: 'value' | 'timeout' };
  timeout: { operation: string; timeoutMs: number };
  /** A call failed; `kind` and `code` say why when the driver knows (`tls`, `SELF_SIGNED_CERT_IN_CHAIN`). */
  error: { operation: string; code: string | undefined; kind: StoreProblemKind | undefined };
  /** The client failed to connect (TLS refused, login refused, socket refused), between calls: once per attempt. */
  'connection-error': { kind: Exclude<StoreProblemKind, 'server'>; code: string | undefined };
  /** The connection to Redis came back after it was lost: an invalidation sent meanwhile may not have arrived. */
  reconnect: Record<string, never>;
  'circuit-open': { failures: number; openMs: number };
  'circuit-close': Record<string, never>;
  /** A read went to the loader; `kind` and `code` say what was wrong with Redis, when known. */
  bypass: { entity: string; operation: string; reason: BypassReason; kind: StoreProblemKind | undefined; code: string | undefined };
  'decode-error': { entity: string };
  mismatch: { entity: string };
  oversize: { entity: string; bytes: number; maxValueBytes: number };
  invalidate: { tags: number };
}

export type CacheEventName = keyof CacheEvents;

export const CACHE_CHANNEL_PREFIX = 'cachefront:cache:';

type Listener<E extends CacheEventName> = (payload: CacheEvents[E]) => void;

/** Typed listeners plus one `node:diagnostics_channel` per event (`cachefront:cache:hit`, ...). */
export class CacheEmitter {
  readonly #listeners = new Map<CacheEventName, Array<(payload: never) => void>>();
  readonly #channels = new Map<CacheEventName, diagnostics.Channel>();

  on<E extends CacheEventName>(event: E, listener: Listener<E>): () => void {
    let list = this.#listeners.get(event);
    if (list === undefined) {
      list = [];
      this.#listeners.set(event, list);
    }
    list.push(listener as (payload: never) => void);
    return () => {
      const index = list.indexOf(listener as (payload: never) => void);
      if (index >= 0) list.splice(index, 1);
    };
  }

  /** Whether anyone listens, so a hot path can skip building a payload nobody reads. */
  wants(event: CacheEventName): boolean {
    return (this.#listeners.get(event)?.length ?? 0) > 0 || this.#channel(event).hasSubscribers;
  }

  #channel(event: CacheEventName): diagnostics.Channel {
    let channel = this.#channels.get(event);
    if (channel === undefined) {
      channel = diagnostics.channel(CACHE_CHANNEL_PREFIX + event);
      this.#channels.set(event, channel);
    }
    return channel;
  }

  emit<E extends CacheEventName>(event: E, payload: CacheEvents[E]): void {
    const list = this.#listeners.get(event) as Array<Listener<E>> | undefined;
    if (list) for (const listener of list) safely(listener, payload);
    const channel = this.#channel(event);
    if (channel.hasSubscribers) channel.publish(payload);
  }
}

function safely<T>(listener: (payload: T) => void, payload: T): void {
  try {
    listener(payload);
  } catch {
    // A listener's bug never breaks a read.
  }
}
