import { describe, expect, it } from 'vitest';
import { CodecError } from '../errors.js';
import { decodeHeader, decodePayload, ENTRY_FORMAT, encodeEntry } from './entry.js';

const KEY = 'cf:{cf/product}:1:v:{"id":1}';

/** An entry with a hand-written header (what a forger would write). */
function forged(header: unknown, { format = ENTRY_FORMAT, flags = 0 } = {}): Buffer {
  return Buffer.concat([Buffer.from([format, flags]), Buffer.from(typeof header === 'string' ? header : JSON.stringify(header)), Buffer.from('\n"x"')]);
}

describe('entries', () => {
  it('carry the key they were filled under', () => {
    const bytes = encodeEntry({ key: KEY, freshUntil: 1, staleUntil: 2, tags: { 'product:1': null, 'category:a': '17.x' } }, { id: 1 }, 0);
    expect(bytes[0]).toBe(2);
    const header = decodeHeader(bytes);
    expect(header).toMatchObject({ key: KEY, freshUntil: 1, staleUntil: 2, tags: { 'product:1': null, 'category:a': '17.x' } });
    expect(decodePayload(bytes, header)).toEqual({ id: 1 });
  });

  it('keep a tag named __proto__ as a tag', () => {
    // JSON.parse makes `__proto__` an own property, as a header built on a null-prototype object has it.
    const tags = JSON.parse('{"__proto__":"tok"}') as Record<string, string | null>;
    const header = decodeHeader(encodeEntry({ key: KEY, freshUntil: 1, staleUntil: 2, tags }, 1, 0));
    expect(Object.entries(header.tags)).toEqual([['__proto__', 'tok']]);
  });

  it('refuse the previous format (no key in the header) and unknown flags', () => {
    const v1 = Buffer.concat([Buffer.from([1, 0]), Buffer.from(JSON.stringify({ f: 1, s: 2, t: {} })), Buffer.from('\n1')]);
    expect(() => decodeHeader(v1)).toThrow(CodecError);
    expect(() => decodeHeader(forged({ k: KEY, f: 1, s: 2, t: {} }, { flags: 2 }))).toThrow(CodecError);
    expect(() => decodeHeader(forged({ k: KEY, f: 1, s: 2, t: {} }))).not.toThrow();
  });

  it('refuse headers the cache cannot trust: malformed fields and tags against the tag rules', () => {
    const good = { k: KEY, f: 1, s: 2, t: {} };
    const bad: unknown[] = [
      'null',
      '[]',
      '"x"',
      '{"k":',
      { ...good, k: 1 },
      { ...good, k: undefined },
      { ...good, f: '1' },
      { ...good, s: null },
      { ...good, f: Number.POSITIVE_INFINITY },
      { ...good, t: null },
      { ...good, t: ['a'] },
      { ...good, t: 'a' },
      { ...good, t: { '': null } },
      { ...good, t: { 'x\ud800': null } },
      { ...good, t: { ['x'.repeat(1025)]: null } },
      { ...good, t: { a: 1 } },
      { ...good, t: { a: {} } },
    ];
    for (const header of bad) expect(() => decodeHeader(forged(header))).toThrow(CodecError);
  });
});
