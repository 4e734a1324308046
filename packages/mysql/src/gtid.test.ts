import { describe, expect, it } from 'vitest';
import { AppliedPositions, merge } from './gtid.js';

describe('GTID positions', () => {
  it('merges MariaDB positions to the highest sequence number per domain', () => {
    expect(merge(['0-1-5', '0-1-9,1-2-3', '1-3-2'])).toBe('0-1-9,1-2-3');
    expect(merge(['0-1-5'])).toBe('0-1-5');
  });

  it('lists MySQL GTID sets together, once each', () => {
    const a = '3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5';
    const b = '3E11FA47-71CA-11E1-9E33-C80AA9429562:1-7';
    expect(merge([a, b, a])).toBe(`${a},${b}`);
  });

  it('knows what a replica has applied from the waits that returned', () => {
    const applied = new AppliedPositions();
    expect(applied.covers('0-1-1')).toBe(false);
    applied.record('0-1-10,1-2-4');
    expect(applied.covers('0-1-10')).toBe(true);
    expect(applied.covers('0-2-3,1-2-4')).toBe(true);
    expect(applied.covers('0-1-11')).toBe(false);
    expect(applied.covers('2-1-1')).toBe(false);
    // Sequence numbers past 2^53 compare exactly.
    applied.record('0-1-9007199254740993');
    expect(applied.covers('0-1-9007199254740992')).toBe(true);
    // A MySQL set is never known applied: it is always asked.
    expect(applied.covers('3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5')).toBe(false);
  });
});
