import { CodecError } from '../errors.js';
import { isValidTag } from '../keys/tags.js';
import { compress, decodeValue, decompress, encodeValue } from './codec.js';

/**
 * One cached entry as stored in Redis:
 *
 *   byte 0      format version (2)
 *   byte 1      flags: bit 0 = payload deflated (other bits 0)
 *   bytes 2..   header JSON, then "\n", then the payload (the value in codec form)
 *
 * The header holds the key the entry was filled under, when the entry stops being fresh, how long
 * it may be served stale, and the generation token of each of its tags as read *before* its loader
 * ran. The key binds the entry to its place: a copy of another key's entry (another parameter set,
 * another entity, another schema version or namespace — all part of the key) is a mismatch, never
 * a hit. The whole key rather than a hash of it: the reader already holds the key, so checking it
 * is one string comparison, where a hash would cost a digest on every read; it is at most ~230
 * characters (long parameter parts are hashed in the key already) and cannot collide.
 *
 * Format 1 (no key in the header) is read as unknown, hence a miss that the next fill overwrites.
 */
export const ENTRY_FORMAT = 2;
const NEWLINE = 0x0a;

export interface EntryHeader {
  /** The Redis key the entry belongs to. */
  readonly key: string;
  /** Epoch ms after which the entry is no longer fresh. */
  readonly freshUntil: number;
  /** Epoch ms after which the entry may not even be served stale. */
  readonly staleUntil: number;
  /** Tag → generation token (null: the tag had never been invalidated). */
  readonly tags: Readonly<Record<string, string | null>>;
}

export type ReadHeader = EntryHeader & { readonly payloadOffset: number; readonly compressed: boolean };

export function encodeEntry(header: EntryHeader, value: unknown, compressAboveBytes: number): Buffer {
  const { bytes, compressed } = compress(encodeValue(value), compressAboveBytes);
  const head = Buffer.from(JSON.stringify({ k: header.key, f: header.freshUntil, s: header.staleUntil, t: header.tags }), 'utf8');
  const out = Buffer.allocUnsafe(2 + head.length + 1 + bytes.length);
  out[0] = ENTRY_FORMAT;
  out[1] = compressed ? 1 : 0;
  head.copy(out, 2);
  out[2 + head.length] = NEWLINE;
  bytes.copy(out, 3 + head.length);
  return out;
}

/**
 * Reads only the header: enough to decide freshness before paying for the payload. Throws
 * `CodecError` for anything but a well-formed header of this format whose tags all follow the tag
 * rules — a header the cache cannot trust is never half-used (its tags never reach a tag key).
 */
export function decodeHeader(bytes: Buffer): ReadHeader {
  if (bytes.length < 4 || bytes[0] !== ENTRY_FORMAT) throw new CodecError('Unknown entry format.');
  const flags = bytes[1] ?? 0;
  if ((flags & ~1) !== 0) throw new CodecError('Unknown entry flags.');
  const end = bytes.indexOf(NEWLINE, 2);
  if (end < 0) throw new CodecError('Truncated entry header.');
  let head: unknown;
  try {
    head = JSON.parse(bytes.toString('utf8', 2, end));
  } catch (error) {
    throw new CodecError('Malformed entry header.', { cause: error });
  }
  if (typeof head !== 'object' || head === null || Array.isArray(head)) throw new CodecError('Malformed entry header.');
  const { k, f, s, t } = head as { k?: unknown; f?: unknown; s?: unknown; t?: unknown };
  if (typeof k !== 'string' || typeof f !== 'number' || typeof s !== 'number' || !Number.isFinite(f) || !Number.isFinite(s)) {
    throw new CodecError('Malformed entry header.');
  }
  if (typeof t !== 'object' || t === null || Array.isArray(t)) throw new CodecError('Malformed entry header.');
  for (const [tag, token] of Object.entries(t)) {
    if (!isValidTag(tag) || (token !== null && typeof token !== 'string')) throw new CodecError('Entry header with an unusable tag.');
  }
  return { key: k, freshUntil: f, staleUntil: s, tags: t as Record<string, string | null>, payloadOffset: end + 1, compressed: flags === 1 };
}

export function decodePayload(bytes: Buffer, header: { payloadOffset: number; compressed: boolean }): unknown {
  return decodeValue(decompress(bytes.subarray(header.payloadOffset), header.compressed));
}
