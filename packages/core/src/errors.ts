import { CachefrontError } from '@cachefront/common';

/** Every error this package throws is a `CachefrontCoreError` with a stable `code`. */
export type CoreErrorCode = 'E_INVALID_PARAMS' | 'E_INVALID_LOADED_VALUE' | 'E_INVALIDATION_PENDING' | 'E_INVALID_REPOSITORY';

export class CachefrontCoreError extends CachefrontError<CoreErrorCode> {
  override readonly name: string = 'CachefrontCoreError';
}

/** Where a value failed its schema, without the value itself (it may hold parameters or secrets). */
export interface Issue {
  readonly path: string;
  readonly message: string;
}

/** The part of a zod issue that is read: never its `input`. */
export interface SchemaIssue {
  readonly code?: string;
  readonly path: ReadonlyArray<PropertyKey>;
  readonly message: string;
}

/**
 * Issues as a person needs them, with nothing of the input in them: a path segment is shown only
 * when `knownKey` says the schema declares it (a record's keys, an unknown key's name are input),
 * and zod's message for unrecognized keys, which names them, is replaced.
 */
export function issuesOf(
  error: { issues: ReadonlyArray<SchemaIssue> },
  knownKey: (path: readonly PropertyKey[], depth: number) => boolean = () => false,
): Issue[] {
  return error.issues.map((issue) => {
    const shown: string[] = [];
    for (let depth = 0; depth < issue.path.length; depth += 1) {
      if (knownKey(issue.path, depth)) shown.push(String(issue.path[depth]));
      else {
        shown.push('…');
        break;
      }
    }
    const message = issue.code === 'unrecognized_keys' ? 'Unrecognized key(s)' : issue.message;
    return { path: shown.join('.') || '(root)', message };
  });
}

/** The issue of parameters the schema could not even read: a throwing getter, a revoked Proxy. */
export const UNREADABLE: Issue = Object.freeze({ path: '(root)', message: 'The parameters could not be read (a getter threw, or a Proxy refused).' });

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
 * The write committed (or, with `committed: 'unknown'`, may have: the connection was lost during
 * COMMIT), but its invalidation could not reach Redis within `invalidationRetryMs` / the
 * invocation's deadline. The tags are kept — in the outbox row `outboxId` when there is an outbox,
 * in this layer's memory otherwise — and replayed: by this layer before its next cached read, by
 * any layer whose Redis connection comes back, and by `drain()`. Until one of them has, other
 * containers may still serve the previous value; from then on, what holds after a returned write holds.
 */
export class InvalidationPendingError extends CachefrontCoreError {
  override readonly name = 'InvalidationPendingError';
  readonly committed: true | 'unknown';
  readonly tags: readonly string[];
  /** The outbox row holding the tags until they are invalidated. */
  readonly outboxId: number | undefined;
  constructor(tags: readonly string[], cause: unknown, context: { committed?: true | 'unknown'; outboxId?: number | undefined } = {}) {
    const committed = context.committed ?? true;
    super(
      'E_INVALIDATION_PENDING',
      `The write ${committed === true ? 'is committed' : 'may have committed (its COMMIT went unanswered)'}, but invalidating ${tags.length} tag(s) failed; they are pending and replayed before the next cached read, on Redis reconnect and by drain().`,
      { cause },
    );
    this.committed = committed;
    this.tags = tags;
    this.outboxId = context.outboxId;
  }
}

export class RepositoryError extends CachefrontCoreError {
  override readonly name = 'RepositoryError';
  constructor(message: string) {
    super('E_INVALID_REPOSITORY', message);
  }
}

/** Every error class of this package, by its `code`. */
export const errors = {
  E_INVALID_PARAMS: ValidationError,
  E_INVALID_LOADED_VALUE: LoadedValueError,
  E_INVALIDATION_PENDING: InvalidationPendingError,
  E_INVALID_REPOSITORY: RepositoryError,
} as const satisfies Record<CoreErrorCode, abstract new (...args: never[]) => CachefrontCoreError>;
