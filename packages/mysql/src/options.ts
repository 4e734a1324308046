import { definedOnly, sleep } from '@cachefront/common';
import type { BackoffStrategy, RandomSource } from './backoff.js';
import type { ConnectionConfig, Driver } from './driver/driver.js';
import { mysql2Driver } from './driver/mysql2/mysql2-driver.js';
import { OptionsError } from './errors.js';
import type { ConnectionBudget } from './fleet/port.js';

/** How connection details are given: as they are, or resolved on every physical connect (secrets, IAM tokens). */
export type ConnectionSource = ConnectionInput | (() => ConnectionInput | Promise<ConnectionInput>);

/** `ConnectionConfig` with host and port optional (127.0.0.1:3306). */
export type ConnectionInput = Omit<ConnectionConfig, 'host' | 'port'> & {
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 3306 */
  port?: number;
};

export interface ConnectorOptions {
  /** Where and as whom to connect. A function is called again before every physical connect. Required: it has no default. */
  connection: ConnectionSource;
  /**
   * Physical connections this connector may hold at once. 1 suits a Lambda container (it handles
   * one request at a time); a long-running server may raise it to a small pool.
   * @default 1
   */
  maxConnections?: number;
  /**
   * The fleet-wide connection budget: slots as leases in a store every container reaches
   * (`createRedisBudget` of `@cachefront/cache`). With it a container takes a slot before it
   * connects, waits in a FIFO queue when none is free, kills exactly the thread of a lapsed lease
   * it claims, and `end()` sends nothing to the database: it hands the slot over when others wait
   * and keeps the connection otherwise. When the store cannot be reached the connector falls back
   * to the processlist checks below, never to no limit.
   * @default undefined (the processlist checks of `manageConns`)
   */
  budget?: ConnectionBudget | undefined;
  /**
   * Check utilization in `end()`, reap zombies above `connUtilization`, and close this container's
   * connection when that is the only way under the threshold.
   * @default true
   */
  manageConns?: boolean;
  /**
   * Behind RDS Proxy the processlist shows the proxy's pooled connections, not the clients':
   * utilization checks and reaping are switched off, and `end()` keeps the connection.
   * @default false
   */
  rdsProxy?: boolean;
  /**
   * Share of `LEAST(@@max_connections, @@max_user_connections)` the application's user may hold
   * before `end()` reaps and closes.
   * @default 0.8
   */
  connUtilization?: number;
  /**
   * Youngest idle age a connection must reach before it can be reaped, at full utilization. The
   * killed container reconnects transparently (writes are probed first, see `probeIdleMs`), but a
   * kill can still race the statement its container sends at that very moment; lower it to free
   * slots sooner in bursts (the burst benchmark measured 1000 within noise of 3000, with 4x the kills).
   * @default 3000
   */
  zombieMinTimeoutMs?: number;
  /** Idle age after which a connection of this user is reaped whatever the utilization. @default 900000 */
  zombieMaxTimeoutMs?: number;
  /**
   * How often `end()` reads the processlist. 0 reads it on every `end()` (one query, own user's
   * rows only, with the limit in the same round trip).
   * @default 0
   */
  usageCheckIntervalMs?: number;
  /** How zombies are killed: `KILL id`, or `CALL mysql.rds_kill(id)` on RDS. @default 'kill' */
  killMethod?: 'kill' | 'rds_kill';
  /** Retry schedule for connection limits (1040 / 1203 / 1226 / 1041), connect timeouts and refused connections. @default 'decorrelated' */
  backoff?: BackoffStrategy;
  /** Smallest retry delay. @default 5 */
  backoffBaseMs?: number;
  /** Largest retry delay. @default 200 */
  backoffCapMs?: number;
  /** Connect retries per operation (the counter starts at 0 for every operation). @default 50 */
  maxRetries?: number;
  /**
   * Timeout of one connect attempt (TCP, TLS and authentication) when no invocation deadline is
   * set, and of the ping that probes an idle connection before a write. With a deadline
   * (`setDeadline()` / `useContext()`) a connect attempt may take all the time the invocation has
   * left: a paused Aurora Serverless v2 cluster takes 15–30 s to accept its first connect.
   * Statements have their own bounds (`queryTimeoutMs`, `adminTimeoutMs`).
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * Timeout of each statement the connector sends for itself: `end()`'s and `reap()`'s processlist
   * read, the kill-time re-check and the KILL (within the invocation deadline, like any statement),
   * a ROLLBACK, and the `SET SESSION wait_timeout` of `sessionIdleTimeoutMs` on a new session. A
   * connection whose statement overstays is destroyed.
   * @default 5000
   */
  adminTimeoutMs?: number;
  /**
   * Longest an operation may wait for a connection (retries included) when no invocation deadline
   * is set with `setDeadline()` / `useContext()`.
   * @default 20000
   */
  acquireTimeoutMs?: number;
  /** Timeout of one statement, when the call gives none. Undefined: only the deadline limits it. @default undefined */
  queryTimeoutMs?: number | undefined;
  /** Time kept back from a Lambda deadline, so the handler can still answer. @default 250 */
  deadlineMarginMs?: number;
  /**
   * A connection idle this long is pinged before a statement that must not run twice (a write, or
   * a transaction's BEGIN), since a frozen container cannot know its socket was closed meanwhile.
   * Reads skip the ping and are retried once instead. Never more than half of `zombieMinTimeoutMs`
   * is used, so a connection old enough to have been reaped is always probed before a write.
   * @default 1000
   */
  probeIdleMs?: number;
  /**
   * When set, every new session gets `SET SESSION wait_timeout` to this (rounded up to seconds), so
   * the server itself closes a zombie left by a dropped container — the safety net for a fleet so
   * full of zombies that no container can connect to reap them. Costs one statement per connect.
   * @default undefined (the server's wait_timeout)
   */
  sessionIdleTimeoutMs?: number | undefined;
  /**
   * Adds the server's own message text, unredacted, to errors as `serverMessage`. The server echoes
   * values in it (duplicate keys, bad values, a trigger's SIGNAL text, syntax errors near a
   * parameter), so this puts query parameters into errors, logs and `error` events: for local
   * debugging only. Messages themselves are always built from errno, code and SQLSTATE.
   * @default false
   */
  exposeServerMessages?: boolean;
  /** The client library, behind the `Driver` seam. @default mysql2Driver */
  driver?: Driver;
  /** Clock, injectable for tests. @default Date.now */
  now?: () => number;
  /** Random source for jitter, injectable for tests. @default Math.random */
  random?: RandomSource;
  /** Timer of the backoff between connect attempts, injectable for tests. @default sleep of @cachefront/common (setTimeout) */
  sleep?: (ms: number) => Promise<void>;
}

