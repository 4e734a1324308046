/**
 * The doctor's judgement: pure functions of the facts. A recommendation is something to change,
 * with the numbers behind it and the exact statement or setting; a finding is worth knowing but
 * asks for nothing. The thresholds are the well-known advice for serverless fleets on MySQL: idle
 * connections time out in minutes, not 8 hours; every application account has its own connection
 * cap; the fleet's concurrency stays under 80% of the limit; sleeping connections of dropped
 * containers are reaped; Redis never evicts keys that have a TTL in favour of keys that do not.
 */
import type { Facts, MysqlFacts, RedisFacts } from './facts.js';

export type Severity = 'high' | 'medium' | 'low';

export interface Recommendation {
  readonly id: string;
  readonly severity: Severity;
  readonly message: string;
  readonly evidence: Readonly<Record<string, number | string>>;
  readonly fix: string;
}

export interface Finding {
  readonly id: string;
  readonly message: string;
  readonly evidence: Readonly<Record<string, number | string>>;
}

/** Idle connections should time out within this many seconds (10 minutes suits serverless). */
export const WAIT_TIMEOUT_S = 600;
/** The share of the connection limit a fleet should stay under. */
export const FLEET_SHARE = 0.8;

export interface Judgement {
  readonly findings: readonly Finding[];
  readonly recommendations: readonly Recommendation[];
}

export function judge(facts: Facts): Judgement {
  const findings: Finding[] = [];
  const recommendations: Recommendation[] = [];
  if (facts.mysql) judgeMysql(facts.mysql, findings, recommendations);
  if (facts.redis) judgeRedis(facts.redis, findings, recommendations);
  const order: Record<Severity, number> = { high: 0, medium: 1, low: 2 };
  recommendations.sort((a, b) => order[a.severity] - order[b.severity]);
  return { findings, recommendations };
}

/** LEAST(max_connections, the account's cap) — what this account can open. */
export function accountLimit(mysql: MysqlFacts): number {
  return mysql.accountMaxUserConnections > 0 ? Math.min(mysql.maxConnections, mysql.accountMaxUserConnections) : mysql.maxConnections;
}

const hours = (seconds: number) => (seconds >= 3600 ? `${Math.round(seconds / 360) / 10} h` : `${Math.round(seconds / 60)} min`);
const quoted = (account: string) => {
  const at = account.lastIndexOf('@');
  return `'${account.slice(0, at)}'@'${account.slice(at + 1)}'`;
};

function judgeMysql(mysql: MysqlFacts, findings: Finding[], out: Recommendation[]): void {
  for (const [name, values] of [
    ['wait_timeout', mysql.waitTimeoutS],
    ['interactive_timeout', mysql.interactiveTimeoutS],
  ] as const) {
    if (values.global <= WAIT_TIMEOUT_S) continue;
    out.push({
      id: name === 'wait_timeout' ? 'wait-timeout' : 'interactive-timeout',
      severity: 'medium',
      message: `${name} is ${values.global} s: a connection of a dropped Lambda container stays open as a zombie for ${hours(values.global)}; ${WAIT_TIMEOUT_S} s fits a serverless fleet`,
      evidence: { [`global ${name}`]: values.global, [`session ${name}`]: values.session },
      fix: `SET GLOBAL ${name} = ${WAIT_TIMEOUT_S}; (on RDS or Aurora: set ${name} in the DB parameter group)`,
    });
  }
  const fleetCap = Math.floor(mysql.maxConnections * FLEET_SHARE);
  if (mysql.accountMaxUserConnections === 0) {
    out.push({
      id: 'max-user-connections',
      severity: 'medium',
      message: `the account ${mysql.account} has no MAX_USER_CONNECTIONS: one runaway fleet can take all ${mysql.maxConnections} connections, the admin's too`,
      evidence: { max_connections: mysql.maxConnections, 'global max_user_connections': mysql.globalMaxUserConnections },
      fix: `ALTER USER ${quoted(mysql.account)} WITH MAX_USER_CONNECTIONS ${fleetCap};`,
    });
  }
  const limit = accountLimit(mysql);
  const share = FLEET_SHARE * limit;
  if (mysql.status.connectionErrorsMaxConnections > 0 || mysql.status.maxUsedConnections >= share) {
    const reserve = Math.max(1, Math.floor(share));
    out.push({
      id: 'reserved-concurrency',
      severity: mysql.status.connectionErrorsMaxConnections > 0 ? 'high' : 'medium',
      message: `the server has reached ${mysql.status.maxUsedConnections} of ${mysql.maxConnections} connections (${mysql.status.connectionErrorsMaxConnections} refused for the limit): reserve concurrency ≤ ${reserve} so that ${reserve} containers × 1 connection stays under ${Math.round(FLEET_SHARE * 100)}% of the limit (${limit})`,
      evidence: {
        Max_used_connections: mysql.status.maxUsedConnections,
        Connection_errors_max_connections: mysql.status.connectionErrorsMaxConnections,
        limit,
      },
      fix: `aws lambda put-function-concurrency --function-name <function> --reserved-concurrent-executions ${reserve}`,
    });
  }
  if (mysql.zombies.length > 0) {
    const oldest = mysql.zombies[0]?.idleS ?? 0;
    out.push({
      id: 'zombies',
      severity: mysql.zombies.length >= limit * 0.1 ? 'high' : 'low',
      message: `${mysql.zombies.length} sleeping connections of user ${mysql.user} idle > ${mysql.zombieThresholdS} s (the oldest ${oldest} s): run cachefront reap`,
      evidence: { sleeping: mysql.zombies.length, 'oldest idle s': oldest, 'threshold s': mysql.zombieThresholdS },
      fix: `cachefront reap --older-than ${mysql.zombieThresholdS}s --yes${mysql.hasRdsKill && !mysql.canKillOthers ? ' --rds-kill' : ''}`,
    });
  }
  if (!mysql.seesAllThreads) {
    findings.push({
      id: 'own-threads-only',
      message: `the account has no PROCESS privilege: the thread counts are its own (${mysql.user}), not the server's`,
      evidence: { user: mysql.user },
    });
  }
  findings.push({
    id: 'kill-method',
    message: mysql.canKillOthers
      ? 'the account may KILL any thread (CONNECTION ADMIN or SUPER); reap kills only its own user’s'
      : mysql.hasRdsKill
        ? 'the account may KILL only its own threads; mysql.rds_kill exists (RDS): reap --rds-kill'
        : 'the account may KILL only its own threads, which is all reap kills',
    evidence: { 'may kill others': mysql.canKillOthers ? 'yes' : 'no', 'mysql.rds_kill': mysql.hasRdsKill ? 'yes' : 'no' },
  });
}

