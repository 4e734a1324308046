/**
 * The connection budget, as pure functions: what the limit is, how full the server is, which idle
 * connections may be reaped. No I/O here; `reaper.ts` runs the statements.
 */

/** One row of the processlist, for the application's own user. */
export interface ProcessRow {
  readonly id: number;
  /** `Sleep` for an idle connection. */
  readonly command: string;
  /** How long the thread has been in its current state, in milliseconds. */
  readonly idleMs: number;
}

export interface UsageSnapshot {
  /** LEAST(@@max_connections, the account's or the global max_user_connections when set). */
  readonly limit: number;
  /** Connections of the application's own user (other users' threads are not counted). */
  readonly used: number;
  readonly threads: readonly ProcessRow[];
}

export interface BudgetPolicy {
  readonly connUtilization: number;
  readonly zombieMinTimeoutMs: number;
  readonly zombieMaxTimeoutMs: number;
}

/** `@@max_user_connections` is 0 when unlimited; the session value carries the account's own limit. */
export function connectionLimit(maxConnections: number, maxUserConnections: number): number {
  return maxUserConnections > 0 ? Math.min(maxConnections, maxUserConnections) : maxConnections;
}

export function utilization(snapshot: Pick<UsageSnapshot, 'limit' | 'used'>): number {
  return snapshot.limit > 0 ? snapshot.used / snapshot.limit : 1;
}

/**
 * The idle age above which a connection counts as a zombie. At or below the utilization threshold
 * it is `zombieMaxTimeoutMs`; above, it falls geometrically to `zombieMinTimeoutMs` at full
 * utilization, so a nearly full server reclaims idle connections within seconds and a quiet one
 * leaves warm containers alone.
 */
export function zombieThresholdMs(usage: number, policy: BudgetPolicy): number {
  const { connUtilization, zombieMinTimeoutMs: min, zombieMaxTimeoutMs: max } = policy;
  if (usage <= connUtilization || connUtilization >= 1) return usage >= 1 ? min : max;
  const pressure = Math.min(1, (usage - connUtilization) / (1 - connUtilization));
  if (min === 0) return Math.round(max * (1 - pressure));
  return Math.round(min * (max / min) ** (1 - pressure));
}

/** Sleeping connections of the user, idle at least `thresholdMs`, never one of our own; oldest first. */
export function zombieCandidates(threads: readonly ProcessRow[], ownThreadIds: ReadonlySet<number>, thresholdMs: number): ProcessRow[] {
  return threads.filter((row) => row.command === 'Sleep' && row.idleMs >= thresholdMs && !ownThreadIds.has(row.id)).sort((a, b) => b.idleMs - a.idleMs);
}

/** How many connections must go to bring utilization back to the threshold. */
export function excessConnections(snapshot: Pick<UsageSnapshot, 'limit' | 'used'>, connUtilization: number): number {
  return Math.max(0, snapshot.used - Math.floor(snapshot.limit * connUtilization));
}
