/**
 * The doctor's Redis side: INFO (version, cluster mode, memory and its policy, evictions, clients),
 * and a bounded SCAN that finds cachefront's namespaces by the shape of their keys — `ns:{ns/…`
 * for entries and leases, `ns:t:{ns#…` for tags, `{cf-budget:<name>}:…` for fleet budgets — with
 * their key counts, the keys without a TTL, and a sampled MEMORY USAGE. Read-only.
 */
import { createRedisBudget } from '@cachefront/cache';
import { Redis } from 'ioredis';
import type { RedisTarget } from '../connections.js';
import type { BudgetState, NamespaceFacts, RedisFacts } from './facts.js';

const ENTRY_KEY = /^([A-Za-z0-9_:.-]{1,64}):(?:t:)?\{([A-Za-z0-9_:.-]{1,64})[/#]/;
const BUDGET_KEY = /^\{cf-budget:([^}]+)\}:/;
const SAMPLE = 100;
/** Budgets inspected at most (each is one read-only script call). */
export const MAX_INSPECTED_BUDGETS = 20;

export interface ScanBounds {
  /** The most keys the SCAN reads. */
  readonly maxKeys: number;
}

export async function readRedis(target: RedisTarget, bounds: ScanBounds, connectTimeoutMs: number): Promise<RedisFacts> {
  const redis = new Redis(target.url, { lazyConnect: true, connectTimeout: connectTimeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // The socket's own error (ECONNREFUSED, a TLS refusal) says more than the rejection of connect().
  let connectionError: unknown;
  redis.on('error', (error: unknown) => {
    connectionError = error;
  });
  try {
    await redis.connect().catch((error: unknown) => {
      throw connectionError ?? error;
    });
    const info = parseInfo(await redis.info());
    const namespaces = new Map<string, { keys: string[]; withoutTtl: number }>();
    const budgets = new Set<string>();
    let cursor = '0';
    let scanned = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      scanned += keys.length;
      const mine = keys.filter((key) => {
        const budget = BUDGET_KEY.exec(key);
        if (budget?.[1]) budgets.add(budget[1]);
        const entry = ENTRY_KEY.exec(key);
        return entry !== null && entry[1] === entry[2];
      });
      const ttls = mine.length === 0 ? [] : ((await redis.pipeline(mine.map((key) => ['pttl', key])).exec()) ?? []);
      mine.forEach((key, i) => {
        const namespace = ENTRY_KEY.exec(key)?.[1] as string;
        const found = namespaces.get(namespace) ?? { keys: [], withoutTtl: 0 };
        found.keys.push(key);
        if (ttls[i]?.[1] === -1) found.withoutTtl += 1;
        namespaces.set(namespace, found);
      });
    } while (cursor !== '0' && scanned < bounds.maxKeys);
    const facts: NamespaceFacts[] = [];
    for (const [namespace, found] of namespaces) {
      facts.push({ namespace, keys: found.keys.length, withoutTtl: found.withoutTtl, sampleBytes: await sampleMemory(redis, found.keys) });
    }
    return {
      server: target.label,
      version: info.get('redis_version') ?? 'unknown',
      cluster: info.get('cluster_enabled') === '1',
      maxmemory: Number(info.get('maxmemory') ?? 0),
      maxmemoryPolicy: info.get('maxmemory_policy') ?? 'unknown',
      evictedKeys: Number(info.get('evicted_keys') ?? 0),
      connectedClients: Number(info.get('connected_clients') ?? 0),
      maxclients: info.has('maxclients') ? Number(info.get('maxclients')) : undefined,
      usedMemory: Number(info.get('used_memory') ?? 0),
      scanned,
      complete: cursor === '0',
      namespaces: facts.sort((a, b) => b.keys - a.keys),
      budgets: [...budgets].sort(),
      budgetStates: await inspectBudgets(redis, [...budgets].sort().slice(0, MAX_INSPECTED_BUDGETS)),
    };
  } finally {
    redis.disconnect();
  }
}

/** `field:value` lines of INFO. */
function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) out.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return out;
}

/** The median MEMORY USAGE of up to 100 of the keys; undefined where the command is not allowed. */
async function sampleMemory(redis: Redis, keys: readonly string[]): Promise<number | undefined> {
  const step = Math.max(1, Math.floor(keys.length / SAMPLE));
  const sample = keys.filter((_, i) => i % step === 0).slice(0, SAMPLE);
  try {
    const sizes = ((await redis.pipeline(sample.map((key) => ['memory', 'usage', key])).exec()) ?? [])
      .map(([error, size]) => (error ? Number.NaN : Number(size)))
      .filter((size) => Number.isFinite(size))
      .sort((a, b) => a - b);
    return sizes.length === 0 ? undefined : sizes[sizes.length >> 1];
  } catch {
    return undefined;
  }
}

/** Each budget's seats, lapsed leases and waiters, read by the budget's own (read-only) `inspect()`. */
async function inspectBudgets(redis: Redis, names: readonly string[]): Promise<BudgetState[]> {
  const states: BudgetState[] = [];
  for (const name of names) {
    const budget = createRedisBudget({ redis, name });
    try {
      const { taken, lapsed, waiting, limit } = await budget.inspect();
      states.push({ name, taken, lapsed, waiting, limit: limit ?? null });
    } catch {
      // A budget whose name the budget client refuses, or a script the account may not run: left out.
    } finally {
      await budget.close();
    }
  }
  return states;
}