function judgeRedis(redis: RedisFacts, findings: Finding[], out: Recommendation[]): void {
  if (redis.maxmemoryPolicy.startsWith('allkeys-')) {
    out.push({
      id: 'maxmemory-policy',
      severity: 'medium',
      message: `maxmemory-policy ${redis.maxmemoryPolicy} can evict leases and tag keys, and with a tag key a whole generation of entries; volatile-lru keeps keys without a TTL and evicts cache entries first (every cachefront key has a TTL)`,
      evidence: { 'maxmemory-policy': redis.maxmemoryPolicy, maxmemory: redis.maxmemory },
      fix: 'CONFIG SET maxmemory-policy volatile-lru (ElastiCache: the parameter group’s maxmemory-policy)',
    });
  }
  if (redis.evictedKeys > 0) {
    out.push({
      id: 'evictions',
      severity: 'low',
      message: `${redis.evictedKeys} keys were evicted since the server started: the cache is too small for its TTLs`,
      evidence: { evicted_keys: redis.evictedKeys, used_memory: redis.usedMemory, maxmemory: redis.maxmemory },
      fix: 'raise maxmemory (a larger node type on ElastiCache), or shorten the entities’ ttlMs and graceMs',
    });
  }
  if (redis.maxclients !== undefined && redis.connectedClients >= redis.maxclients * FLEET_SHARE) {
    out.push({
      id: 'maxclients',
      severity: 'high',
      message: `${redis.connectedClients} of ${redis.maxclients} Redis clients are connected: the next containers will be refused`,
      evidence: { connected_clients: redis.connectedClients, maxclients: redis.maxclients },
      fix: 'CONFIG SET maxclients <higher> (ElastiCache: a larger node), or cap the fleet’s concurrency',
    });
  }
  for (const ns of redis.namespaces) {
    if (ns.withoutTtl === 0) continue;
    out.push({
      id: 'keys-without-ttl',
      severity: 'low',
      message: `${ns.withoutTtl} of ${ns.keys} keys of namespace ${ns.namespace} have no TTL; cachefront gives every key one, so another writer uses the namespace`,
      evidence: { namespace: ns.namespace, 'keys without a TTL': ns.withoutTtl, keys: ns.keys },
      fix: `find them with redis-cli --scan --pattern '${ns.namespace}:*' and PTTL; give the namespace to cachefront alone`,
    });
  }
  for (const budget of redis.budgetStates) {
    if (budget.waiting > 0) {
      out.push({
        id: 'budget-waiting',
        severity: 'medium',
        message: `${budget.waiting} containers wait for a seat of fleet budget ${budget.name} (${budget.taken} taken, ${budget.lapsed} of them lapsed): the fleet wants more connections than the budget admits`,
        evidence: { budget: budget.name, waiting: budget.waiting, taken: budget.taken, lapsed: budget.lapsed, limit: budget.limit ?? '?' },
        fix: 'cap the functions’ reserved concurrency at the budget’s capacity, or raise the account’s MAX_USER_CONNECTIONS (the budget follows the limit)',
      });
    }
    if (budget.lapsed > 0) {
      findings.push({
        id: 'budget-lapsed',
        message: `fleet budget ${budget.name}: ${budget.lapsed} of ${budget.taken} seats are lapsed leases (dropped or frozen containers); the next waiter claims them after claimIdleMs`,
        evidence: { budget: budget.name, lapsed: budget.lapsed, taken: budget.taken },
      });
    }
  }
  if (redis.namespaces.length === 0) {
    findings.push({ id: 'no-namespace', message: `no cachefront namespace among the ${redis.scanned} keys scanned`, evidence: { scanned: redis.scanned } });
  }
  if (!redis.complete) {
    findings.push({
      id: 'scan-bounded',
      message: `the scan stopped after ${redis.scanned} keys (--scan-keys): the namespace counts are of those`,
      evidence: { scanned: redis.scanned },
    });
  }
}
