import { decodeHeader, encodeEntry } from '../entry/entry.js';

/**
 * A real entry with its header's tags replaced — what someone with write access to Redis could
 * store — for tests of poisoned entries. `binary`: the current format; `legacy`: the previous JSON
 * header, which the cache still reads and whose text can hold what UTF-8 cannot (lone surrogates).
 * The payload is kept byte for byte.
 */
export function forgeEntryTags(entry: Buffer, tags: Readonly<Record<string, string | null>>, format: 'binary' | 'legacy' = 'binary'): Buffer {
  const header = decodeHeader(entry);
  const payload = entry.subarray(header.payloadOffset);
  if (format === 'binary') {
    // A header around a payload of `null` (4 bytes, never deflated), cut before it: not decoded, as a forged one need not decode.
    const shell = encodeEntry({ ...header, tags: Object.keys(tags), tokens: Object.values(tags) }, null, Number.POSITIVE_INFINITY);
    const head = shell.subarray(0, shell.length - 'null'.length);
    // The flags of the real payload (deflated, tagged values), the forged tags.
    head[1] = entry[1] ?? 0;
    return Buffer.concat([head, payload]);
  }
  const json = JSON.stringify({ k: header.key, f: header.freshUntil, s: header.staleUntil, t: tags });
  return Buffer.concat([Buffer.from([2, (entry[1] ?? 0) & 1]), Buffer.from(json), Buffer.from('\n'), payload]);
}
