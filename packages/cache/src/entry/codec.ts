import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { CodecError } from '../errors.js';

/**
 * Values go to Redis as JSON with tagged types, so what comes back is what went in: Date, BigInt,
 * Buffer / Uint8Array, Map, Set, undefined fields, NaN / ±Infinity / -0 round-trip exactly, and
 * strings (MySQL DECIMAL columns among them) are never touched. An object that happens to have the
 * tag property itself is escaped, so no user value can be mistaken for a tagged one.
 */
const TAG = '$cf';

type Tagged =
  | { $cf: 'Date'; v: number | string | null }
  | { $cf: 'BigInt'; v: string }
  | { $cf: 'Bytes'; v: string; b?: 1 }
  | { $cf: 'Map'; v: unknown[] }
  | { $cf: 'Set'; v: unknown[] }
  | { $cf: 'undef' }
  | { $cf: 'num'; v: 'NaN' | 'Infinity' | '-Infinity' | '-0' }
  | { $cf: 'obj'; v: Record<string, unknown> };

function toWire(value: unknown, seen: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return Object.is(value, -0) ? { [TAG]: 'num', v: '-0' } : value;
      return { [TAG]: 'num', v: String(value) };
    case 'bigint':
      return { [TAG]: 'BigInt', v: value.toString() };
    case 'undefined':
      return { [TAG]: 'undef' };
    case 'object': {
      if (value === null) return null;
      if (seen.has(value)) throw new CodecError('The value has a cycle; only trees can be cached.');
      seen.add(value);
      try {
        if (value instanceof Date) {
          // Epoch ms (null: an invalid Date): reviving a number is several times cheaper than parsing ISO text.
          const time = value.getTime();
          return { [TAG]: 'Date', v: Number.isNaN(time) ? null : time };
        }
        if (Buffer.isBuffer(value)) return { [TAG]: 'Bytes', v: value.toString('base64'), b: 1 };
        if (value instanceof Uint8Array) return { [TAG]: 'Bytes', v: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
        if (Array.isArray(value)) return value.map((item) => toWire(item, seen));
        if (value instanceof Map) return { [TAG]: 'Map', v: [...value].map(([k, v]) => [toWire(k, seen), toWire(v, seen)]) };
        if (value instanceof Set) return { [TAG]: 'Set', v: [...value].map((item) => toWire(item, seen)) };
        const out: Record<string, unknown> = {};
        for (const key of Object.keys(value)) assign(out, key, toWire((value as Record<string, unknown>)[key], seen));
        return Object.hasOwn(out, TAG) ? { [TAG]: 'obj', v: out } : out;
      } finally {
        seen.delete(value);
      }
    }
    default:
      throw new CodecError(`Values of type ${typeof value} cannot be cached.`);
  }
}

/** Sets an own property, even one named `__proto__` (a plain assignment would replace the prototype). */
function assign(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * Revives tagged values in freshly parsed JSON, in place: plain objects and arrays are kept, only
 * tagged objects are replaced. The input must be owned by the caller (it is, straight from JSON.parse).
 */
function fromWire(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const item: unknown = value[i];
      if (item !== null && typeof item === 'object') value[i] = fromWire(item);
    }
    return value;
  }
  const record = value as Record<string, unknown>;
  if (!Object.hasOwn(record, TAG)) {
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (item !== null && typeof item === 'object') assign(record, key, fromWire(item));
    }
    return record;
  }
  const tagged = record as Tagged;
  switch (tagged.$cf) {
    case 'Date': {
      // A number (epoch ms) or null from this codec; ISO text (or 'Invalid') from keys and older entries.
      const v = tagged.v;
      return new Date(typeof v === 'number' ? v : v === null || v === 'Invalid' ? Number.NaN : v);
    }
    case 'BigInt':
      return BigInt(tagged.v);
    case 'Bytes': {
      const bytes = Buffer.from(tagged.v, 'base64');
      return tagged.b === 1 ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    case 'Map':
      return new Map((tagged.v as [unknown, unknown][]).map(([k, v]) => [fromWire(k), fromWire(v)]));
    case 'Set':
      return new Set(tagged.v.map(fromWire));
    case 'undef':
      return undefined;
    case 'num':
      return tagged.v === '-0' ? -0 : Number(tagged.v);
    case 'obj':
      // An object that had the tag property itself: its fields, revived (the tag key is data here).
      for (const key of Object.keys(tagged.v)) {
        const item = tagged.v[key];
        if (item !== null && typeof item === 'object') assign(tagged.v, key, fromWire(item));
      }
      return tagged.v;
    default:
      throw new CodecError('Unknown tagged value in a cached entry.');
  }
}

/** The text form of a value, and whether it holds tagged values (the reader then revives them). */
export interface EncodedValue {
  readonly json: string;
  readonly tagged: boolean;
}

/** Text form of a value: JSON with tagged types. (Keys use the stricter canonical form of keys/canonical.ts.) */
export function encodeValue(value: unknown): string {
  return JSON.stringify(toWire(value, new Set()));
}

/** The text form of a value and whether it holds tagged values, for an entry's flags. */
export function encodeEntryValue(value: unknown): EncodedValue {
  const json = encodeValue(value);
  return { json, tagged: json.includes('"$cf"') };
}

/**
 * The value of `text`. `tagged` (an entry's flag) says whether it holds tagged values; when it is
 * unknown, the text is scanned for them.
 */
export function decodeValue(text: string, tagged?: boolean): unknown {
  const parsed: unknown = JSON.parse(text);
  // Every tagged value is an object with a "$cf" key: text without it is plain JSON already.
  return (tagged ?? text.includes('"$cf"')) ? fromWire(parsed) : parsed;
}

/** Deflate, when worth it. Returns the bytes and whether they are compressed. */
export function compress(text: string, aboveBytes: number): { bytes: Buffer; compressed: boolean } {
  const raw = Buffer.from(text, 'utf8');
  if (raw.length <= aboveBytes) return { bytes: raw, compressed: false };
  const packed = deflateRawSync(raw);
  return packed.length < raw.length ? { bytes: packed, compressed: true } : { bytes: raw, compressed: false };
}

export function decompress(bytes: Buffer, compressed: boolean): string {
  return (compressed ? inflateRawSync(bytes) : bytes).toString('utf8');
}
