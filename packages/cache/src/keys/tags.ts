import { CacheKeyError } from '../errors.js';

/**
 * The tag rules, checked once at the edge (a read's `tags`, a fill's `valueTags`, `invalidate()`,
 * and a cached entry's header before the cache trusts it):
 *
 * - a tag is a string of 1 to `MAX_TAG_LENGTH` UTF-16 code units;
 * - it is well-formed: no lone surrogate (`'\ud800'` is valid JSON but no text, and cannot be
 *   percent-encoded);
 * - any other character is allowed (`:`, `{`, `}`, `#`, `%`, spaces, emoji): the tag key encodes it.
 *
 * Every valid tag has a tag key (`tagKey` is total on them) and two tags share a key only when they
 * are equal (the encoding is injective).
 */
export const MAX_TAG_LENGTH = 1024;

// Node 20 has String.prototype.isWellFormed (ES2024); the ES2023 lib only lacks its type.
const nativeWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
const LONE_SURROGATE = /\p{Cs}/u;

/** Whether a string has no lone surrogate. */
function isWellFormed(text: string): boolean {
  return nativeWellFormed ? nativeWellFormed.call(text) : !LONE_SURROGATE.test(text);
}

/** Whether `tag` follows the tag rules; never throws. */
export function isValidTag(tag: unknown): tag is string {
  return typeof tag === 'string' && tag.length > 0 && tag.length <= MAX_TAG_LENGTH && isWellFormed(tag);
}

/**
 * Returns the tag when it follows the tag rules, else throws `CacheKeyError` (code `E_INVALID_KEY`,
 * reason `invalid-tag`). The message says what is wrong (kind, length, position) and never
 * contains the tag itself.
 */
export function checkTag(tag: unknown, position?: number): string {
  if (isValidTag(tag)) return tag;
  const which = position === undefined ? 'A tag' : `Tag #${position + 1}`;
  let problem: string;
  if (typeof tag !== 'string') problem = `is ${kindOf(tag)}, not a string`;
  else if (tag.length === 0) problem = 'is empty';
  else if (tag.length > MAX_TAG_LENGTH) problem = `has ${tag.length} characters`;
  else problem = 'contains a lone surrogate (it is not well-formed text)';
  throw new CacheKeyError(`${which} ${problem}; a tag must be well-formed text of 1-${MAX_TAG_LENGTH} characters.`, { reason: 'invalid-tag' });
}

/**
 * Checks a list of tags (a write's tags before its transaction commits, an invalidation's): an
 * array whose every item follows the tag rules. Returns a copy, read once, so a list that changes
 * under us cannot slip an unchecked tag through; throws `CacheKeyError` otherwise.
 */
export function assertTags(tags: unknown): string[] {
  try {
    if (!Array.isArray(tags)) throw new CacheKeyError(`Tags must be an array of strings; got ${kindOf(tags)}.`, { reason: 'invalid-tag' });
    const out: string[] = [];
    for (let i = 0; i < tags.length; i += 1) out.push(checkTag(tags[i], i));
    return out;
  } catch (error) {
    if (error instanceof CacheKeyError) throw error;
    // A revoked proxy, a throwing getter: the list cannot even be read.
    throw new CacheKeyError('The tags could not be read (reading them threw); tags must be an array of strings.', { reason: 'unreadable' });
  }
}

/** What a value is, without its value: `a number`, `null`, `an object that is not an array`. */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object that is not an array';
  return `a ${typeof value}`;
}
