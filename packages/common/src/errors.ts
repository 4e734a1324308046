/**
 * The base of every error cachefront throws. Each package extends it once (`CachefrontMysqlError`,
 * `CachefrontCacheError`, `CachefrontCoreError`) with its own union of codes, and exports an
 * `errors` map from code to class. Codes are stable and unique across the packages.
 */
export class CachefrontError<Code extends string = string> extends Error {
  override readonly name: string = 'CachefrontError';
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
