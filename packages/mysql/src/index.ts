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
export { Connector, createConnector } from './connector.js';
export {
  isDatabaseUnavailable,
  type MysqlDatabase,
  type MysqlDatabaseOptions,
  type MysqlOutbox,
  type MysqlOutboxRow,
  mayHaveCommitted,
  mysqlDatabase,
} from './database.js';
export type { DeadlineSource } from './deadline.js';
export type {
  ClassifiedError,
  ConnectionConfig,
  Driver,
  DriverConnection,
  DriverErrorInfo,
  ErrorClass,
  QueryOutput,
  TlsProblem,
  WriteResult,
} from './driver/driver.js';
export { classifyDriverError, ERROR_TABLE } from './driver/mysql2/error-table.js';
export { mysql2Driver } from './driver/mysql2/mysql2-driver.js';
export {
  CachefrontMysqlError,
  ConnectError,
  ConnectionLimitError,
  ConnectionLostError,
  ConnectorClosedError,
  DeadlineError,
  errors,
  type MysqlErrorCode,
  OptionsError,
  QueryError,
  StatementError,
  TransactionError,
} from './errors.js';
export { CHANNEL_PREFIX, type ConnectorEventName, type ConnectorEvents } from './events.js';
export type {
  BudgetAcquireOptions,
  BudgetGrant,
  BudgetHandOver,
  BudgetHandOverOptions,
  BudgetLease,
  BudgetLeaseState,
  ConnectionBudget,
} from './fleet/port.js';
export type { EndResult } from './housekeeping.js';
export { type AuthTokenSource, DEFAULT_IAM_OPTIONS, type IamAuthOptions, iamAuthConnection } from './iam.js';
export { type ConnectionInput, type ConnectionSource, type ConnectorOptions, DEFAULT_OPTIONS, type ResolvedOptions } from './options.js';
export { type LagSafety, ReadRouting, type ReadRoutingOptions, type RoutingContext } from './readers.js';
export type { ReapOptions, ReapResult } from './reaper.js';
export { describeDriverError, RedactedDriverError } from './redaction.js';
export { isSqlStatement, looksIdempotent, SqlStatement, type SqlValue, sql } from './sql.js';
export type { Row, StatementOptions } from './statement-runner.js';
export type { IsolationLevel } from './statements.js';
export type { ConnectorStats } from './stats.js';
export type { Transaction, TransactionOptions } from './transaction.js';
