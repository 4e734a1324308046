import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CacheKeyError } from '../errors.js';
import { MAX_TAG_KEY_PART, tagKey } from './keys.js';
import { assertTags, checkTag, isValidTag, MAX_TAG_LENGTH } from './tags.js';

const SECRET = 'carol@secret.example';

function keyError(run: () => unknown): CacheKeyError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CacheKeyError);
    return error as CacheKeyError;
  }
  throw new Error('expected a CacheKeyError');
}

describe('the tag rules', () => {
  it('accept well-formed text of 1-1024 characters, whatever the characters', () => {
    for (const tag of [
      'product:42',
      'a',
      '__proto__',
      'constructor',
      '{}:#%?&=',
      ' ',
      '\u0000',
      '😀',
      'x'.repeat(MAX_TAG_LENGTH),
      '\ud83d\ude00'.repeat(512),
    ]) {
      expect(checkTag(tag)).toBe(tag);
      expect(isValidTag(tag)).toBe(true);
    }
  });

  it('refuse empty, too long, lone surrogates and non-strings with CacheKeyError (reason invalid-tag)', () => {
    for (const tag of ['', 'x'.repeat(MAX_TAG_LENGTH + 1), '\ud800', '\udfff', `user:${SECRET}\ud800`, '\udc00\ud800', 42, null, undefined, {}, ['a']]) {
      expect(isValidTag(tag)).toBe(false);
      const error = keyError(() => checkTag(tag));
      expect(error).toMatchObject({ code: 'E_INVALID_KEY', reason: 'invalid-tag' });
    }
  });

  it('say what is wrong — kind, length, position — never the tag itself', () => {
    expect(keyError(() => checkTag(`user:${SECRET}\ud800`)).message).toMatch(/lone surrogate/);
    expect(keyError(() => checkTag(`${SECRET}`.repeat(100))).message).toMatch(/has 2000 characters/);
    expect(keyError(() => assertTags(['ok', '', 'ok'])).message).toMatch(/^Tag #2 is empty/);
    for (const tag of [`user:${SECRET}\ud800`, SECRET.repeat(100)]) {
      expect(keyError(() => checkTag(tag)).message).not.toContain(SECRET);
      expect(keyError(() => tagKey('cf', tag)).message).not.toContain(SECRET);
    }
  });

  it('assertTags takes an array of valid tags, reads it once and returns a copy', () => {
    const tags = ['a', 'b'];
    const checked = assertTags(tags);
    expect(checked).toEqual(tags);
    expect(checked).not.toBe(tags);
    for (const bad of ['a', new Set(['a']), { 0: 'a', length: 1 }, null, undefined, [1], ['a', undefined]]) {
      expect(keyError(() => assertTags(bad)).reason).toBe('invalid-tag');
    }
    const { proxy, revoke } = Proxy.revocable(['a'], {});
    revoke();
    expect(keyError(() => assertTags(proxy)).reason).toBe('unreadable');
    const throwing = new Proxy(['a'], {
      get() {
        throw new Error(SECRET);
      },
    });
    const error = keyError(() => assertTags(throwing));
    expect(error.message).not.toContain(SECRET);
  });
});

describe('tag keys', () => {
  const validTag = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter(isValidTag);

  it('are total on valid tags, one hash tag each, and injective', () => {
    const seen = new Map<string, string>();
    fc.assert(
      fc.property(fc.oneof(validTag, validTag.map((t) => t.repeat(30).slice(0, MAX_TAG_LENGTH)).filter(isValidTag)), (tag) => {
        const key = tagKey('cf', tag);
        expect(key.startsWith('cf:t:{cf#')).toBe(true);
        expect(key.indexOf('{')).toBe(key.lastIndexOf('{'));
        expect(key.indexOf('}')).toBe(key.length - 1);
        const earlier = seen.get(key);
        if (earlier !== undefined) expect(earlier).toBe(tag);
        seen.set(key, tag);
      }),
      { numRuns: 2000 },
    );
  });

  it('percent-encode short tags, exactly as before, and hash long ones into a bounded key', () => {
    expect(tagKey('cf', 'product:42')).toBe('cf:t:{cf#product%3A42}');
    expect(tagKey('cf', '#x')).toBe('cf:t:{cf#%23x}');
    const long = 'é'.repeat(100); // 600 characters percent-encoded
    expect(encodeURIComponent(long).length).toBeGreaterThan(MAX_TAG_KEY_PART);
    const key = tagKey('cf', long);
    expect(key).toMatch(/^cf:t:\{cf##[A-Za-z0-9_-]{43}\}$/);
    expect(tagKey('cf', 'x'.repeat(MAX_TAG_LENGTH)).length).toBeLessThan(64);
    expect(tagKey('cf', 'x'.repeat(600))).not.toBe(tagKey('cf', 'x'.repeat(601)));
  });

  it('refuse invalid tags with CacheKeyError, never a URIError', () => {
    for (const tag of ['\ud800', 'a\udfffb', '', 'x'.repeat(MAX_TAG_LENGTH + 1)]) {
      expect(keyError(() => tagKey('cf', tag)).code).toBe('E_INVALID_KEY');
    }
  });
});
