import { describe, expect, it } from 'vitest';
import { ReadBatcher } from './read-batch.js';

/** An MGET that answers each key with its own name (absent for keys starting with `-`), and records its calls. */
function fakeMget() {
  const calls: string[][] = [];
  const mget = async (keys: string[]) => {
    calls.push(keys);
    return keys.map((key) => (key.startsWith('-') ? null : Buffer.from(key)));
  };
  return { calls, mget };
}

describe('reads of one turn in one MGET', () => {
  it('sends a read at once when none is in flight, gathers the reads started behind it, and hands each its own values and tokens', async () => {
    const { calls, mget } = fakeMget();
    const batch = new ReadBatcher(mget);
    const [first, second, a, b] = await Promise.all([
      batch.read(['v0'], ['t0']),
      batch.read(['v1', '-v2'], ['t1']),
      batch.read([], ['-t2', 't3']),
      batch.read(['v3'], []),
    ]);
    // The first alone (nothing in flight), the second alone (half of 2 outstanding), then the next two together.
    expect(calls).toEqual([
      ['v0', 't0'],
      ['v1', '-v2', 't1'],
      ['-t2', 't3', 'v3'],
    ]);
    expect(first).toEqual({ values: [Buffer.from('v0')], tags: ['t0'] });
    expect(second).toEqual({ values: [Buffer.from('v1'), null], tags: ['t1'] });
    expect(a).toEqual({ values: [], tags: [null, 't3'] });
    expect(b).toEqual({ values: [Buffer.from('v3')], tags: [] });
  });

  it('sends a read started after the batch left in the next one', async () => {
    const { calls, mget } = fakeMget();
    const batch = new ReadBatcher(mget);
    await batch.read(['a'], []);
    await batch.read(['b'], []);
    expect(calls).toEqual([['a'], ['b']]);
  });

  it('splits a turn of many reads into batches of half the reads outstanding, at most 32', async () => {
    const { calls, mget } = fakeMget();
    const batch = new ReadBatcher(mget);
    const results = await Promise.all(Array.from({ length: 70 }, (_, i) => batch.read([`v${i}`], [`t${i}`])));
    // Each batch half of what is outstanding: 1, 1, 2, 4, 8, 16, then full (32), then the last 6 on the tick.
    expect(calls.map((keys) => keys.length / 2)).toEqual([1, 1, 2, 4, 8, 16, 32, 6]);
    results.forEach((result, i) => {
      expect(result).toEqual({ values: [Buffer.from(`v${i}`)], tags: [`t${i}`] });
    });
  });

  it('rejects every read of a batch whose MGET failed, and only those', async () => {
    let fail = true;
    const batch = new ReadBatcher(async (keys) => {
      if (fail) throw new Error('connection lost');
      return keys.map(() => null);
    });
    const failed = await Promise.allSettled([batch.read(['a'], []), batch.read(['b'], ['t'])]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await batch.read(['c'], [])).toEqual({ values: [null], tags: [] });
  });

  it('rejects the reads when the MGET throws instead of rejecting', async () => {
    const batch = new ReadBatcher(() => {
      throw new Error('synchronous');
    });
    await expect(batch.read(['a'], [])).rejects.toThrow('synchronous');
  });
});
