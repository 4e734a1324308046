import { CodecError } from '../errors.js';
import { isValidTag, MAX_TAG_LENGTH } from '../keys/tags.js';
import { compress, decodeValue, decompress, encodeEntryValue } from './codec.js';

/**
 * One cached entry as stored in Redis (format 3), a fixed-width binary header and the payload:
 *
 *   byte  0        format version (3)
 *   byte  1        flags: bit 0 = payload deflated, bit 1 = payload holds tagged values (codec.ts)
 *   bytes 2..9     freshUntil, epoch ms, float64 LE
 *   bytes 10..17   staleUntil, epoch ms, float64 LE
 *   bytes 18..21   loadMs: how long the load that produced the value took, uint32 LE
 *   bytes 22..23   key length in bytes, uint16 LE; then the key, UTF-8
 *   2 bytes        tag count, uint16 LE; then per tag: uint16 length + UTF-8 tag,
 *                  uint16 length + token (0xFFFF: no token)
 *   the rest       the payload (the value in codec form)
 *
 * The header holds the key the entry was filled under, when the entry stops being fresh, how long
 * it may be served stale, how long its load took (refresh-ahead weighs by it), and the generation
 * token of each of its tags as read *before* its loader ran. The key binds the entry to its place:
 * a copy of another key's entry (another parameter set, entity, schema version or namespace — all
 * part of the key) is a mismatch, never a hit. The whole key rather than a hash of it: the reader
 * already holds the key, so checking it is one string comparison and cannot collide.
 *
 * Binary rather than JSON: a hit decodes the header on every read, and reading two floats and a
 * few length-prefixed strings costs a fraction of a `JSON.parse`; decoded UTF-8 is always
 * well-formed text, so a tag only needs its length checked against the tag rules.
 *
 * Format 2 (a JSON header, no load time) is still read, so entries written by the previous release
 * stay hits while both run (a canary deploy); format 1 and anything else is unknown, hence a miss
 * that the next fill overwrites.
 */
export const ENTRY_FORMAT = 3;
const LEGACY_FORMAT = 2;
const DEFLATED = 1;
const TAGGED = 2;
const NO_TOKEN = 0xffff;
const FIXED = 24;
const MAX_U16 = 0xffff;
const MAX_LOAD_MS = 0xffffffff;

export interface EntryHeader {
  /** The Redis key the entry belongs to. */
  readonly key: string;
  /** Epoch ms after which the entry is no longer fresh. */
  readonly freshUntil: number;
  /** Epoch ms after which the entry may not even be served stale. */
  readonly staleUntil: number;
  /** How long the load that produced the value took, in ms (0 when unknown). */
  readonly loadMs: number;
  /** The entry's tags, each valid (keys/tags.ts). */
  readonly tags: readonly string[];
  /** The generation token of each tag, in the order of `tags`, as read before the load. */
  readonly tokens: ReadonlyArray<string | null>;
}

/** A header as read: where the payload starts, whether it is deflated, and whether it holds tagged values (undefined: unknown). */
export type ReadHeader = EntryHeader & { readonly payloadOffset: number; readonly compressed: boolean; readonly tagged: boolean | undefined };

