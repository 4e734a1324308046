import { createHash } from 'node:crypto';
import { canonicalize } from './codec.js';
import { CacheKeyError } from './errors.js';

/**
 * Key layout. Every key of one entity shares the hash tag `{ns/entity}`, so its value and lease keys
 * sit in one Redis Cluster slot and can be used together in one Lua script or MGET:
 *
 *   value  cf:{cf/product}:3:v:[42]
 *   lease  cf:{cf/product}:3:l:[42]
 *   tag    cf:t:{cf#product%3A42}       (each tag in its own slot; tags cross entities)
 *
 * Parameters are canonicalized (sorted keys, tagged types), so two different parameter sets never
 * share a key; a long canonical form is replaced by its SHA-256.
 */
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export const MAX_PARAM_KEY_LENGTH = 128;

export interface EntityKeys {
  readonly entity: string;
  /** `cf:{cf/product}:3:` — the prefix of every key of this entity and version. */
  readonly prefix: string;
  value(paramKey: string): string;
  lease(paramKey: string): string;
}

export function checkName(kind: string, name: string): string {
  if (!NAME.test(name)) throw new CacheKeyError(`The ${kind} must be 1-64 characters of A-Z, a-z, 0-9, _ and -; got ${JSON.stringify(name.slice(0, 80))}.`);
  return name;
}

export function entityKeys(namespace: string, entity: string, version: number): EntityKeys {
  checkName('namespace', namespace);
  checkName('entity name', entity);
  if (!Number.isInteger(version) || version < 0) throw new CacheKeyError('The schema version must be a whole number ≥ 0.');
  const prefix = `${namespace}:{${namespace}/${entity}}:${version}:`;
  return {
    entity,
    prefix,
    value: (paramKey) => `${prefix}v:${paramKey}`,
    lease: (paramKey) => `${prefix}l:${paramKey}`,
  };
}

/** The key part for one parameter set. Injective: equal only for equal parameters. */
export function paramKey(params: unknown): string {
  const canonical = flatCanonical(params) ?? canonicalize(params);
  if (canonical.length <= MAX_PARAM_KEY_LENGTH) return canonical;
  // `#` never starts a canonical form (JSON), so a hashed key cannot collide with a plain one.
  return `#${createHash('sha256').update(canonical).digest('base64url')}`;
}

/** A tag's generation key. The tag is percent-encoded so `{`, `}` and `:` in it cannot break the hash tag. */
export function tagKey(namespace: string, tag: string): string {
  if (typeof tag !== 'string' || tag.length === 0 || tag.length > 512) throw new CacheKeyError('A tag must be a non-empty string of at most 512 characters.');
  return `${namespace}:t:{${namespace}#${encodeURIComponent(tag)}}`;
}

const INTEGER_LIKE = /^(0|[1-9]\d*)$/;

/**
 * The canonical form of the common case — a plain object of strings, finite numbers, booleans and
 * nulls, like `{ id: 42 }` — built directly, with exactly the text `canonicalize` would give.
 * Anything else (nesting, tagged types, integer-like keys that JSON orders first, `$cf`,
 * `__proto__`) returns undefined and takes the general path.
 */
function flatCanonical(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null || Object.getPrototypeOf(params) !== Object.prototype) return undefined;
  const record = params as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i += 1) {
    const key = keys[i] as string;
    if (INTEGER_LIKE.test(key) || key === '$cf' || key === '__proto__') return undefined;
    const value = record[key];
    let text: string;
    if (typeof value === 'string') text = JSON.stringify(value);
    else if (typeof value === 'number' && Number.isFinite(value) && !Object.is(value, -0)) text = String(value);
    else if (typeof value === 'boolean' || value === null) text = String(value);
    else return undefined;
    out += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${text}`;
  }
  return `${out}}`;
}
