export { createDataLayer, DataLayer, type DataLayerOptions, type WriteOptions } from './data-layer.js';
export {
  CachefrontCoreError,
  type CoreErrorCode,
  errors,
  InvalidationPendingError,
  type Issue,
  LoadedValueError,
  RepositoryError,
  ValidationError,
} from './errors.js';
export { type DrainResult, OUTBOX_SKIP_CHANNEL, type SkippedOutboxRow } from './invalidation.js';
export { type Handler, type InvocationScope, withDataLayer } from './lambda.js';
export type {
  CachePort,
  CacheResultPort,
  DatabasePort,
  DeadlineSource,
  EntityPort,
  Freshness,
  LoadContextPort,
  OutboxRow,
  OutboxStore,
} from './ports.js';
export {
  defineRepository,
  type Repository,
  type RepositoryDefinition,
  type RepositoryWriteOptions,
  type WritableRepository,
} from './repository.js';
