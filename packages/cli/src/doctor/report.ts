/**
 * The doctor's output: readable tables and a numbered list of recommendations, or (`--json`) one
 * stable object — `limits`, `usage`, `findings`, `recommendations` — for scripts and CI.
 */
import { type Style, table } from '../style.js';
import type { Facts } from './facts.js';
import { accountLimit, type Judgement } from './recommend.js';

export interface DoctorJson {
  readonly version: 1;
  readonly servers: { readonly mysql: string | null; readonly redis: string | null };
  readonly limits: Record<string, number | string | null>;
  readonly usage: Record<string, unknown>;
  readonly findings: Judgement['findings'];
  readonly recommendations: Judgement['recommendations'];
}

export function toJson(facts: Facts, judgement: Judgement): DoctorJson {
  const { mysql, redis } = facts;
  return {
    version: 1,
    servers: { mysql: mysql?.server ?? null, redis: redis?.server ?? null },
    limits: {
      max_connections: mysql?.maxConnections ?? null,
      max_user_connections: mysql?.globalMaxUserConnections ?? null,
      account_max_user_connections: mysql?.accountMaxUserConnections ?? null,
      account_limit: mysql ? accountLimit(mysql) : null,
      wait_timeout: mysql?.waitTimeoutS.global ?? null,
      session_wait_timeout: mysql?.waitTimeoutS.session ?? null,
      interactive_timeout: mysql?.interactiveTimeoutS.global ?? null,
      session_interactive_timeout: mysql?.interactiveTimeoutS.session ?? null,
      redis_maxmemory: redis?.maxmemory ?? null,
      redis_maxmemory_policy: redis?.maxmemoryPolicy ?? null,
      redis_maxclients: redis?.maxclients ?? null,
    },
    usage: {
      mysql: mysql
        ? {
            account: mysql.account,
            version: mysql.version,
            status: mysql.status,
            threads: mysql.threads,
            zombies: mysql.zombies,
            zombie_threshold_s: mysql.zombieThresholdS,
            accounts: mysql.accounts ?? null,
          }
        : null,
      redis: redis
        ? {
            version: redis.version,
            cluster: redis.cluster,
            used_memory: redis.usedMemory,
            evicted_keys: redis.evictedKeys,
            connected_clients: redis.connectedClients,
            scanned: redis.scanned,
            scan_complete: redis.complete,
            namespaces: redis.namespaces,
            budgets: redis.budgets,
            budget_states: redis.budgetStates,
          }
        : null,
    },
    findings: judgement.findings,
    recommendations: judgement.recommendations,
  };
}

export function toText(facts: Facts, judgement: Judgement, style: Style): string {
  const parts: string[] = [];
  const { mysql, redis } = facts;
  if (mysql) {
    parts.push(style.bold(`MySQL ${mysql.server} (${mysql.version}, as ${mysql.account})`));
    parts.push(
      table(
        ['setting', 'global', 'session / account'],
        [
          ['max_connections', String(mysql.maxConnections), ''],
          ['max_user_connections', String(mysql.globalMaxUserConnections), String(mysql.accountMaxUserConnections)],
          ['wait_timeout', String(mysql.waitTimeoutS.global), String(mysql.waitTimeoutS.session)],
          ['interactive_timeout', String(mysql.interactiveTimeoutS.global), String(mysql.interactiveTimeoutS.session)],
        ],
      ),
    );
    const { status } = mysql;
    parts.push(
      table(
        ['status', 'value'],
        [
          ['Threads_connected', String(status.threadsConnected)],
          ['Max_used_connections', String(status.maxUsedConnections)],
          ['Connection_errors_max_connections', String(status.connectionErrorsMaxConnections)],
          ['Aborted_clients', String(status.abortedClients)],
          ['Aborted_connects', String(status.abortedConnects)],
        ],
      ),
    );
    parts.push(
      table(
        ['user', 'command', 'threads', 'longest s'],
        mysql.threads.map((t) => [t.user, t.command, String(t.count), String(t.maxTimeS)]),
      ),
    );
  }
  if (redis) {
    parts.push(style.bold(`Redis ${redis.server} (${redis.version}${redis.cluster ? ', cluster' : ''})`));
    parts.push(
      table(
        ['setting', 'value'],
        [
          ['maxmemory', String(redis.maxmemory)],
          ['maxmemory-policy', redis.maxmemoryPolicy],
          ['used_memory', String(redis.usedMemory)],
          ['evicted_keys', String(redis.evictedKeys)],
          ['connected_clients / maxclients', `${redis.connectedClients} / ${redis.maxclients ?? '?'}`],
        ],
      ),
    );
    if (redis.namespaces.length > 0) {
      parts.push(
        table(
          ['namespace', 'keys', 'without TTL', 'bytes per key (sample)'],
          redis.namespaces.map((ns) => [ns.namespace, String(ns.keys), String(ns.withoutTtl), ns.sampleBytes === undefined ? '?' : String(ns.sampleBytes)]),
        ),
      );
    }
    if (redis.budgetStates.length > 0) {
      parts.push(
        table(
          ['fleet budget', 'seats taken', 'lapsed', 'waiting', 'limit'],
          redis.budgetStates.map((b) => [b.name, String(b.taken), String(b.lapsed), String(b.waiting), b.limit === null ? '?' : String(b.limit)]),
        ),
      );
      if (redis.budgets.length > redis.budgetStates.length) parts.push(`(${redis.budgets.length} budgets found; the first ${redis.budgetStates.length} shown)`);
    }
  }
  for (const finding of judgement.findings) parts.push(style.dim(`· ${finding.message}`));
  if (judgement.recommendations.length === 0) {
    parts.push(style.green('Nothing to change.'));
  } else {
    parts.push(style.bold('Recommendations'));
    judgement.recommendations.forEach((r, i) => {
      const mark = r.severity === 'high' ? style.red(r.severity) : r.severity === 'medium' ? style.yellow(r.severity) : r.severity;
      const evidence = Object.entries(r.evidence)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      parts.push(`${i + 1}. [${mark}] ${r.message}\n   evidence: ${evidence}\n   fix: ${r.fix}  (${r.id})`);
    });
  }
  return `${parts.join('\n\n')}\n`;
}
