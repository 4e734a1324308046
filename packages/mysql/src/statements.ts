/**
 * The administrative statements the connector sends (with `processlist.ts`). Kept in one place so
 * the fake server of the unit tests can recognise them, and so a reviewer sees everything the
 * connector asks of the server.
 */

export const KILL_STATEMENT = 'KILL CONNECTION ?';
export const RDS_KILL_STATEMENT = 'CALL mysql.rds_kill(?)';

/** The fleet budget's scout reads the database's limit with this, once per budget (the session value carries the account's own limit). */
export const LIMIT_STATEMENT = 'SELECT @@max_connections AS maxConnections, @@max_user_connections AS maxUserConnections';

/** Sent after connect when `sessionIdleTimeoutMs` is set. */
export const SET_WAIT_TIMEOUT = 'SET SESSION wait_timeout = ?';

export const ISOLATION_LEVELS = {
  'read uncommitted': 'READ UNCOMMITTED',
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
} as const;
export type IsolationLevel = keyof typeof ISOLATION_LEVELS;
