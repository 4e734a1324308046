import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError } from '../errors.js';
import { canonicalize } from '../keys/canonical.js';
import { paramKey } from '../keys/keys.js';
import { compress, decodeValue, decompress, encodeValue } from './codec.js';
import { decodeHeader, decodePayload, encodeEntry } from './entry.js';

/** Values a repository might cache: rows with Dates, BigInts, bytes, DECIMAL strings, maps, sets, holes. */
const leaf = fc.oneof(
  fc.string(),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
  fc.date({ noInvalidDate: false }),
  fc.uint8Array().map((bytes) => Buffer.from(bytes)),
  fc.uint8Array(),
  fc.stringMatching(/^-?\d{1,20}\.\d{1,10}$/), // DECIMAL columns arrive as exact strings
);
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object'), tie('map'), tie('set')),
  array: fc.array(tie('node'), { maxLength: 4 }),
  object: fc.dictionary(fc.oneof(fc.string(), fc.constant('$cf')), tie('node'), { maxKeys: 4, noNullPrototype: true }),
  map: fc.array(fc.tuple(tie('node'), tie('node')), { maxLength: 3 }).map((entries) => new Map(entries)),
  set: fc.array(tie('node'), { maxLength: 3 }).map((items) => new Set(items)),
})).node;

describe('codec', () => {
  it('round-trips every value exactly', () => {
    fc.assert(
      fc.property(value, (original) => {
        expect(decodeValue(encodeValue(original))).toStrictEqual(original);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps -0, NaN, ±Infinity, undefined fields and objects that look tagged', () => {
    const original = {
      a: -0,
      b: Number.NaN,
      c: Number.POSITIVE_INFINITY,
      d: undefined,
      e: { $cf: 'Date', v: 'not a date' },
      price: '12345678901234567890.123456789',
    };
    const back = decodeValue(encodeValue(original)) as typeof original;
    expect(Object.is(back.a, -0)).toBe(true);
    expect(back).toStrictEqual(original);
    expect('d' in back).toBe(true);
  });

  it('keeps a key named __proto__ as data, never as a prototype', () => {
    const hostile = JSON.parse('{"__proto__": {"isAdmin": true}, "name": "x"}') as Record<string, unknown>;
    const back = decodeValue(encodeValue(hostile)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect((back as { isAdmin?: unknown }).isAdmin).toBeUndefined();
    expect(Object.keys(back)).toEqual(['__proto__', 'name']);
  });

  it('refuses cycles and functions with a typed error', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(() => encodeValue(cyclic)).toThrow(CodecError);
    expect(() => encodeValue({ f: () => 1 })).toThrow(CodecError);
  });

  it('compresses only above the threshold, and only when it helps', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), fc.integer({ min: 0, max: 2000 }), (text, above) => {
        const { bytes, compressed } = compress(text, above);
        if (Buffer.byteLength(text) <= above) expect(compressed).toBe(false);
        expect(decompress(bytes, compressed)).toBe(text);
      }),
    );
  });

  it('entries carry their header and payload through encode and decode', () => {
    fc.assert(
      fc.property(
        value,
        fc.dictionary(fc.string({ minLength: 1, unit: 'grapheme' }), fc.option(fc.string(), { nil: null })),
        fc.integer({ min: 0, max: 200 }),
        // Keys and tags are well-formed text (keys/canonical.ts, keys/tags.ts refuse lone surrogates).
        fc.string({ unit: 'grapheme' }),
        fc.nat(),
        (payload, dictionary, above, key, loadMs) => {
          const tags = Object.keys(dictionary);
          const tokens = Object.values(dictionary);
          const bytes = encodeEntry({ key, freshUntil: 10, staleUntil: 20, loadMs, tags, tokens }, payload, above);
          const header = decodeHeader(bytes);
          expect(header).toMatchObject({ key, freshUntil: 10, staleUntil: 20, loadMs, tags, tokens });
          expect(decodePayload(bytes, header)).toStrictEqual(payload);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects foreign bytes as entries', () => {
    expect(() => decodeHeader(Buffer.from('{"plain":"json"}'))).toThrow(CodecError);
    expect(() => decodeHeader(Buffer.from([1, 0, 0x7b]))).toThrow(CodecError);
  });
});

describe('key encoding', () => {
  it('gives equal keys only to equal parameters', () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        const same = canonicalize(a) === canonicalize(b);
        if (paramKey(a) === paramKey(b)) {
          expect(same).toBe(true);
          expect(decodeValue(canonicalize(a))).toStrictEqual(decodeValue(canonicalize(b)));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('builds flat parameter keys directly with exactly the general canonical text', () => {
    const flatValue = fc.oneof(fc.string(), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(-0));
    const keyName = fc.oneof(fc.string(), fc.constant('$cf'), fc.constant('__proto__'), fc.nat().map(String), fc.constant('01'));
    fc.assert(
      fc.property(fc.dictionary(keyName, flatValue, { maxKeys: 6, noNullPrototype: true }), (params) => {
        const canonical = canonicalize(params);
        const expected = canonical.length <= 128 ? canonical : undefined;
        if (expected !== undefined) expect(paramKey(params)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
    expect(paramKey({ id: 42 })).toBe(canonicalize({ id: 42 }));
    expect(paramKey({ b: 'x', a: 1 })).toBe('{"a":1,"b":"x"}');
  });

  it('ignores the order of object keys', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.integer()), (record) => {
        const reversed = Object.fromEntries(Object.entries(record).reverse());
        expect(paramKey(reversed)).toBe(paramKey(record));
      }),
    );
  });

  it('hashes long keys to a bounded length that cannot collide with a plain one', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 200, maxLength: 2000 }), (text) => {
        const key = paramKey({ text });
        expect(key.length).toBeLessThanOrEqual(64);
        expect(key.startsWith('#')).toBe(true);
      }),
    );
    expect(paramKey({ id: 1 })).toBe('{"id":1}');
  });
});
