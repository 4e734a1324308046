/**
 * Hostile input for the property tests under `test/security/`: parameter values of every kind a
 * caller can hand the cache (the supported ones, and the exotic ones the key encoder must refuse),
 * hostile tags, and a reference model of "equal parameters" written independently of the encoder.
 */
import { isDeepStrictEqual, types } from 'node:util';
import fc from 'fast-check';

/** A class whose instances must never be mistaken for plain objects. */
class Point {
  constructor(
    readonly x: unknown,
    readonly y: unknown,
  ) {}
}

const revoked = (target: object): object => {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
};

const withSymbolKey = (value: unknown): object => ({ [Symbol('k')]: value });
const withGetter = (value: unknown): object =>
  Object.defineProperty({}, 'n', {
    get: () => value,
    enumerable: true,
  });
const withThrowingGetter = (): object =>
  Object.defineProperty({}, 'n', {
    get: () => {
      throw new Error('getter: secret-value');
    },
    enumerable: true,
  });
const withHiddenKey = (value: unknown): object => Object.defineProperty({}, 'hidden', { value, enumerable: false });
const arrayWithExtra = (items: unknown[], extra: unknown): unknown[] => Object.assign([...items], { extra });
const nullProto = (record: Record<string, unknown>): object => Object.assign(Object.create(null) as object, record);

/** Strings with every UTF-16 unit, lone surrogates among them. */
export const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: 'binary-ascii', maxLength: 12 }),
  fc.constantFrom('\ud800', '\udfff', 'a\ud800b', '\udc00\ud800', '😀', '__proto__', '$cf', 'constructor', '', '0', '01', '-0'),
);

/** Values the key encoder accepts (but for its size and depth limits). */
const supportedLeaf = fc.oneof(
  hostileString,
  fc.double(),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e21),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt({ min: -5n, max: 5n }),
  fc.date({ noInvalidDate: false, min: new Date(0), max: new Date(3000) }),
  fc.uint8Array({ maxLength: 3 }).map((bytes) => Buffer.from(bytes)),
  fc.uint8Array({ maxLength: 3 }),
);

/** Values the key encoder must refuse: boxed primitives, class instances and other exotic objects. */
const exoticLeaf = fc.oneof(
  fc.integer({ min: 0, max: 3 }).map((n) => new Number(n)),
  fc.string({ maxLength: 2 }).map((s) => new String(s)),
  fc.boolean().map((b) => new Boolean(b)),
  fc.bigInt({ min: 0n, max: 3n }).map((n) => Object(n) as object),
  fc.constant(Object(Symbol('s')) as object),
  fc.constantFrom(Symbol('a'), Symbol.for('b')),
  fc.constantFrom(
    () => 1,
    () => 2,
  ),
  fc.string({ maxLength: 3 }).map((s) => new RegExp(s.replace(/[^a-z]/g, ''), 'g')),
  fc.constantFrom('https://a.example/', 'https://b.example/x').map((u) => new URL(u)),
  fc.string({ maxLength: 3 }).map((m) => new Error(m)),
  fc.integer({ min: 0, max: 3 }).map((n) => new Int16Array([n])),
  fc.integer({ min: 0, max: 3 }).map((n) => new Float64Array([n])),
  fc.integer({ min: 0, max: 3 }).map((n) => new Uint8ClampedArray([n])),
  fc.integer({ min: 0, max: 3 }).map((n) => new Uint8Array([n]).buffer),
  fc.integer({ min: 0, max: 3 }).map((n) => new DataView(new Uint8Array([n]).buffer)),
  fc.integer({ min: 0, max: 3 }).map((n) => new Point(n, n)),
  fc.constant(Promise.resolve(1)),
  fc.constant(new WeakMap()),
  fc.integer({ min: 0, max: 3 }).map(withSymbolKey),
  fc.integer({ min: 0, max: 3 }).map(withGetter),
  fc.constant(0).map(withThrowingGetter),
  fc.integer({ min: 0, max: 3 }).map(withHiddenKey),
  // Held in a plain object: fast-check itself probes every generated value (`in`), which a revoked proxy refuses.
  fc.constant(0).map(() => ({ held: revoked({}) })),
  fc.constant(0).map(() => ({ held: revoked([]) })),
  fc.integer({ min: 0, max: 3 }).map((n) => new Proxy({ n }, {})),
  fc.integer({ min: 0, max: 3 }).map((n) => arrayWithExtra([n], n)),
  fc.sparseArray(fc.integer({ min: 0, max: 2 }), { maxLength: 3, noTrailingHole: false }).filter((a) => Object.keys(a).length < a.length),
  fc.integer({ min: 0, max: 3 }).map((n) => Object.assign(new Date(n), { extra: n })),
  fc.integer({ min: 0, max: 3 }).map((n) => Object.assign(new Map(), { extra: n })),
);

const key = fc.oneof(hostileString, fc.constantFrom('$cf', 'v', '__proto__', '0', '1', '10', 'n', 'id'));

