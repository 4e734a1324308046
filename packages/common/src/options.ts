/** The fields of `value` that are not `undefined`: an option left undefined takes its default. */
export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * A name that becomes part of a key or an identifier the packages build: an entity, a repository,
 * a namespace segment. 1-64 characters of A-Z, a-z, 0-9, `_` and `-`.
 */
export const NAME = /^[A-Za-z0-9_-]{1,64}$/;