export function encodeEntry(header: EntryHeader, value: unknown, compressAboveBytes: number): Buffer {
  const text = encodeEntryValue(value);
  const { bytes, compressed } = compress(text.json, compressAboveBytes);
  const keyLength = Buffer.byteLength(header.key);
  let size = FIXED + keyLength + 2 + bytes.length;
  const tagLengths = header.tags.map((tag) => Buffer.byteLength(tag));
  const tokenLengths = header.tokens.map((token) => (token === null ? 0 : Buffer.byteLength(token)));
  for (let i = 0; i < tagLengths.length; i += 1) size += 4 + (tagLengths[i] ?? 0) + (tokenLengths[i] ?? 0);
  if (keyLength > MAX_U16 || header.tags.length > MAX_U16 || tokenLengths.some((length) => length >= NO_TOKEN)) {
    throw new CodecError('An entry header field is too long.');
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = ENTRY_FORMAT;
  out[1] = (compressed ? DEFLATED : 0) | (text.tagged ? TAGGED : 0);
  out.writeDoubleLE(header.freshUntil, 2);
  out.writeDoubleLE(header.staleUntil, 10);
  out.writeUInt32LE(Math.min(MAX_LOAD_MS, Math.max(0, Math.round(header.loadMs))), 18);
  out.writeUInt16LE(keyLength, 22);
  let at = FIXED + out.write(header.key, FIXED);
  at = out.writeUInt16LE(header.tags.length, at);
  header.tags.forEach((tag, i) => {
    at = out.writeUInt16LE(tagLengths[i] ?? 0, at);
    at += out.write(tag, at);
    const token = header.tokens[i] ?? null;
    at = out.writeUInt16LE(token === null ? NO_TOKEN : (tokenLengths[i] ?? 0), at);
    if (token !== null) at += out.write(token, at);
  });
  bytes.copy(out, at);
  return out;
}

/**
 * Reads only the header: enough to decide freshness before paying for the payload. Throws
 * `CodecError` for anything but a well-formed header of a known format whose tags all follow the
 * tag rules — a header the cache cannot trust is never half-used (its tags never reach a tag key).
 */
export function decodeHeader(bytes: Buffer): ReadHeader {
  if (bytes[0] === LEGACY_FORMAT) return decodeLegacyHeader(bytes);
  if (bytes.length < FIXED + 2 || bytes[0] !== ENTRY_FORMAT) throw new CodecError('Unknown entry format.');
  const flags = bytes[1] ?? 0;
  if ((flags & ~(DEFLATED | TAGGED)) !== 0) throw new CodecError('Unknown entry flags.');
  const freshUntil = bytes.readDoubleLE(2);
  const staleUntil = bytes.readDoubleLE(10);
  if (!Number.isFinite(freshUntil) || !Number.isFinite(staleUntil)) throw new CodecError('Malformed entry header.');
  const loadMs = bytes.readUInt32LE(18);
  let at = FIXED + bytes.readUInt16LE(22);
  const key = slice(bytes, FIXED, at);
  const count = u16(bytes, at);
  at += 2;
  const tags = new Array<string>(count);
  const tokens = new Array<string | null>(count);
  for (let i = 0; i < count; i += 1) {
    const tagEnd = at + 2 + u16(bytes, at);
    const tag = slice(bytes, at + 2, tagEnd);
    if (tag.length === 0 || tag.length > MAX_TAG_LENGTH) throw new CodecError('Entry header with an unusable tag.');
    const tokenLength = u16(bytes, tagEnd);
    at = tagEnd + 2;
    if (tokenLength === NO_TOKEN) {
      tokens[i] = null;
    } else {
      tokens[i] = slice(bytes, at, at + tokenLength);
      at += tokenLength;
    }
    tags[i] = tag;
  }
  if (at > bytes.length) throw new CodecError('Truncated entry header.');
  return { key, freshUntil, staleUntil, loadMs, tags, tokens, payloadOffset: at, compressed: (flags & DEFLATED) !== 0, tagged: (flags & TAGGED) !== 0 };
}

/** The bytes `start..end` as text; `CodecError` when they run past the entry. */
function slice(bytes: Buffer, start: number, end: number): string {
  if (end > bytes.length) throw new CodecError('Truncated entry header.');
  return bytes.toString('utf8', start, end);
}

function u16(bytes: Buffer, at: number): number {
  if (at + 2 > bytes.length) throw new CodecError('Truncated entry header.');
  return bytes.readUInt16LE(at);
}

/** Format 2: a JSON header `{ k, f, s, t }`, then "\n", then the payload. */
function decodeLegacyHeader(bytes: Buffer): ReadHeader {
  const flags = bytes[1] ?? 0;
  if ((flags & ~DEFLATED) !== 0) throw new CodecError('Unknown entry flags.');
  const end = bytes.indexOf(0x0a, 2);
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
  const tags: string[] = [];
  const tokens: Array<string | null> = [];
  for (const [tag, token] of Object.entries(t)) {
    if (!isValidTag(tag) || (token !== null && typeof token !== 'string')) throw new CodecError('Entry header with an unusable tag.');
    tags.push(tag);
    tokens.push(token);
  }
  // Format 2 had no flag for tagged values: the payload is scanned for them (codec.ts).
  return { key: k, freshUntil: f, staleUntil: s, loadMs: 0, tags, tokens, payloadOffset: end + 1, compressed: flags === DEFLATED, tagged: undefined };
}

export function decodePayload(bytes: Buffer, header: Pick<ReadHeader, 'payloadOffset' | 'compressed' | 'tagged'>): unknown {
  const text = header.compressed ? decompress(bytes.subarray(header.payloadOffset), true) : bytes.toString('utf8', header.payloadOffset);
  return decodeValue(text, header.tagged);
}