/** A tree of parameter values mixing supported and exotic kinds, shallow and small, so pairs collide often. */
export const paramValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    supportedLeaf,
    exoticLeaf,
    tie('array'),
    tie('object'),
    tie('map'),
    tie('set'),
    tie('nullProto'),
  ),
  array: fc.array(tie('node'), { maxLength: 3 }),
  object: fc.dictionary(key, tie('node'), { maxKeys: 3, noNullPrototype: true }),
  nullProto: fc.dictionary(key, tie('node'), { maxKeys: 2, noNullPrototype: true }).map(nullProto),
  map: fc.array(fc.tuple(tie('node'), tie('node')), { maxLength: 3 }).map((entries) => new Map(entries)),
  set: fc.array(tie('node'), { maxLength: 3 }).map((items) => new Set(items)),
})).node;

/** `{ a: { a: ... } }`, `depth` objects deep. */
export function nested(depth: number, leaf: unknown = 1): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
}

const DEEP = [
  nested(10_000),
  nested(33),
  nested(32),
  (() => {
    let value: unknown = [];
    for (let i = 0; i < 10_000; i += 1) value = [value];
    return value;
  })(),
];

/** Parameters, with now and then a very deep or very large one. */
export const hostileParams: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: paramValue },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 60 }).map((depth) => nested(depth)) },
  { weight: 1, arbitrary: fc.constantFrom(...DEEP) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 200_000 }).map((length) => ({ text: 'x'.repeat(length) })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((length) => Array.from({ length }, (_, i) => i)) },
);

/** Tags that break the tag rules: empty, longer than 1024 units, or with a lone surrogate. */
export const invalidTag: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc.integer({ min: 1025, max: 20_000 }).map((length) => 'x'.repeat(length)),
  fc
    .tuple(fc.string({ maxLength: 10 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ maxLength: 10 }))
    .map(([before, unit, after]) => `${before}${String.fromCharCode(unit)}${after}`),
);

/** Tags an attacker can make a `tags` function produce: any units, lone surrogates, empty, very long. */
export const hostileTag: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  // Long ones built by repetition: generating each unit of a 2,000-unit string is slow.
  fc
    .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), fc.integer({ min: 500, max: 2000 }))
    .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length)),
  fc.constantFrom('', '\ud800', 'user:\udfff', '\ud800'.repeat(600), 'x'.repeat(600), 'x'.repeat(1025), '{}', '}{', '%41', 'A', '__proto__', ':', '#'),
  fc.integer({ min: 1, max: 100_000 }).map((length) => 'y'.repeat(length)),
  invalidTag,
);

/** Marks a value the model does not support (an exotic object somewhere inside). */
export const UNSUPPORTED = Symbol('unsupported');

class DateModel {
  constructor(readonly time: string) {}
}

/**
 * The reference model of parameters: the value itself, with null-prototype objects made plain and
 * Dates made comparable, or UNSUPPORTED when anything inside is not a plain data value. Two
 * supported values are equal parameters exactly when their models are deep-strict-equal (Maps and
 * Sets compare regardless of order, -0 differs from 0, NaN equals NaN).
 */
export function model(value: unknown): unknown {
  try {
    return walk(value);
  } catch {
    return UNSUPPORTED;
  }
}

class Unsupported extends Error {}

function walk(value: unknown): unknown {
  if (value === null) return null;
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'bigint':
    case 'boolean':
    case 'undefined':
      return value;
    case 'object':
      break;
    default:
      throw new Unsupported();
  }
  if (types.isProxy(value)) throw new Unsupported();
  const proto: unknown = Object.getPrototypeOf(value);
  const ownKeys = Reflect.ownKeys(value);
  if (proto === Date.prototype) {
    if (ownKeys.length > 0) throw new Unsupported();
    return new DateModel(String((value as Date).getTime()));
  }
  if (proto === Buffer.prototype || proto === Uint8Array.prototype) {
    if (ownKeys.length !== (value as Uint8Array).length) throw new Unsupported();
    return proto === Buffer.prototype ? Buffer.from(value as Buffer) : new Uint8Array(value as Uint8Array);
  }
  if (proto === Map.prototype) {
    if (ownKeys.length > 0) throw new Unsupported();
    return new Map([...(value as Map<unknown, unknown>)].map(([k, v]) => [walk(k), walk(v)]));
  }
  if (proto === Set.prototype) {
    if (ownKeys.length > 0) throw new Unsupported();
    return new Set([...(value as Set<unknown>)].map(walk));
  }
  if (proto === Array.prototype) {
    const array = value as unknown[];
    if (ownKeys.length !== array.length + 1) throw new Unsupported();
    return array.map((_, i) => walk(dataProperty(array, String(i))));
  }
  if (proto !== Object.prototype && proto !== null) throw new Unsupported();
  const out: Record<string, unknown> = {};
  for (const name of ownKeys) {
    if (typeof name !== 'string') throw new Unsupported();
    Object.defineProperty(out, name, { value: walk(dataProperty(value, name)), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function dataProperty(target: object, name: string): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(target, name);
  if (!descriptor || !('value' in descriptor) || !descriptor.enumerable) throw new Unsupported();
  return descriptor.value;
}

/** Whether two parameter values are equal under the model (both supported). */
export function sameParams(a: unknown, b: unknown): boolean {
  const left = model(a);
  const right = model(b);
  return left !== UNSUPPORTED && right !== UNSUPPORTED && isDeepStrictEqual(left, right);
}
