import { describe, expect, it } from 'vitest';
import { connectionLimit, excessConnections, utilization, zombieCandidates, zombieThresholdMs } from './budget.js';

const policy = { connUtilization: 0.8, zombieMinTimeoutMs: 3000, zombieMaxTimeoutMs: 900_000 };

describe('connectionLimit', () => {
  it('takes the smaller of the global and the per-user limit, where 0 means unlimited', () => {
    expect(connectionLimit(151, 0)).toBe(151);
    expect(connectionLimit(151, 20)).toBe(20);
    expect(connectionLimit(40, 100)).toBe(40);
  });
});

describe('utilization and excess', () => {
  it('divides used by limit, and counts how many must go to reach the threshold', () => {
    expect(utilization({ limit: 40, used: 30 })).toBe(0.75);
    expect(utilization({ limit: 0, used: 3 })).toBe(1);
    expect(excessConnections({ limit: 40, used: 30 }, 0.8)).toBe(0);
    expect(excessConnections({ limit: 40, used: 38 }, 0.8)).toBe(6);
  });
});

describe('zombieThresholdMs', () => {
  it('is the maximum at or below the threshold and the minimum at full utilization', () => {
    expect(zombieThresholdMs(0.1, policy)).toBe(900_000);
    expect(zombieThresholdMs(0.8, policy)).toBe(900_000);
    expect(zombieThresholdMs(1, policy)).toBe(3000);
    expect(zombieThresholdMs(1.2, policy)).toBe(3000);
  });

  it('falls monotonically and geometrically between them', () => {
    let previous = Number.POSITIVE_INFINITY;
    for (let usage = 0.8; usage <= 1.0001; usage += 0.01) {
      const threshold = zombieThresholdMs(usage, policy);
      expect(threshold).toBeLessThanOrEqual(previous);
      expect(threshold).toBeGreaterThanOrEqual(3000);
      previous = threshold;
    }
    // Half way up the pressure range: the geometric mean of 3 s and 900 s.
    expect(zombieThresholdMs(0.9, policy)).toBe(Math.round(Math.sqrt(3000 * 900_000)));
  });

  it('handles a zero minimum and a threshold of 1', () => {
    expect(zombieThresholdMs(0.9, { ...policy, zombieMinTimeoutMs: 0 })).toBe(450_000);
    expect(zombieThresholdMs(0.99, { ...policy, connUtilization: 1 })).toBe(900_000);
    expect(zombieThresholdMs(1, { ...policy, connUtilization: 1 })).toBe(3000);
  });
});

describe('zombieCandidates', () => {
  it('keeps only sleeping threads at least as old as the threshold, never our own, oldest first', () => {
    const threads = [
      { id: 1, command: 'Sleep', idleMs: 10_000 },
      { id: 2, command: 'Query', idleMs: 50_000 },
      { id: 3, command: 'Sleep', idleMs: 2_000 },
      { id: 4, command: 'Sleep', idleMs: 60_000 },
      { id: 5, command: 'Sleep', idleMs: 99_000 },
    ];
    expect(zombieCandidates(threads, new Set([5]), 3000).map((t) => t.id)).toEqual([4, 1]);
  });
});
