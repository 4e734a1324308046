import { describe, expect, it } from 'vitest';
import { CodecError } from '../errors.js';
import { decodeHeader, decodePayload, ENTRY_FORMAT, encodeEntry } from './entry.js';

const KEY = 'cf:{cf/product}:1:v:{"id":1}';
const HEADER = { key: KEY, freshUntil: 1, staleUntil: 2, loadMs: 7, tags: ['product:1', 'category:a'], tokens: [null, '17.x'] };

/** A format-2 entry with a hand-written JSON header (what the previous release, or a forger, wrote). */
function legacy(header: unknown, { flags = 0 } = {}): Buffer {
  return Buffer.concat([Buffer.from([2, flags]), Buffer.from(typeof header === 'string' ? header : JSON.stringify(header)), Buffer.from('\n"x"')]);
}

/** A format-3 entry of `HEADER` with its bytes changed by `edit`. */
function edited(edit: (bytes: Buffer) => void): Buffer {
  const bytes = encodeEntry(HEADER, 'x', 0);
  edit(bytes);
  return bytes;
}

describe('entries', () => {
  it('carry the key they were filled under, the load time and the tag tokens', () => {
    const bytes = encodeEntry(HEADER, { id: 1 }, 0);
    expect(bytes[0]).toBe(ENTRY_FORMAT);
    const header = decodeHeader(bytes);
    expect(header).toMatchObject(HEADER);
    expect(decodePayload(bytes, header)).toEqual({ id: 1 });
  });

  it('keep a tag named __proto__ as a tag', () => {
    const header = decodeHeader(encodeEntry({ ...HEADER, tags: ['__proto__'], tokens: ['tok'] }, 1, 0));
    expect(header.tags).toEqual(['__proto__']);
    expect(header.tokens).toEqual(['tok']);
  });

  it('flag payloads without tagged values, so a hit skips looking for them', () => {
    expect(decodeHeader(encodeEntry(HEADER, { id: 1 }, 0)).tagged).toBe(false);
    expect(decodeHeader(encodeEntry(HEADER, { at: new Date(0) }, 0)).tagged).toBe(true);
    const tagged = encodeEntry(HEADER, { at: new Date(0) }, 0);
    expect(decodePayload(tagged, decodeHeader(tagged))).toEqual({ at: new Date(0) });
  });

  it('still read the previous format (a JSON header), so a canary deploy keeps its hits', () => {
    const entry = legacy({ k: KEY, f: 1, s: 2, t: { 'product:1': 'tok' } });
    const header = decodeHeader(entry);
    expect(header).toMatchObject({ key: KEY, freshUntil: 1, staleUntil: 2, loadMs: 0, tags: ['product:1'], tokens: ['tok'], tagged: undefined });
    expect(decodePayload(entry, header)).toBe('x');
  });

  it('refuse format 1 (no key in the header), unknown formats and unknown flags', () => {
    const v1 = Buffer.concat([Buffer.from([1, 0]), Buffer.from(JSON.stringify({ f: 1, s: 2, t: {} })), Buffer.from('\n1')]);
    expect(() => decodeHeader(v1)).toThrow(CodecError);
    expect(() => decodeHeader(edited((b) => b.writeUInt8(4, 0)))).toThrow(CodecError);
    expect(() => decodeHeader(edited((b) => b.writeUInt8(4, 1)))).toThrow(CodecError);
    expect(() => decodeHeader(legacy({ k: KEY, f: 1, s: 2, t: {} }, { flags: 2 }))).toThrow(CodecError);
    expect(() => decodeHeader(legacy({ k: KEY, f: 1, s: 2, t: {} }))).not.toThrow();
  });

  it('refuse binary headers the cache cannot trust: truncated, non-finite times, tags against the tag rules', () => {
    const encoded = encodeEntry(HEADER, 'x', 0);
    const bad: Buffer[] = [];
    // Every truncation inside the header (the payload starts after the last token).
    const headerLength = decodeHeader(encoded).payloadOffset;
    for (let length = 0; length < headerLength; length += 1) bad.push(encoded.subarray(0, length));
    bad.push(edited((b) => b.writeDoubleLE(Number.NaN, 2)));
    bad.push(edited((b) => b.writeDoubleLE(Number.POSITIVE_INFINITY, 10)));
    bad.push(encodeEntry({ ...HEADER, tags: [''], tokens: [null] }, 'x', 0));
    bad.push(encodeEntry({ ...HEADER, tags: ['x'.repeat(1025)], tokens: [null] }, 'x', 0));
    for (const bytes of bad) expect(() => decodeHeader(bytes)).toThrow(CodecError);
  });

  it('refuse legacy headers the cache cannot trust: malformed fields and tags against the tag rules', () => {
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
    for (const header of bad) expect(() => decodeHeader(legacy(header))).toThrow(CodecError);
  });
});
