/**
 * The connector owns time: a driver that hangs (a half-open socket, a frozen peer) cannot hold a
 * call past its bound. Every race is `withTimeout` of @cachefront/common; a connection whose call
 * overstays is destroyed, since its state is unknown, and the call rejects with an `OperationTimeout`.
 */
import { withTimeout } from '@cachefront/common';
import type { ConnectionConfig, Driver, DriverConnection, QueryOutput } from './driver/driver.js';
import { OperationTimeout } from './failures.js';
import type { SqlValue } from './sql.js';

/** How long a graceful close (COM_QUIT) may wait for the server before the socket is destroyed. */
const CLOSE_TIMEOUT_MS = 1000;

function destroyingAfter<T>(
  connection: DriverConnection,
  operation: OperationTimeout['operation'],
  run: () => Promise<T>,
  timeoutMs: number | undefined,
): Promise<T> {
  return withTimeout(run, timeoutMs, { error: () => new OperationTimeout(operation), expired: () => connection.destroy() });
}

/** One statement; `timeoutMs` undefined: no timeout of its own. */
export function queryWithin(connection: DriverConnection, text: string, values: readonly SqlValue[], timeoutMs: number | undefined): Promise<QueryOutput> {
  return destroyingAfter(connection, 'statement', () => connection.query(text, values), timeoutMs);
}

export function pingWithin(connection: DriverConnection, timeoutMs: number): Promise<void> {
  return destroyingAfter(connection, 'ping', () => connection.ping(), timeoutMs);
}

/** A graceful close, destroyed after `CLOSE_TIMEOUT_MS`; never rejects. */
export async function closeWithin(connection: DriverConnection): Promise<void> {
  await destroyingAfter(connection, 'close', () => connection.close(), CLOSE_TIMEOUT_MS).catch(() => undefined);
}

/** A connect with a hard timeout; a connection that arrives after it is closed at once. */
export function connectWithin(driver: Driver, config: ConnectionConfig, timeoutMs: number): Promise<DriverConnection> {
  return withTimeout(() => driver.connect(config, timeoutMs), timeoutMs, {
    error: () => new OperationTimeout('connect'),
    late: (connection) => connection.destroy(),
  });
}
