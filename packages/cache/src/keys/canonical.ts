import { types } from 'node:util';
import { CacheKeyError } from '../errors.js';

/**
 * The canonical text of parameters, the part of a cache key that names one parameter set. It is
 * injective — two parameter sets get the same text only when they are equal data — or it refuses
 * the value with `CacheKeyError`. It is the codec's JSON with tagged types (so `decodeValue` reads
 * it back), with object keys sorted and Map entries and Set members sorted by their own text.
 *
 * Accepted: plain objects (prototype `Object.prototype` or `null`, own enumerable data properties
 * with string keys only), arrays without holes or extra properties, strings (any UTF-16, lone
 * surrogates escaped), numbers (NaN, ±Infinity and -0 tagged), bigints, booleans, null,
 * undefined, Date, Buffer, Uint8Array, Map and Set (order-insensitive: `new Set([1, 2])` and
 * `new Set([2, 1])` are the same key). Date, Map, Set, Buffer and Uint8Array must be exactly those
 * classes, without own properties of their own.
 *
 * Refused: boxed primitives (`new Number(1)`), sparse arrays, class instances, RegExp, URL, Error,
 * typed arrays other than Uint8Array, ArrayBuffer, DataView, Promise, functions, symbols, objects
 * with symbol keys, accessor or non-enumerable properties, proxies (revoked or not), anything that
 * throws while read, and values past `KEY_LIMITS`.
 */
export const KEY_LIMITS = Object.freeze({
  /** Containers (objects, arrays, Maps, Sets) nested at most this deep; the parameters object itself is level 1. */
  maxDepth: 32,
  /** Values in all (every container, key-value pair half and leaf counts one). */
  maxNodes: 10_000,
  /** Characters of canonical text (64 KiB); longer than 128 characters, a key holds its SHA-256 instead. */
  maxChars: 64 * 1024,
});

interface Budget {
  nodes: number;
  chars: number;
}

const ACCEPTED = 'plain objects, arrays without holes, strings, numbers, bigints, booleans, null, undefined, Date, Buffer, Uint8Array, Map and Set';

/** The canonical text of `value`, or `CacheKeyError` (never another error) when it cannot be encoded injectively. */
export function canonicalize(value: unknown): string {
  const budget: Budget = { nodes: 0, chars: 0 };
  let text: string;
  try {
    text = encode(value, 0, budget);
  } catch (error) {
    if (error instanceof CacheKeyError) throw error;
    // A getter or a proxy trap threw; its error may carry data, so it is not kept.
    throw new CacheKeyError('The parameters could not be read: reading them threw (a getter or a proxy). Pass plain data.', { reason: 'unreadable' });
  }
  if (text.length > KEY_LIMITS.maxChars) throw tooLarge();
  return text;
}

function tooLarge(): CacheKeyError {
  return new CacheKeyError(
    `The parameters are too large for a cache key: more than ${KEY_LIMITS.maxNodes} values or ${KEY_LIMITS.maxChars} characters of canonical text.`,
    { reason: 'too-large' },
  );
}

function unsupported(kind: string, depth: number): CacheKeyError {
  return new CacheKeyError(`A parameter value (${kind}, at depth ${depth}) cannot be part of a cache key; accepted are ${ACCEPTED}.`, {
    reason: 'unsupported-type',
  });
}

function spend(budget: Budget, chars: number): void {
  budget.chars += chars;
  if (budget.chars > KEY_LIMITS.maxChars) throw tooLarge();
}

/** `depth`: how many containers enclose `value`. */
function encode(value: unknown, depth: number, budget: Budget): string {
  budget.nodes += 1;
  if (budget.nodes > KEY_LIMITS.maxNodes) throw tooLarge();
  switch (typeof value) {
    case 'string':
      spend(budget, value.length + 2);
      return JSON.stringify(value);
    case 'number':
      if (Number.isFinite(value)) return Object.is(value, -0) ? '{"$cf":"num","v":"-0"}' : String(value);
      return `{"$cf":"num","v":"${String(value)}"}`;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return '{"$cf":"undef"}';
    case 'bigint': {
      // Hex is linear to print; decimal is not. ~1.2 decimal digits per hex digit.
      spend(budget, Math.ceil((value < 0n ? -value : value).toString(16).length * 1.21) + 20);
      return `{"$cf":"BigInt","v":"${value.toString()}"}`;
    }
    case 'object':
      return value === null ? 'null' : encodeObject(value, depth + 1, budget);
    case 'function':
      throw unsupported('a function', depth);
    default:
      throw unsupported(`a ${typeof value}`, depth);
  }
}

