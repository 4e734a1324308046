import type { StoreProblemKind } from './drivers/driver.js';

/**
 * Why a read went to the loader without the cache: the call failed (`error`), timed out with no
 * cause known (`timeout`), or the circuit breaker skipped Redis (`circuit-open`).
 */
export type BypassReason = 'error' | 'timeout' | 'circuit-open';

/** What the cache reports. Payloads name the entity and the outcome — never parameters or values. */
export interface CacheEvents {
  hit: { entity: string };
  /** A value past its freshness was served: after waiting for a holder (`staleWhileWaiting`), or for a failing loader (`failSafe`). */
  stale: { entity: string; reason: 'lease-wait' | 'loader-error' };
  miss: { entity: string };
  /**
   * Refresh-ahead reloaded a fresh entry early (`loaded`; its fill has its own `fill` or
   * `fill-rejected`), found another process reloading it (`skipped`), or its loader failed (`failed`).
   */
  refresh: { entity: string; outcome: 'loaded' | 'skipped' | 'failed' };
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

/** Each event is also published on the diagnostics channel `cachefront:cache:<event>`. */
export const CACHE_CHANNEL_PREFIX = 'cachefront:cache:';
