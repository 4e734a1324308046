/**
 * The benchmark's own Redis connection: it counts commands (MONITOR) and removes a run's
 * keys by prefix (SCAN + UNLINK). It never flushes anything.
 */
import { Redis } from 'ioredis';
import { REDIS_URL } from './fixtures.js';

/** Commands Redis received, by name: those sent by clients, and those run inside Lua scripts. */
export interface CommandCounts {
  readonly client: ReadonlyMap<string, number>;
  readonly lua: ReadonlyMap<string, number>;
}

/** Commands per operation, by name. */
export interface CommandsPerOp {
  readonly client: Readonly<Record<string, number>>;
  readonly lua: Readonly<Record<string, number>>;
}

export function perOp(counts: CommandCounts, ops: number): CommandsPerOp {
  const divide = (map: ReadonlyMap<string, number>) => Object.fromEntries([...map].map(([command, n]) => [command, n / ops]));
  return { client: divide(counts.client), lua: divide(counts.lua) };
}

export class RedisAdmin {
  readonly redis = new Redis(REDIS_URL);
  #sentinels = 0;

  /**
   * Runs `phase` under MONITOR and counts the commands of the connections that named a key starting
   * with `prefix` — all their commands, so key-less ones such as MULTI / EXEC count too — and the
   * commands Lua scripts ran on such keys. Other clients of the same Redis are not counted.
   * MONITOR slows Redis down: never time a phase that is counted.
   */
  async countCommands(prefix: string, phase: () => Promise<void>): Promise<CommandCounts> {
    const bySource = new Map<string, { ours: boolean; commands: string[] }>();
    const lua = new Map<string, number>();
    this.#sentinels += 1;
    const sentinel = `${prefix}:monitor-sentinel:${this.#sentinels}`;
    let sawSentinel: () => void = () => {};
    const seen = new Promise<void>((resolve) => {
      sawSentinel = resolve;
    });
    let open = true;
    const monitor = await this.redis.monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!open) return; // the connection closes asynchronously: what follows the sentinel belongs to the next phase
      if (args.includes(sentinel)) {
        open = false;
        sawSentinel();
        return;
      }
      const command = (args[0] ?? '?').toLowerCase();
      const ours = args.some((arg) => arg.includes(prefix));
      if (source === 'lua') {
        if (ours) lua.set(command, (lua.get(command) ?? 0) + 1);
        return;
      }
      const seenFrom = bySource.get(source) ?? { ours: false, commands: [] };
      seenFrom.ours ||= ours;
      seenFrom.commands.push(command);
      bySource.set(source, seenFrom);
    });
    try {
      await phase();
      // Every command of the phase was answered before this one was sent, so MONITOR shows it last.
      await this.redis.exists(sentinel);
      await Promise.race([
        seen,
        new Promise<void>((_, reject) => setTimeout(() => reject(new Error('MONITOR did not show the sentinel within 5 s')), 5000).unref()),
      ]);
    } finally {
      monitor.disconnect();
    }
    const client = new Map<string, number>();
    for (const { ours, commands } of bySource.values()) {
      if (!ours) continue;
      for (const command of commands) client.set(command, (client.get(command) ?? 0) + 1);
    }
    return { client, lua };
  }

  /** Removes every key that starts with `prefix`; returns how many. */
  async deleteByPrefix(prefix: string): Promise<number> {
    let cursor = '0';
    let deleted = 0;
    // Bounded: SCAN ends when the cursor comes back to 0; the cap only guards against a server bug.
    for (let round = 0; round < 100_000; round += 1) {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await this.redis.unlink(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
    return deleted;
  }

  async countByPrefix(prefix: string): Promise<number> {
    let cursor = '0';
    let count = 0;
    for (let round = 0; round < 100_000; round += 1) {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      count += keys.length;
      cursor = next;
      if (cursor === '0') break;
    }
    return count;
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}
