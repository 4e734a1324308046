/**
 * DESIGN invariant 1 under faults and concurrency, checked by the history checker (history.ts) over
 * real processes, real MariaDB and a real Redis (and a Redis Cluster): no read returns a version
 * older than a write that had returned before the read began. CI-sized runs; `pnpm soak` runs
 * longer ones. The seed is printed; `CACHEFRONT_HISTORY_SEED` reruns one.
 */
import { describe, expect, it } from 'vitest';
import { type Fault, historyRun, type RunOptions, summarize } from './run.js';

const seed = Number(process.env['CACHEFRONT_HISTORY_SEED'] ?? 20261201);

const base: Omit<RunOptions, 'redis' | 'faults' | 'durationMs' | 'mode'> = {
  seed,
  processes: 3,
  layers: 3,
  concurrency: 3,
  keys: 20,
  faultEveryMs: [600, 1400],
  log: (line) => console.log(line),
};

const STANDALONE_FAULTS: Fault[] = ['redis-restart', 'redis-pause', 'redis-stall', 'redis-flush', 'mysql-kill', 'commit-cut'];
const CLUSTER_FAULTS: Fault[] = ['redis-node-restart', 'redis-pause', 'redis-stall', 'redis-flush', 'mysql-kill', 'commit-cut'];

describe('the history checker', () => {
  it('every fault on a single Redis: no read older than a write that had returned before it', { timeout: 120_000 }, async () => {
    const report = await historyRun({ ...base, redis: 'standalone', faults: STANDALONE_FAULTS, durationMs: 25_000, mode: 'normal' });
    console.log(summarize(report));
    for (const text of report.described) console.log(text);
    expect(report.violations).toEqual([]);
    expect(report.checkedReads).toBeGreaterThan(5_000);
    expect(report.committedWrites).toBeGreaterThan(1_000);
    for (const fault of STANDALONE_FAULTS) expect(report.faults[fault] ?? 0, fault).toBeGreaterThan(0);
  });

  it('on a Redis Cluster, with a master restarted empty: the same', { timeout: 120_000 }, async () => {
    const report = await historyRun({ ...base, seed: seed + 1, redis: 'cluster', faults: CLUSTER_FAULTS, durationMs: 15_000, mode: 'normal' });
    console.log(summarize(report));
    for (const text of report.described) console.log(text);
    expect(report.violations).toEqual([]);
    expect(report.checkedReads).toBeGreaterThan(1_500);
    expect(report.faults['redis-node-restart'] ?? 0).toBeGreaterThan(0);
  });

  // The lag window sends every fill within 2.5 s of its key's last write to the writer — the refill
  // after a write always, so at the default write rate the replica would answer nothing. Its run
  // writes a key every ~10 s and lets entries expire each second: the replica answers the refills.
  for (const [lagSafety, load] of [
    ['position', {}],
    ['window', { keys: 100, writeRatio: 0.002, ttlMs: 1000 }],
  ] as const) {
    it(`with loads from a lagging read replica (${lagSafety}): the same`, { timeout: 120_000 }, async () => {
      const faults: Fault[] = ['replica-lag', 'replica-lag', 'redis-restart', 'redis-flush', 'redis-pause', 'mysql-kill', 'commit-cut'];
      const report = await historyRun({
        ...base,
        ...load,
        seed: seed + 3,
        redis: 'standalone',
        faults,
        durationMs: 15_000,
        mode: 'normal',
        replica: lagSafety,
      });
      console.log(summarize(report));
      for (const text of report.described) console.log(text);
      expect(report.violations).toEqual([]);
      expect(report.checkedReads).toBeGreaterThan(2_000);
      expect(report.faults['replica-lag'] ?? 0).toBeGreaterThan(1);
      // The replica did answer loads: the lag safety did not just send everything to the writer.
      expect(report.figures.readerLoads).toBeGreaterThan(100);
    });
  }

  it('its negative control with a read replica fails: fills without lag safety cache the lagging replica’s old rows', { timeout: 120_000 }, async () => {
    const report = await historyRun({
      ...base,
      seed: seed + 4,
      redis: 'standalone',
      faults: ['replica-lag'],
      durationMs: 8_000,
      mode: 'normal',
      replica: 'off',
    });
    console.log(summarize(report));
    expect(report.violations.filter((v) => v.kind === 'stale-read').length).toBeGreaterThan(10);
  });

  it('its negative control fails: writes that skip the invalidation are caught serving stale reads', { timeout: 120_000 }, async () => {
    const report = await historyRun({ ...base, seed: seed + 2, redis: 'standalone', faults: [], durationMs: 6_000, mode: 'skip-invalidation' });
    console.log(summarize(report));
    expect(report.violations.filter((v) => v.kind === 'stale-read').length).toBeGreaterThan(10);
    expect(report.described[0]).toMatch(/^stale-read: read of key \d+ \((fresh|miss)\) returned version \d+, but version \d+ had returned/);
  });
});
