import type { Emitter } from '@cachefront/common';
import type { ClassifiedError, Driver, DriverErrorInfo, ErrorClass } from './driver/driver.js';
import { CachefrontMysqlError, ConnectionLostError, DeadlineError, QueryError } from './errors.js';
import type { ConnectorEvents } from './events.js';
import { describeDriverError, RedactedDriverError } from './redaction.js';
import type { Counters } from './stats.js';

/**
 * The connector's own timeout: `withTimeout` ran out on a driver call. No driver raised it, so no
 * driver classifies it; the connector knows it by its type.
 */
export class OperationTimeout extends Error {
  override readonly name = 'OperationTimeout';
  constructor(readonly operation: 'connect' | 'statement' | 'ping' | 'close') {
    super(`the ${operation} timed out`);
  }
}

/** A statement lost after it may have reached the server (socket closed or timed out mid-flight). */
export class LostInFlight extends Error {
  override readonly name = 'LostInFlight';
  constructor(
    override readonly cause: unknown,
    /** Whether it was the connector's timeout (the connection was then destroyed). */
    readonly timedOut: boolean,
    /** False when the driver refused the command because the socket was already closed: it never left. */
    readonly mayHaveReachedServer: boolean,
  ) {
    super('connection lost in flight');
  }
}

/** What an error means: the driver's classes, and `timeout` for the connector's own. */
export type Verdict = Omit<ClassifiedError, 'kind'> & { readonly kind: ErrorClass | 'timeout' };

/** A connect that the connector timed out is reported as the socket's own connect timeout is. */
const CONNECT_TIMED_OUT: DriverErrorInfo = { code: 'ETIMEDOUT', errno: undefined, sqlState: undefined };
const NO_INFO: DriverErrorInfo = { code: undefined, errno: undefined, sqlState: undefined };

/** What an error built from a driver error keeps of it: a redacted cause, its codes, and the server's text only with `exposeServerMessages`. */
interface DriverContext {
  readonly cause?: unknown;
  readonly driver?: DriverErrorInfo;
  readonly serverMessage?: string;
}

/** The socket is gone (found closed, or refused before sending): the connection must be replaced. */
export const socketGone = (kind: Verdict['kind']): boolean => kind === 'stale-socket' || kind === 'never-sent';

/**
 * How the connector turns what went wrong into its typed errors: it asks the driver what an error
 * means, builds every error from a driver error the one way (`context`), and reports each error
 * raised to a caller once (`report`: the `error` event and `stats().errors`).
 */
export class Failures {
  readonly #driver: Driver;
  readonly #exposeServerMessages: boolean;
  readonly #events: Emitter<ConnectorEvents>;
  readonly #stats: Counters;

  constructor(options: { driver: Driver; exposeServerMessages: boolean }, events: Emitter<ConnectorEvents>, stats: Counters) {
    this.#driver = options.driver;
    this.#exposeServerMessages = options.exposeServerMessages;
    this.#events = events;
    this.#stats = stats;
  }

  classify(error: unknown): Verdict {
    if (!(error instanceof OperationTimeout)) return this.#driver.classify(error);
    const info = error.operation === 'connect' ? CONNECT_TIMED_OUT : NO_INFO;
    return { kind: 'timeout', info, connectionCount: false, threadGone: false, unknownColumn: false, tls: undefined };
  }

  /** What an error built from `error` (a driver error, a timeout, or one lost in flight) keeps of it. */
  context(error: unknown): DriverContext {
    const cause = error instanceof LostInFlight ? error.cause : error;
    if (cause === undefined) return {};
    if (cause instanceof OperationTimeout)
      return cause.operation === 'connect' ? { cause: new RedactedDriverError(cause, CONNECT_TIMED_OUT), driver: CONNECT_TIMED_OUT } : {};
    const { info } = this.#driver.classify(cause);
    if (cause instanceof CachefrontMysqlError) return { cause, driver: info };
    const context = { cause: new RedactedDriverError(cause, info), driver: info };
    return this.#exposeServerMessages && cause instanceof Error ? { ...context, serverMessage: cause.message } : context;
  }

  /** Counts and announces an error raised to a caller. */
  report<E extends CachefrontMysqlError>(error: E): E {
    this.#stats.errors += 1;
    this.#events.emit('error', { error });
    return error;
  }

  /** The typed error for a statement that failed: a connection lost in flight, a housekeeping statement that timed out, or the server's refusal. */
  wrap(error: unknown, idempotent: boolean): CachefrontMysqlError {
    if (error instanceof CachefrontMysqlError) return error;
    if (error instanceof LostInFlight) {
      return new ConnectionLostError(`The connection was lost while the statement was in flight${idempotent ? ', and again on its retry' : ''}.`, {
        ...this.context(error),
        mayHaveApplied: !idempotent,
      });
    }
    const verdict = this.classify(error);
    if (verdict.kind === 'timeout') {
      return new DeadlineError('A statement the connector sent for itself (processlist read, re-check or KILL) timed out; raise `adminTimeoutMs`.', {
        mayHaveApplied: true,
      });
    }
    return new QueryError(`MySQL rejected the statement: ${describeDriverError(verdict.info)}.`, {
      ...this.context(error),
      retryable: verdict.kind === 'statement-retryable',
    });
  }

  /** `wrap`, reported: what a caller gets. An error that is already typed was reported where it was made. */
  raise(error: unknown, idempotent: boolean): CachefrontMysqlError {
    return error instanceof CachefrontMysqlError ? error : this.report(this.wrap(error, idempotent));
  }
}
