/** Every error this package throws is a `CachefrontCoreError` with a stable `code`. */
export type CoreErrorCode = 'E_INVALID_PARAMS' | 'E_INVALID_LOADED_VALUE' | 'E_INVALIDATION_PENDING' | 'E_INVALID_REPOSITORY';

export class CachefrontCoreError extends Error {
  override readonly name: string = 'CachefrontCoreError';
  readonly code: CoreErrorCode;
  constructor(code: CoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Where a value failed its schema, without the value itself (it may hold parameters or secrets). */
export interface Issue {
  readonly path: string;
  readonly message: string;
}

export function issuesOf(error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): Issue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message }));
}

/** The parameters failed the repository's schema; nothing touched Redis or MySQL. */
export class ValidationError extends CachefrontCoreError {
  override readonly name = 'ValidationError';
  readonly repository: string;
  readonly issues: readonly Issue[];
  constructor(repository: string, issues: readonly Issue[]) {
    super('E_INVALID_PARAMS', `Invalid parameters for repository ${repository}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`);
    this.repository = repository;
    this.issues = issues;
  }
}

/** The loader returned a value that fails the repository's value schema; it was not cached. */
export class LoadedValueError extends CachefrontCoreError {
  override readonly name = 'LoadedValueError';
  readonly repository: string;
  readonly issues: readonly Issue[];
  constructor(repository: string, issues: readonly Issue[]) {
    super(
      'E_INVALID_LOADED_VALUE',
      `The loader of repository ${repository} returned a value that fails its schema (not cached): ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}.`,
    );
    this.repository = repository;
    this.issues = issues;
  }
}

/**
 * The write COMMITTED, but its invalidation could not reach Redis. The tags are kept (in the outbox
 * table when there is one) and invalidated before this layer reads the cache again.
 */
export class InvalidationPendingError extends CachefrontCoreError {
  override readonly name = 'InvalidationPendingError';
  readonly committed = true;
  readonly tags: readonly string[];
  constructor(tags: readonly string[], cause: unknown) {
    super(
      'E_INVALIDATION_PENDING',
      `The write is committed, but invalidating ${tags.length} tag(s) failed; they are pending and retried before the next cached read.`,
      { cause },
    );
    this.tags = tags;
  }
}

export class RepositoryError extends CachefrontCoreError {
  override readonly name = 'RepositoryError';
  constructor(message: string) {
    super('E_INVALID_REPOSITORY', message);
  }
}
