import { describe, expect, it, vi } from 'vitest';
import { Emitter } from './emitter.js';
import { withTimeout } from './timeout.js';

describe('withTimeout', () => {
  it('resolves with the result when it comes in time', async () => {
    await expect(withTimeout(async () => 7, 100, { error: () => new Error('late') })).resolves.toBe(7);
  });

  it('rejects with the given error once the time is up, and hands a late result to `late`', async () => {
    vi.useFakeTimers();
    try {
      let finish!: (value: number) => void;
      const late = vi.fn();
      const expired = vi.fn();
      const racing = withTimeout(() => new Promise<number>((resolve) => (finish = resolve)), 50, { error: () => new Error('too slow'), late, expired });
      const outcome = racing.catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(50);
      expect(await outcome).toEqual(new Error('too slow'));
      expect(expired).toHaveBeenCalledOnce();
      finish(3);
      await vi.advanceTimersByTimeAsync(0);
      expect(late).toHaveBeenCalledWith(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('passes a synchronous throw on as a rejection, and runs without a timer when ms is undefined', async () => {
    await expect(
      withTimeout(
        () => {
          throw new Error('sync');
        },
        10,
        { error: () => new Error('late') },
      ),
    ).rejects.toThrow('sync');
    await expect(withTimeout(async () => 'no timer', undefined, { error: () => new Error('late') })).resolves.toBe('no timer');
  });
});

describe('Emitter', () => {
  it('calls listeners, unsubscribes, and survives a listener that throws', () => {
    const emitter = new Emitter<{ hit: { n: number } }>('cachefront:test:');
    const seen: number[] = [];
    const off = emitter.on('hit', ({ n }) => seen.push(n));
    emitter.on('hit', () => {
      throw new Error('listener bug');
    });
    expect(emitter.wants('hit')).toBe(true);
    emitter.emit('hit', { n: 1 });
    off();
    emitter.emit('hit', { n: 2 });
    expect(seen).toEqual([1]);
  });
});
