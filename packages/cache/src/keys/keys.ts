import { createHash } from 'node:crypto';
import { NAME } from '@cachefront/common';
import { CacheKeyError } from '../errors.js';
import { canonicalize } from './canonical.js';
import { checkTag } from './tags.js';

/**
 * Key layout. Every key of one entity shares the hash tag `{ns/entity}`, so its value and lease keys
 * sit in one Redis Cluster slot and can be used together in one Lua script or MGET:
 *
 *   value  cf:{cf/product}:3:v:[42]
 *   lease  cf:{cf/product}:3:l:[42]
 *   tag    cf:t:{cf#product%3A42}       (each tag in its own slot; tags cross entities)
 *
 * A namespace may hold `:` and `.` (`shop:prod`, as ElastiCache prefixes are written), never `{`,
 * `}`, `/` or `#`: the first `{` of a key is then always the cache's, so the hash tag is exactly
 * `{ns/entity}` or `{ns#tag}`, and a key still reads back one way — the text between that `{` and
 * the first `/` or `#` is the namespace, the character after it says entity or tag, and neither an
 * entity name nor an encoded tag holds a `}`. Hence keys stay injective across namespaces, too
 * (`a` and `a:t` never share a key).
 *
 * Parameters are canonicalized (sorted keys, tagged types, exotic values refused), so two different
 * parameter sets never share a key; a long canonical form is replaced by its SHA-256. Tags follow
 * the tag rules in tags.ts; a long one is hashed in its tag key (never in an entry's header).
 */

/** A namespace: 1-64 characters of A-Z, a-z, 0-9, `_`, `-`, `:` and `.`. */
const NAMESPACE = /^[A-Za-z0-9_:.-]{1,64}$/;

const MAX_PARAM_KEY_LENGTH = 128;

export interface EntityKeys {
  readonly entity: string;
  value(paramKey: string): string;
  lease(paramKey: string): string;
}

/** Returns the namespace when it follows the namespace rule, else throws `CacheKeyError`. */
export function checkNamespace(namespace: string): string {
  if (!NAMESPACE.test(namespace)) {
    throw new CacheKeyError(`The namespace must be 1-64 characters of A-Z, a-z, 0-9, _, -, : and .; got ${describe(namespace)}.`);
  }
  return namespace;
}

function checkEntityName(entity: string): string {
  if (!NAME.test(entity)) {
    throw new CacheKeyError(`The entity name must be 1-64 characters of A-Z, a-z, 0-9, _ and -; got ${describe(entity)}.`);
  }
  return entity;
}

const describe = (name: string): string => JSON.stringify(String(name).slice(0, 80));

export function entityKeys(namespace: string, entity: string, version: number): EntityKeys {
  checkNamespace(namespace);
  checkEntityName(entity);
  if (!Number.isInteger(version) || version < 0) throw new CacheKeyError('The schema version must be a whole number ≥ 0.');
  const prefix = `${namespace}:{${namespace}/${entity}}:${version}:`;
  return {
    entity,
    value: (paramKey) => `${prefix}v:${paramKey}`,
    lease: (paramKey) => `${prefix}l:${paramKey}`,
  };
}

/**
 * The key part for one parameter set: its canonical text (see `canonicalize` for what is accepted),
 * or `#` and the SHA-256 of it when longer than 128 characters. Injective: equal only for equal
 * parameters; anything else is a `CacheKeyError`.
 */
export function paramKey(params: unknown): string {
  const canonical = canonicalize(params);
  if (canonical.length <= MAX_PARAM_KEY_LENGTH) return canonical;
  // `#` never starts a canonical form (JSON), so a hashed key cannot collide with a plain one.
  return `#${createHash('sha256').update(canonical).digest('base64url')}`;
}

/** Percent-encoded tags longer than this are hashed in their tag key. */
export const MAX_TAG_KEY_PART = 256;

/**
 * A tag's generation key, for a tag that follows the tag rules (`checkTag`; else `CacheKeyError`).
 * The tag is percent-encoded, so `{`, `}` and `:` in it cannot break the hash tag; when that is
 * longer than 256 characters, `#` and the SHA-256 of the tag stand in for it (`#` is always
 * percent-encoded, so a hashed key never equals a plain one). Total on valid tags, and injective.
 */
export function tagKey(namespace: string, tag: string): string {
  const encoded = encodeURIComponent(checkTag(tag));
  const part = encoded.length <= MAX_TAG_KEY_PART ? encoded : `#${createHash('sha256').update(tag).digest('base64url')}`;
  return `${namespace}:t:{${namespace}#${part}}`;
}