export type ResolvedOptions = Required<Omit<ConnectorOptions, 'queryTimeoutMs' | 'sessionIdleTimeoutMs' | 'budget'>> & {
  queryTimeoutMs: number | undefined;
  sessionIdleTimeoutMs: number | undefined;
  budget: ConnectionBudget | undefined;
};

export const DEFAULT_OPTIONS = Object.freeze({
  maxConnections: 1,
  manageConns: true,
  rdsProxy: false,
  connUtilization: 0.8,
  zombieMinTimeoutMs: 3000,
  zombieMaxTimeoutMs: 900_000,
  usageCheckIntervalMs: 0,
  killMethod: 'kill',
  backoff: 'decorrelated',
  backoffBaseMs: 5,
  backoffCapMs: 200,
  maxRetries: 50,
  connectTimeoutMs: 5000,
  adminTimeoutMs: 5000,
  acquireTimeoutMs: 20_000,
  queryTimeoutMs: undefined,
  sessionIdleTimeoutMs: undefined,
  deadlineMarginMs: 250,
  probeIdleMs: 1000,
  exposeServerMessages: false,
} as const);

function positive(name: string, value: number, { integer = false, zero = false } = {}): number {
  const ok = Number.isFinite(value) && (zero ? value >= 0 : value > 0) && (!integer || Number.isInteger(value));
  if (!ok) throw new OptionsError(`\`${name}\` must be a ${integer ? 'whole ' : ''}number ${zero ? '≥ 0' : '> 0'}; got ${String(value)}.`);
  return value;
}

