import { CachefrontError } from '@cachefront/common';
import type { DriverErrorInfo } from './driver/driver.js';
import { RedactedDriverError } from './redaction.js';

/**
 * Every error the connector throws is a `CachefrontMysqlError` with a stable `code`, unique across
 * cachefront's packages (`errors` maps each code to its class).
 *
 * What a driver error means is the driver's to say (`Driver.classify`; mysql2's table is
 * `driver/mysql2/error-table.ts`), and errors are described from their codes alone
 * (`redaction.ts`): MySQL echoes values back ("Duplicate entry 'alice@example.com' for key
 * 'email'"), and query parameters must never appear in errors, logs or events. The server's text is
 * kept only when the connector's `exposeServerMessages` asks for it.
 */

export type MysqlErrorCode =
  | 'E_CONNECTION_LIMIT'
  | 'E_CONNECT_FAILED'
  | 'E_CONNECTION_LOST'
  | 'E_QUERY_FAILED'
  | 'E_TRANSACTION_FAILED'
  | 'E_DEADLINE_EXCEEDED'
  | 'E_CONNECTOR_CLOSED'
  | 'E_INVALID_CONNECTOR_OPTIONS'
  | 'E_INVALID_STATEMENT';

interface BaseContext {
  readonly cause?: unknown;
  readonly driver?: DriverErrorInfo;
  /** The server's own message, unredacted: only with the connector's `exposeServerMessages`. */
  readonly serverMessage?: string | undefined;
}

/** Base class of every error this package throws. */
export class CachefrontMysqlError extends CachefrontError<MysqlErrorCode> {
  override readonly name: string = 'CachefrontMysqlError';
  /** The server's errno (1040, 1213, ...), when a server error is behind this one. */
  readonly errno: number | undefined;
  /** The SQLSTATE, when a server error is behind this one. */
  readonly sqlState: string | undefined;
  /** The driver's string code (`ER_CON_COUNT_ERROR`, `ECONNRESET`, ...). */
  readonly driverCode: string | undefined;
  /**
   * The server's own message text, which may echo query parameters: set only when the connector's
   * `exposeServerMessages` is on (for local debugging), never otherwise.
   */
  readonly serverMessage?: string;

  constructor(code: MysqlErrorCode, message: string, context: BaseContext = {}) {
    super(code, message, context.cause === undefined ? undefined : { cause: sanitizeCause(context.cause) });
    this.errno = context.driver?.errno;
    this.sqlState = context.driver?.sqlState;
    this.driverCode = context.driver?.code;
    if (context.serverMessage !== undefined) this.serverMessage = context.serverMessage;
  }
}

function sanitizeCause(cause: unknown): unknown {
  return cause instanceof CachefrontMysqlError || cause instanceof RedactedDriverError ? cause : new RedactedDriverError(cause);
}

/** The server stayed at its connection limit (1040 / 1203 / 1226 / 1041) until retries or the deadline ran out. */
export class ConnectionLimitError extends CachefrontMysqlError {
  override readonly name = 'ConnectionLimitError';
  readonly attempts: number;
  constructor(message: string, context: BaseContext & { attempts: number }) {
    super('E_CONNECTION_LIMIT', message, context);
    this.attempts = context.attempts;
  }
}

/** A connection could not be opened for a reason retrying cannot fix (access denied, unknown database, ...). */
export class ConnectError extends CachefrontMysqlError {
  override readonly name = 'ConnectError';
  readonly attempts: number;
  constructor(message: string, context: BaseContext & { attempts: number }) {
    super('E_CONNECT_FAILED', message, context);
    this.attempts = context.attempts;
  }
}

/**
 * The connection was lost while a statement was in flight, and the statement was not re-run because
 * it is not idempotent. `mayHaveApplied` says whether the server may have executed it.
 */
export class ConnectionLostError extends CachefrontMysqlError {
  override readonly name = 'ConnectionLostError';
  readonly mayHaveApplied: boolean;
  constructor(message: string, context: BaseContext & { mayHaveApplied: boolean }) {
    super('E_CONNECTION_LOST', message, context);
    this.mayHaveApplied = context.mayHaveApplied;
  }
}

/** The server rejected a statement (syntax, constraint, deadlock, ...). `retryable` is true for deadlocks and lock waits. */
export class QueryError extends CachefrontMysqlError {
  override readonly name = 'QueryError';
  readonly retryable: boolean;
  constructor(message: string, context: BaseContext & { retryable: boolean }) {
    super('E_QUERY_FAILED', message, context);
    this.retryable = context.retryable;
  }
}

/** A transaction could not be completed; it was rolled back unless `mayHaveCommitted` is true. */
export class TransactionError extends CachefrontMysqlError {
  override readonly name = 'TransactionError';
  readonly mayHaveCommitted: boolean;
  constructor(message: string, context: BaseContext & { mayHaveCommitted: boolean }) {
    super('E_TRANSACTION_FAILED', message, context);
    this.mayHaveCommitted = context.mayHaveCommitted;
  }
}

/** The invocation's deadline passed before the operation could finish. */
export class DeadlineError extends CachefrontMysqlError {
  override readonly name = 'DeadlineError';
  /** Whether a statement had been sent when time ran out (it may then have been applied). */
  readonly mayHaveApplied: boolean;
  constructor(message: string, context: BaseContext & { mayHaveApplied: boolean }) {
    super('E_DEADLINE_EXCEEDED', message, context);
    this.mayHaveApplied = context.mayHaveApplied;
  }
}

/** The connector was closed with `quit()`. */
export class ConnectorClosedError extends CachefrontMysqlError {
  override readonly name = 'ConnectorClosedError';
  constructor() {
    super('E_CONNECTOR_CLOSED', 'The connector was closed with quit(); create a new one to run statements.');
  }
}

/** An option of the connector, of `iamAuthConnection()` or of `mysqlDatabase()` is missing or out of range; the message names it. */
export class OptionsError extends CachefrontMysqlError {
  override readonly name = 'OptionsError';
  constructor(message: string) {
    super('E_INVALID_CONNECTOR_OPTIONS', message);
  }
}

/** A statement that cannot be sent as it is (not built with the `sql` tag, a bad value, the wrong method); nothing was sent. */
export class StatementError extends CachefrontMysqlError {
  override readonly name = 'StatementError';
  constructor(message: string) {
    super('E_INVALID_STATEMENT', message);
  }
}

/** Every error class of this package, by its `code`. */
export const errors = {
  E_CONNECTION_LIMIT: ConnectionLimitError,
  E_CONNECT_FAILED: ConnectError,
  E_CONNECTION_LOST: ConnectionLostError,
  E_QUERY_FAILED: QueryError,
  E_TRANSACTION_FAILED: TransactionError,
  E_DEADLINE_EXCEEDED: DeadlineError,
  E_CONNECTOR_CLOSED: ConnectorClosedError,
  E_INVALID_CONNECTOR_OPTIONS: OptionsError,
  E_INVALID_STATEMENT: StatementError,
} as const satisfies Record<MysqlErrorCode, abstract new (...args: never[]) => CachefrontMysqlError>;