/** `level`: this container's nesting level (the parameters object is 1). */
function encodeObject(value: object, level: number, budget: Budget): string {
  if (level > KEY_LIMITS.maxDepth) {
    throw new CacheKeyError(`The parameters nest deeper than ${KEY_LIMITS.maxDepth} levels; a cache key allows at most ${KEY_LIMITS.maxDepth}.`, {
      reason: 'too-deep',
    });
  }
  if (types.isProxy(value)) throw unsupported('a proxy', level - 1);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return encodeRecord(value, level, budget);
  if (proto === Array.prototype && Array.isArray(value)) return encodeArray(value, level, budget);
  if (proto === Date.prototype && types.isDate(value) && Reflect.ownKeys(value).length === 0) {
    const time = Date.prototype.getTime.call(value);
    return `{"$cf":"Date","v":"${Number.isNaN(time) ? 'Invalid' : Date.prototype.toISOString.call(value)}"}`;
  }
  if ((proto === Buffer.prototype || proto === Uint8Array.prototype) && types.isUint8Array(value))
    return encodeBytes(value, proto === Buffer.prototype, level, budget);
  if (proto === Map.prototype && types.isMap(value) && Reflect.ownKeys(value).length === 0) return encodeMap(value, level, budget);
  if (proto === Set.prototype && types.isSet(value) && Reflect.ownKeys(value).length === 0) return encodeSet(value, level, budget);
  throw unsupported(kindOf(value), level - 1);
}

function encodeRecord(value: object, level: number, budget: Budget): string {
  const names = Reflect.ownKeys(value);
  for (const key of names) if (typeof key !== 'string') throw unsupported('an object with symbol keys', level - 1);
  if (names.length > 1) names.sort();
  let escaped = false;
  let body = '{';
  for (let i = 0; i < names.length; i += 1) {
    const name = names[i] as string;
    spend(budget, name.length + 4);
    if (name === '$cf') escaped = true;
    body += `${i === 0 ? '' : ','}${JSON.stringify(name)}:${encode(ownData(value, name, level), level, budget)}`;
  }
  body += '}';
  // An object with the tag property itself is wrapped, so it can never read as a tagged value.
  return escaped ? `{"$cf":"obj","v":${body}}` : body;
}

/** The value of an own enumerable data property; a getter is never called. */
function ownData(target: object, name: string, level: number): unknown {
  const descriptor = Reflect.getOwnPropertyDescriptor(target, name);
  if (descriptor === undefined) throw unsupported('a sparse array', level - 1);
  if (!('value' in descriptor)) throw unsupported('an object with an accessor property', level - 1);
  if (!descriptor.enumerable) throw unsupported('an object with a non-enumerable property', level - 1);
  return descriptor.value;
}

function encodeArray(value: unknown[], level: number, budget: Budget): string {
  const length = value.length;
  if (length > KEY_LIMITS.maxNodes) throw tooLarge();
  const parts: string[] = [];
  for (let i = 0; i < length; i += 1) parts.push(encode(ownData(value, String(i), level), level, budget));
  // Indices and `length`, nothing else.
  if (Reflect.ownKeys(value).length !== length + 1) throw unsupported('an array with extra properties', level - 1);
  return `[${parts.join(',')}]`;
}

function encodeBytes(value: Uint8Array, isBuffer: boolean, level: number, budget: Budget): string {
  spend(budget, Math.ceil(value.byteLength / 3) * 4 + 30);
  if (Reflect.ownKeys(value).length !== value.length) throw unsupported('a byte array with extra properties', level - 1);
  const base64 = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return isBuffer ? `{"$cf":"Bytes","b":1,"v":"${base64}"}` : `{"$cf":"Bytes","v":"${base64}"}`;
}

function encodeMap(value: Map<unknown, unknown>, level: number, budget: Budget): string {
  if (value.size > KEY_LIMITS.maxNodes) throw tooLarge();
  const entries: string[] = [];
  for (const [k, v] of Map.prototype.entries.call(value)) entries.push(`[${encode(k, level, budget)},${encode(v, level, budget)}]`);
  return `{"$cf":"Map","v":[${entries.sort().join(',')}]}`;
}

function encodeSet(value: Set<unknown>, level: number, budget: Budget): string {
  if (value.size > KEY_LIMITS.maxNodes) throw tooLarge();
  const members: string[] = [];
  for (const item of Set.prototype.values.call(value)) members.push(encode(item, level, budget));
  return `{"$cf":"Set","v":[${members.sort().join(',')}]}`;
}

/** What a refused object is, from its internal type only: never its contents or a name it chose. */
function kindOf(value: object): string {
  if (types.isBoxedPrimitive(value)) return 'a boxed primitive such as new Number(1)';
  if (Array.isArray(value)) return 'an array subclass';
  if (types.isDate(value) || types.isMap(value) || types.isSet(value)) return 'a Date, Map or Set subclass or one with own properties';
  if (types.isRegExp(value)) return 'a RegExp';
  if (types.isNativeError(value)) return 'an Error';
  if (types.isTypedArray(value)) return 'a typed array other than Uint8Array';
  if (types.isAnyArrayBuffer(value) || types.isDataView(value)) return 'an ArrayBuffer or DataView';
  if (types.isPromise(value)) return 'a Promise';
  if (types.isWeakMap(value) || types.isWeakSet(value)) return 'a WeakMap or WeakSet';
  if (value instanceof URL) return 'a URL';
  return 'a class instance (its prototype is not Object.prototype or null)';
}
