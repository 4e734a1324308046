import { describe, expect, it } from 'vitest';
import type { MysqlFacts, RedisFacts } from './facts.js';
import { judge } from './recommend.js';

/** A healthy server: short timeouts, a capped account, no zombies, never near the limit. */
const healthy: MysqlFacts = {
  server: 'app@db:3306/shop',
  version: '10.11',
  account: 'app@%',
  user: 'app',
  maxConnections: 200,
  globalMaxUserConnections: 0,
  accountMaxUserConnections: 150,
  accounts: undefined,
  waitTimeoutS: { global: 600, session: 600 },
  interactiveTimeoutS: { global: 600, session: 600 },
  status: { maxUsedConnections: 40, connectionErrorsMaxConnections: 0, abortedClients: 0, abortedConnects: 0, threadsConnected: 12 },
  threads: [],
  seesAllThreads: true,
  zombies: [],
  zombieThresholdS: 900,
  canKillOthers: false,
  hasRdsKill: false,
};

const cleanRedis: RedisFacts = {
  server: 'redis://cache:6379',
  version: '7.0',
  cluster: false,
  maxmemory: 1 << 30,
  maxmemoryPolicy: 'volatile-lru',
  evictedKeys: 0,
  connectedClients: 10,
  maxclients: 10000,
  usedMemory: 1 << 20,
  scanned: 10,
  complete: true,
  namespaces: [{ namespace: 'shop', keys: 10, withoutTtl: 0, sampleBytes: 900 }],
  budgets: ['default'],
  budgetStates: [{ name: 'default', taken: 10, lapsed: 0, waiting: 0, limit: 150 }],
};

const ids = (facts: Parameters<typeof judge>[0]) => judge(facts).recommendations.map((r) => r.id);

describe('the doctor’s recommendations', () => {
  it('asks for nothing on a healthy fleet', () => {
    expect(judge({ mysql: healthy, redis: cleanRedis }).recommendations).toEqual([]);
  });

  it('names each problem with its numbers and the exact fix', () => {
    const sick: MysqlFacts = {
      ...healthy,
      accountMaxUserConnections: 0,
      waitTimeoutS: { global: 28800, session: 28800 },
      status: { ...healthy.status, maxUsedConnections: 200, connectionErrorsMaxConnections: 17 },
      zombies: Array.from({ length: 17 }, (_, i) => ({ id: 100 + i, idleS: 2000 - i })),
      hasRdsKill: true,
    };
    const { recommendations } = judge({ mysql: sick, redis: undefined });
    // High first (17 refused connections), then medium, then low (17 zombies are under 10% of the limit).
    expect(recommendations.map((r) => r.id)).toEqual(['reserved-concurrency', 'wait-timeout', 'max-user-connections', 'zombies']);
    const byId = new Map(recommendations.map((r) => [r.id, r]));
    expect(byId.get('wait-timeout')?.message).toContain('wait_timeout is 28800 s');
    expect(byId.get('wait-timeout')?.fix).toContain('SET GLOBAL wait_timeout = 600');
    expect(byId.get('max-user-connections')?.fix).toBe("ALTER USER 'app'@'%' WITH MAX_USER_CONNECTIONS 160;");
    // 80% of the limit (200): 160 containers × 1 connection.
    expect(byId.get('reserved-concurrency')?.message).toContain('reserve concurrency ≤ 160');
    expect(byId.get('reserved-concurrency')?.evidence).toMatchObject({ Connection_errors_max_connections: 17 });
    expect(byId.get('zombies')?.message).toContain('17 sleeping connections of user app idle > 900 s');
    expect(byId.get('zombies')?.fix).toBe('cachefront reap --older-than 900s --yes --rds-kill');
  });

  it('on Redis: allkeys eviction, evictions, keys without a TTL, clients near maxclients', () => {
    const redis: RedisFacts = {
      ...cleanRedis,
      maxmemoryPolicy: 'allkeys-lru',
      evictedKeys: 5,
      connectedClients: 9000,
      namespaces: [{ namespace: 'shop', keys: 10, withoutTtl: 3, sampleBytes: 900 }],
    };
    expect(ids({ mysql: undefined, redis })).toEqual(['maxclients', 'maxmemory-policy', 'evictions', 'keys-without-ttl']);
    expect(judge({ mysql: undefined, redis: { ...cleanRedis, namespaces: [], complete: false } }).findings.map((f) => f.id)).toEqual([
      'no-namespace',
      'scan-bounded',
    ]);
    // A fleet budget with containers waiting for a seat, and lapsed leases.
    const busy = judge({ mysql: undefined, redis: { ...cleanRedis, budgetStates: [{ name: 'default', taken: 120, lapsed: 4, waiting: 7, limit: 150 }] } });
    expect(busy.recommendations.map((r) => r.id)).toEqual(['budget-waiting']);
    expect(busy.recommendations[0]?.evidence).toMatchObject({ waiting: 7, taken: 120, lapsed: 4 });
    expect(busy.findings.map((f) => f.id)).toEqual(['budget-lapsed']);
  });
});
