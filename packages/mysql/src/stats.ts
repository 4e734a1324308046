/** Counters since the connector was created. */
export interface ConnectorStats {
  /** Physical connections opened. */
  connects: number;
  /** Connect attempts that were retried after a limit or timeout error. */
  retries: number;
  /** Connects that failed for good. */
  connectErrors: number;
  /** Connections replaced after they were found closed (idle timeout, KILL, restart). */
  reconnects: number;
  /** Pings sent before a non-idempotent statement on an idle connection. */
  probes: number;
  /** Statements sent, retries included. */
  queries: number;
  /** Idempotent reads re-sent after a lost connection. */
  queryRetries: number;
  transactions: number;
  /** Calls to end() while the connector was in use. */
  ends: number;
  /** Processlist reads. */
  usageChecks: number;
  kills: number;
  /** Of `kills`: threads of lapsed fleet-budget leases, killed by id without a processlist scan. */
  preciseKills: number;
  killErrors: number;
  /** Slots the fleet budget granted. */
  budgetGrants: number;
  /** Of `budgetGrants`: grants that waited in the budget's queue. */
  budgetWaits: number;
  /** Milliseconds waited in the budget's queue, summed over grants. */
  budgetWaitMs: number;
  /** Of `budgetGrants`: lapsed leases claimed (their zombie then killed). */
  claims: number;
  /** Operations that failed because no slot came before their end. */
  budgetTimeouts: number;
  /** Containers waiting in the budget's queue at the last renewal (a gauge). */
  budgetQueue: number;
  /** Slots handed over at `end()` because others waited. */
  handOvers: number;
  /** Leases found lapsed after a freeze: the connection was replaced before any statement. */
  leaseLapses: number;
  /** Connects made without a lease because the budget's store could not be reached (processlist mode). */
  budgetFallbacks: number;
  /** Connections this connector closed (utilization, quit, loss). */
  closes: number;
  /** Typed errors raised to callers. */
  errors: number;
  /** Connections currently open. */
  openConnections: number;
}

/** The counters the connector's modules keep; `openConnections` is computed when asked. */
export type Counters = Omit<ConnectorStats, 'openConnections'>;

export function createStats(): Counters {
  return {
    connects: 0,
    retries: 0,
    connectErrors: 0,
    reconnects: 0,
    probes: 0,
    queries: 0,
    queryRetries: 0,
    transactions: 0,
    ends: 0,
    usageChecks: 0,
    kills: 0,
    preciseKills: 0,
    killErrors: 0,
    budgetGrants: 0,
    budgetWaits: 0,
    budgetWaitMs: 0,
    claims: 0,
    budgetTimeouts: 0,
    budgetQueue: 0,
    handOvers: 0,
    leaseLapses: 0,
    budgetFallbacks: 0,
    closes: 0,
    errors: 0,
  };
}
