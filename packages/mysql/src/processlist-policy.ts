import { excessConnections, utilization, zombieThresholdMs } from './budget.js';
import type { Context } from './context.js';
import type { DriverConnection } from './driver/driver.js';
import type { EndOutcome, EndPolicy } from './housekeeping.js';
import type { Reaper } from './reaper.js';

/**
 * The built-in end policy: one processlist read (the limit and the own user's threads, at most every
 * `usageCheckIntervalMs`); above `connUtilization`, kill only as many of the user's zombies as it
 * takes, oldest first, and give this container's connection back when that is not enough; at any
 * utilization, kill connections idle longer than `zombieMaxTimeoutMs`.
 */
export class ProcesslistPolicy implements EndPolicy {
  #lastCheck = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ctx: Context,
    private readonly reaper: Reaper,
  ) {}

  due(pressure: boolean): boolean {
    const { opts } = this.ctx;
    return pressure || opts.now() - this.#lastCheck >= opts.usageCheckIntervalMs;
  }

  async check(connection: DriverConnection, pressure: boolean): Promise<EndOutcome> {
    const { opts, events } = this.ctx;
    const snapshot = await this.reaper.usage(connection);
    this.#lastCheck = opts.now();
    const usage = pressure ? Math.max(1, utilization(snapshot)) : utilization(snapshot);
    const used = pressure ? Math.max(snapshot.used, snapshot.limit) : snapshot.used;
    const over = usage > opts.connUtilization;
    const thresholdMs = over ? zombieThresholdMs(usage, opts) : opts.zombieMaxTimeoutMs;
    events.emit('usage', { limit: snapshot.limit, used: snapshot.used, utilization: usage, thresholdMs, pressure });
    // Above the threshold, kill only as many as it takes (oldest first): every kill of a
    // connection that is merely warm costs its container a reconnect, and races its next statement.
    const needed = over ? Math.max(1, excessConnections({ limit: snapshot.limit, used }, opts.connUtilization)) : undefined;
    const killed = await this.reaper.kill(connection, snapshot, thresholdMs, needed);
    const close = excessConnections({ limit: snapshot.limit, used: used - killed.length }, opts.connUtilization) > 0;
    return { limit: snapshot.limit, used: snapshot.used, killed, close };
  }
}
