import { describe, expect, it } from 'vitest';
import { TagHints } from './tag-hints.js';

describe('tag hints', () => {
  it('keep only the tags the parameters do not give, and forget a key whose entry carries none', () => {
    const hints = new TagHints();
    hints.remember('k', ['product:1'], ['product:1']);
    expect(hints.get('k')).toEqual([]);
    hints.remember('k', ['product:1', 'category:tools'], ['product:1']);
    expect(hints.get('k')).toEqual(['category:tools']);
    // The value moved out of its category: the hint goes with it.
    hints.remember('k', ['product:1'], ['product:1']);
    expect(hints.get('k')).toEqual([]);
  });

  it('hold at most 10,000 keys, the oldest out first', () => {
    const hints = new TagHints();
    for (let i = 0; i <= 10_000; i += 1) hints.remember(`k${i}`, [`v:${i}`], []);
    expect(hints.get('k0')).toEqual([]);
    expect(hints.get('k1')).toEqual(['v:1']);
    expect(hints.get('k10000')).toEqual(['v:10000']);
  });
});
