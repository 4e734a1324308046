import { describe, expect, it } from 'vitest';
import { keySlot } from './slot.js';

describe('keySlot', () => {
  it('is Redis Cluster’s slot: CRC16 of the key, or of its hash tag', () => {
    // Slots as CLUSTER KEYSLOT gives them.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('123456789')).toBe(12739); // CRC16/XMODEM's check value 0x31C3, mod 16384
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{}{bar}')).toBe(keySlot('foo{}{bar}')); // an empty tag: the whole key
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
  });
});
