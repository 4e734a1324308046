export {
  createDataLayer,
  DataLayer,
  type DataLayerOptions,
  type DrainResult,
  defineRepository,
  isDatabaseUnavailable,
  OUTBOX_SKIP_CHANNEL,
  type Repository,
  type RepositoryDefinition,
  type SkippedOutboxRow,
  type TransactionOf,
  type WritableRepository,
  type WriteOptions,
} from './data-layer.js';
export {
  CachefrontCoreError,
  type CoreErrorCode,
  InvalidationPendingError,
  type Issue,
  LoadedValueError,
  RepositoryError,
  ValidationError,
} from './errors.js';
export { type Handler, type InvocationScope, withDataLayer } from './lambda.js';
export type {
  CachePort,
  CacheResultPort,
  DatabasePort,
  DeadlineSource,
  EntityPort,
  Freshness,
  LoadContextPort,
  SqlRunner,
  StatementBuilder,
} from './ports.js';
