import type { DeadlineSource } from './ports.js';

/** The part of a data layer the wrapper drives. */
export interface InvocationScope {
  useContext(context: DeadlineSource): void;
  /** Awaits what the invocation tracked, then the database's per-invocation housekeeping. */
  endInvocation(): Promise<void>;
}

export type Handler<E, C, R> = (event: E, context: C) => Promise<R>;

/**
 * Wraps a Lambda handler: deadlines from `context.getRemainingTimeInMillis()`, then, whatever the
 * handler did, every promise tracked in the invocation is awaited and the connector's `end()` runs
 * (utilization check, reaping) before the handler returns — Lambda freezes the process right after,
 * so nothing may be left running.
 */
export function withDataLayer<E, C extends DeadlineSource, R>(layer: InvocationScope, handler: Handler<E, C, R>): Handler<E, C, R> {
  return async (event, context) => {
    layer.useContext(context);
    try {
      return await handler(event, context);
    } finally {
      await layer.endInvocation();
    }
  };
}
