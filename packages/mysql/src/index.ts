export { type BackoffPolicy, type BackoffStrategy, backoffDelay, type RandomSource, seededRandom } from './backoff.js';
export {
  type BudgetPolicy,
  connectionLimit,
  excessConnections,
  type ProcessRow,
  type UsageSnapshot,
  utilization,
  zombieCandidates,
  zombieThresholdMs,
} from './budget.js';
export {
  Connector,
  createConnector,
  type DeadlineSource,
  type EndResult,
  type ReapOptions,
  type ReapResult,
  type Row,
  type StatementOptions,
  type Transaction,
  type TransactionOptions,
} from './connector.js';
export {
  isDatabaseUnavailable,
  type MysqlDatabase,
  type MysqlDatabaseOptions,
  type MysqlOutbox,
  type MysqlOutboxRow,
  mayHaveCommitted,
  mysqlDatabase,
} from './database.js';
export type { ConnectionConfig, Driver, DriverConnection, QueryOutput, WriteResult } from './driver/driver.js';
export { mysql2Driver } from './driver/mysql2-driver.js';
export {
  CachefrontMysqlError,
  ConnectError,
  ConnectionLimitError,
  ConnectionLostError,
  ConnectorClosedError,
  classifyDriverError,
  DeadlineError,
  type DriverErrorInfo,
  describeDriverError,
  ERROR_TABLE,
  type ErrorClass,
  type MysqlErrorCode,
  OptionsError,
  QueryError,
  RedactedDriverError,
  StatementError,
  TransactionError,
} from './errors.js';
export { CHANNEL_PREFIX, type ConnectorEventName, type ConnectorEvents } from './events.js';
export { type AuthTokenSource, DEFAULT_IAM_OPTIONS, type IamAuthOptions, iamAuthConnection } from './iam.js';
export { type ConnectionInput, type ConnectionSource, type ConnectorOptions, DEFAULT_OPTIONS, type ResolvedOptions } from './options.js';
export { isSqlStatement, looksIdempotent, SqlStatement, type SqlValue, sql } from './sql.js';
export type { IsolationLevel } from './statements.js';
export type { ConnectorStats } from './stats.js';
