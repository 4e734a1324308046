import { compress, decodeValue, decompress, encodeValue } from './codec.js';
import { CodecError } from './errors.js';

/**
 * One cached entry as stored in Redis:
 *
 *   byte 0      format version (1)
 *   byte 1      flags: bit 0 = payload deflated
 *   bytes 2..   header JSON, then "\n", then the payload (the value in codec form)
 *
 * The header holds when the entry stops being fresh, how long it may be served stale, and the
 * generation token of each of its tags as read *before* its loader ran.
 */
const FORMAT = 1;
const NEWLINE = 0x0a;

export interface EntryHeader {
  /** Epoch ms after which the entry is no longer fresh. */
  readonly freshUntil: number;
  /** Epoch ms after which the entry may not even be served stale. */
  readonly staleUntil: number;
  /** Tag → generation token (null: the tag had never been invalidated). */
  readonly tags: Readonly<Record<string, string | null>>;
}

export interface DecodedEntry<T = unknown> extends EntryHeader {
  readonly value: T;
}

export function encodeEntry(header: EntryHeader, value: unknown, compressAboveBytes: number): Buffer {
  const { bytes, compressed } = compress(encodeValue(value), compressAboveBytes);
  const head = Buffer.from(JSON.stringify({ f: header.freshUntil, s: header.staleUntil, t: header.tags }), 'utf8');
  const out = Buffer.allocUnsafe(2 + head.length + 1 + bytes.length);
  out[0] = FORMAT;
  out[1] = compressed ? 1 : 0;
  head.copy(out, 2);
  out[2 + head.length] = NEWLINE;
  bytes.copy(out, 3 + head.length);
  return out;
}

/** Reads only the header: enough to decide freshness before paying for the payload. */
export function decodeHeader(bytes: Buffer): EntryHeader & { payloadOffset: number; compressed: boolean } {
  if (bytes.length < 4 || bytes[0] !== FORMAT) throw new CodecError('Unknown entry format.');
  const end = bytes.indexOf(NEWLINE, 2);
  if (end < 0) throw new CodecError('Truncated entry header.');
  const head = JSON.parse(bytes.toString('utf8', 2, end)) as { f?: unknown; s?: unknown; t?: unknown };
  if (typeof head.f !== 'number' || typeof head.s !== 'number' || typeof head.t !== 'object' || head.t === null) {
    throw new CodecError('Malformed entry header.');
  }
  return {
    freshUntil: head.f,
    staleUntil: head.s,
    tags: head.t as Record<string, string | null>,
    payloadOffset: end + 1,
    compressed: ((bytes[1] ?? 0) & 1) === 1,
  };
}

export function decodePayload(bytes: Buffer, header: { payloadOffset: number; compressed: boolean }): unknown {
  return decodeValue(decompress(bytes.subarray(header.payloadOffset), header.compressed));
}
