import { describe, expect, it } from 'vitest';
import { decodeValue } from '../entry/codec.js';
import { CacheKeyError, type CacheKeyErrorReason } from '../errors.js';
import { canonicalize, KEY_LIMITS } from './canonical.js';
import { paramKey } from './keys.js';

const SECRET = 'carol@secret.example';

function refusal(value: unknown): CacheKeyError {
  try {
    canonicalize(value);
  } catch (error) {
    expect(error).toBeInstanceOf(CacheKeyError);
    const keyError = error as CacheKeyError;
    expect(keyError.message).not.toContain(SECRET);
    return keyError;
  }
  throw new Error('expected a CacheKeyError');
}

const reasonOf = (value: unknown): CacheKeyErrorReason => refusal(value).reason;

function nested(depth: number, make: (inner: unknown) => unknown = (inner) => ({ a: inner })): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = make(value);
  return value;
}

class Point {
  constructor(readonly x: number) {}
}

describe('canonical parameter text', () => {
  it('encodes plain data, sorted, in the codec form (decodeValue reads it back)', () => {
    expect(canonicalize({ id: 42 })).toBe('{"id":42}');
    expect(canonicalize({ b: 'x', a: 1, 10: true, 2: null })).toBe('{"10":true,"2":null,"a":1,"b":"x"}');
    expect(paramKey({ id: 42 })).toBe('{"id":42}');
    const value = {
      s: 'a\ud800b',
      n: [0, -0, Number.NaN, Number.POSITIVE_INFINITY, 1e21, -1.5],
      big: 12345678901234567890n,
      u: undefined,
      d: new Date('2026-01-01T00:00:00Z'),
      bad: new Date(Number.NaN),
      buf: Buffer.from('hi'),
      bytes: new Uint8Array([1, 2]),
      m: new Map<unknown, unknown>([
        ['k', 1],
        [{ o: 1 }, [2]],
      ]),
      set: new Set([3, 'x']),
      $cf: 'Date',
      __proto__: null,
      nested: Object.assign(Object.create(null) as object, { z: 1 }),
    };
    const back = decodeValue(canonicalize(value)) as {
      s: string;
      n: number[];
      big: bigint;
      u: undefined;
      buf: unknown;
      bytes: unknown;
      $cf: string;
      m: unknown;
    };
    expect(back.s).toBe('a\ud800b');
    expect(Object.is(back.n[1], -0)).toBe(true);
    expect(back.big).toBe(12345678901234567890n);
    expect('u' in back).toBe(true);
    expect(back.buf).toBeInstanceOf(Buffer);
    expect(back.bytes).toBeInstanceOf(Uint8Array);
    expect(back.$cf).toBe('Date');
    expect(back.m).toBeInstanceOf(Map);
  });

  it('tells apart what the old encoder merged', () => {
    const keys = [
      {},
      { n: 1 },
      { n: '1' },
      { n: 1n },
      { n: undefined },
      { n: null },
      { n: [1] },
      { n: new Set([1]) },
      { n: new Map([[1, 1]]) },
      { n: { 0: 1 } },
      { n: Buffer.from([1]) },
      { n: new Uint8Array([1]) },
      { n: -0 },
      { n: 0 },
      { n: Number.NaN },
      { n: 'NaN' },
      { n: new Date(0) },
      { n: new Date(0).toISOString() },
      { n: { $cf: 'num', v: 'NaN' } },
      [null, 1],
      [undefined, 1],
      { 0: 'a' },
    ].map(paramKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('ignores the order of object keys, Map entries and Set members', () => {
    expect(canonicalize({ a: 1, b: 2 })).toBe(canonicalize({ b: 2, a: 1 }));
    expect(canonicalize(new Set([1, 2, 'x']))).toBe(canonicalize(new Set(['x', 2, 1])));
    expect(
      canonicalize(
        new Map<unknown, unknown>([
          ['a', 1],
          [2, 'b'],
        ]),
      ),
    ).toBe(
      canonicalize(
        new Map<unknown, unknown>([
          [2, 'b'],
          ['a', 1],
        ]),
      ),
    );
    expect(canonicalize(Object.assign(Object.create(null) as object, { a: 1 }))).toBe(canonicalize({ a: 1 }));
  });

  it('refuses boxed primitives, sparse arrays, class instances and other exotic objects', () => {
    const getterCalls: string[] = [];
    const exotic: unknown[] = [
      new Number(1),
      new String('a'),
      new Boolean(false),
      Object(1n),
      Object(Symbol('s')),
      // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
      [, 1],
      // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
      [1, , 2],
      new Array(3),
      Object.assign([1], { extra: 2 }),
      new Point(1),
      new URL('https://example.com/'),
      /a/g,
      new Error(SECRET),
      new TypeError('x'),
      new Int16Array([1]),
      new Float64Array([1]),
      new Uint8ClampedArray([1]),
      new Uint16Array([1]),
      new ArrayBuffer(1),
      new DataView(new ArrayBuffer(1)),
      Promise.resolve(1),
      new WeakMap(),
      new WeakSet(),
      () => SECRET,
      Symbol(SECRET),
      { [Symbol('k')]: 1 },
      Object.defineProperty({}, 'hidden', { value: 1, enumerable: false }),
      Object.defineProperty({}, 'n', {
        enumerable: true,
        get: () => {
          getterCalls.push('n');
          return 1;
        },
      }),
      Object.assign(new Date(0), { extra: 1 }),
      Object.assign(new Map(), { extra: 1 }),
      Object.assign(Buffer.from('a'), { extra: 1 }),
      new (class extends Map {})(),
      new (class extends Array {})(),
      Object.create(Date.prototype),
      new Proxy({ a: 1 }, {}),
      new Proxy([1], {}),
    ];
    for (const value of exotic) {
      expect(reasonOf(value)).toBe('unsupported-type');
      expect(reasonOf({ nested: [value] })).toBe('unsupported-type');
    }
    expect(getterCalls).toEqual([]);
  });

  it('refuses throwing getters and revoked proxies with CacheKeyError, never calling into them', () => {
    const throwing = Object.defineProperty({}, 'n', {
      enumerable: true,
      get: () => {
        throw new Error(SECRET);
      },
    });
    const { proxy, revoke } = Proxy.revocable({ a: 1 }, {});
    revoke();
    const trapping = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error(SECRET);
        },
        getPrototypeOf: () => {
          throw new Error(SECRET);
        },
      },
    );
    for (const value of [throwing, proxy, trapping, { deep: [proxy] }]) {
      expect(reasonOf(value)).toBe('unsupported-type');
      expect(refusal(value).cause).toBeUndefined();
    }
  });

  it('refuses parameters past the depth limit, however deep, with CacheKeyError instead of a RangeError', () => {
    expect(() => canonicalize(nested(KEY_LIMITS.maxDepth))).not.toThrow();
    expect(reasonOf(nested(KEY_LIMITS.maxDepth + 1))).toBe('too-deep');
    expect(reasonOf(nested(10_000))).toBe('too-deep');
    expect(reasonOf(nested(10_000, (inner) => [inner]))).toBe('too-deep');
    expect(reasonOf(nested(10_000, (inner) => new Set([inner])))).toBe('too-deep');
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(reasonOf(cyclic)).toBe('too-deep');
  });

  it('refuses parameters past the size limits', () => {
    expect(() => canonicalize(Array.from({ length: KEY_LIMITS.maxNodes - 1 }, () => 0))).not.toThrow();
    expect(reasonOf(Array.from({ length: KEY_LIMITS.maxNodes }, () => 0))).toBe('too-large');
    expect(reasonOf(new Array(1e9))).toBe('too-large');
    expect(reasonOf({ text: 'x'.repeat(KEY_LIMITS.maxChars) })).toBe('too-large');
    expect(reasonOf(new Set(Array.from({ length: KEY_LIMITS.maxNodes + 1 }, (_, i) => i)))).toBe('too-large');
    expect(reasonOf(Buffer.alloc(KEY_LIMITS.maxChars))).toBe('too-large');
    expect(reasonOf(2n ** 300_000n)).toBe('too-large');
    // A DAG: 2^30 paths through 30 shared objects is refused after 10,000 values, not walked.
    let dag: unknown = 1;
    for (let i = 0; i < 30; i += 1) dag = { l: dag, r: dag };
    const started = performance.now();
    expect(reasonOf(dag)).toBe('too-large');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('hashes a long canonical text into a bounded key that cannot collide with a plain one', () => {
    const key = paramKey({ text: 'x'.repeat(1000) });
    expect(key).toMatch(/^#[A-Za-z0-9_-]{43}$/);
    expect(paramKey({ text: 'x'.repeat(1001) })).not.toBe(key);
  });
});
