import { describe, expect, it } from 'vitest';
import { backoffDelay, seededRandom } from './backoff.js';

describe('backoffDelay', () => {
  it('full jitter stays within [0, min(cap, base · 2^attempt))', () => {
    const policy = { strategy: 'full', baseMs: 2, capMs: 100 } as const;
    const random = seededRandom(7);
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const ceiling = Math.min(100, 2 * 2 ** attempt);
      for (let i = 0; i < 50; i += 1) {
        const delay = backoffDelay(policy, attempt, 0, random);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
      }
    }
  });

  it('full jitter reaches the ends of its range with extreme random values', () => {
    const policy = { strategy: 'full', baseMs: 2, capMs: 100 } as const;
    expect(backoffDelay(policy, 3, 0, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, 0, () => 0.999999)).toBe(15); // ceiling 16
    expect(backoffDelay(policy, 40, 0, () => 0.999999)).toBe(99); // capped, no overflow
  });

  it('decorrelated jitter draws from [base, 3 · previous] and never exceeds cap', () => {
    const policy = { strategy: 'decorrelated', baseMs: 5, capMs: 200 } as const;
    const random = seededRandom(42);
    let previous = 0;
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const delay = backoffDelay(policy, attempt, previous, random);
      expect(delay).toBeGreaterThanOrEqual(5);
      expect(delay).toBeLessThanOrEqual(Math.min(200, Math.max(5, previous) * 3));
      previous = delay;
    }
  });

  it('a seeded source gives the same schedule every time', () => {
    const schedule = () => {
      const random = seededRandom(1234);
      const delays: number[] = [];
      let previous = 0;
      for (let attempt = 0; attempt < 8; attempt += 1) {
        previous = backoffDelay({ strategy: 'decorrelated', baseMs: 5, capMs: 200 }, attempt, previous, random);
        delays.push(previous);
      }
      return delays;
    };
    const first = schedule();
    expect(schedule()).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(1);
  });
});

describe('seededRandom', () => {
  it('is uniform enough on [0, 1)', () => {
    const random = seededRandom(99);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i += 1) {
      const value = random();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
      const index = Math.floor(value * 10);
      buckets[index] = (buckets[index] ?? 0) + 1;
    }
    for (const count of buckets) expect(count).toBeGreaterThan(850);
  });
});