/** Fills every default and checks every value; the result has no optional field left. */
export function resolveOptions(options: ConnectorOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new OptionsError('Connector options must be an object.');
  if (options.connection === undefined) throw new OptionsError('`connection` is required (host, user, password, database).');
  const merged = { ...DEFAULT_OPTIONS, ...definedOnly(options) };
  positive('maxConnections', merged.maxConnections, { integer: true });
  if (!(merged.connUtilization > 0 && merged.connUtilization <= 1)) {
    throw new OptionsError(`\`connUtilization\` must be in (0, 1]; got ${String(merged.connUtilization)}.`);
  }
  positive('zombieMinTimeoutMs', merged.zombieMinTimeoutMs, { zero: true });
  positive('zombieMaxTimeoutMs', merged.zombieMaxTimeoutMs);
  if (merged.zombieMinTimeoutMs > merged.zombieMaxTimeoutMs) {
    throw new OptionsError('`zombieMinTimeoutMs` must not exceed `zombieMaxTimeoutMs`.');
  }
  positive('usageCheckIntervalMs', merged.usageCheckIntervalMs, { zero: true });
  positive('backoffBaseMs', merged.backoffBaseMs);
  positive('backoffCapMs', merged.backoffCapMs);
  if (merged.backoffBaseMs > merged.backoffCapMs) throw new OptionsError('`backoffBaseMs` must not exceed `backoffCapMs`.');
  positive('maxRetries', merged.maxRetries, { integer: true, zero: true });
  positive('connectTimeoutMs', merged.connectTimeoutMs);
  positive('adminTimeoutMs', merged.adminTimeoutMs);
  positive('acquireTimeoutMs', merged.acquireTimeoutMs);
  if (merged.queryTimeoutMs !== undefined) positive('queryTimeoutMs', merged.queryTimeoutMs);
  if (merged.sessionIdleTimeoutMs !== undefined) positive('sessionIdleTimeoutMs', merged.sessionIdleTimeoutMs);
  positive('deadlineMarginMs', merged.deadlineMarginMs, { zero: true });
  positive('probeIdleMs', merged.probeIdleMs, { zero: true });
  if (merged.killMethod !== 'kill' && merged.killMethod !== 'rds_kill') {
    throw new OptionsError("`killMethod` must be 'kill' or 'rds_kill'.");
  }
  if (merged.backoff !== 'full' && merged.backoff !== 'decorrelated') {
    throw new OptionsError("`backoff` must be 'full' or 'decorrelated'.");
  }
  const budget = options.budget;
  if (budget !== undefined) checkBudget(budget);
  return {
    ...merged,
    budget,
    connection: options.connection,
    driver: options.driver ?? mysql2Driver,
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? sleep,
  };
}

const BUDGET_METHODS = ['acquire', 'bind', 'renew', 'handOver', 'release', 'publishLimit', 'close'] as const;

function checkBudget(budget: ConnectionBudget): void {
  const shaped =
    typeof budget === 'object' && budget !== null && BUDGET_METHODS.every((method) => typeof budget[method] === 'function') && typeof budget.name === 'string';
  if (!shaped) throw new OptionsError('`budget` must be a ConnectionBudget (createRedisBudget() of @cachefront/cache).');
  positive('budget.leaseTtlMs', budget.leaseTtlMs);
}

/**
 * Character sets in which the bytes of a quote and a backslash never occur inside another
 * character. Multi-byte sets like GBK, Big5 or SJIS can hide 0x5C in a character's second byte, the
 * classic way past client-side escaping: they are refused.
 */
const SAFE_CHARSET = /^(UTF8MB4|UTF8MB3|UTF8|LATIN1|ASCII)(_[A-Z0-9_]+)?$/i;
const TIMEZONE = /^(Z|local|[+-]\d\d:?\d\d)$/;

/** Resolves the connection source and fills host and port. Called before every physical connect. */
export async function resolveConnection(source: ConnectionSource): Promise<ConnectionConfig> {
  const input = typeof source === 'function' ? await source() : source;
  if (typeof input !== 'object' || input === null) throw new OptionsError('`connection` must be an object or a function returning one.');
  if (typeof input.user !== 'string' || input.user.length === 0) throw new OptionsError('`connection.user` is required.');
  if (input.timezone !== undefined && (typeof input.timezone !== 'string' || !TIMEZONE.test(input.timezone))) {
    throw new OptionsError("`connection.timezone` must be 'Z', 'local' or an offset like '+02:00'.");
  }
  const charset = input.driverOptions?.['charset'];
  if (charset !== undefined && (typeof charset !== 'string' || !SAFE_CHARSET.test(charset))) {
    throw new OptionsError(
      '`connection.driverOptions.charset` must be a utf8mb4, utf8, latin1 or ascii character set (multi-byte sets such as GBK make escaping unsafe).',
    );
  }
  return { ...input, host: input.host ?? '127.0.0.1', port: input.port ?? 3306 };
}
