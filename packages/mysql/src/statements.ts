import { type SqlStatement, sql } from './sql.js';

/**
 * The administrative statements the connector sends. Kept in one place so the fake server of the
 * unit tests can recognise them, and so a reviewer sees everything the connector asks of the server.
 */

/** The user part of CURRENT_USER(): the account the server authenticated, not the one asked for. */
const OWN_USER = "SUBSTRING_INDEX(CURRENT_USER(), '@', 1)";

/**
 * How the processlist is read. MariaDB has TIME_MS, so idle ages are exact to the millisecond;
 * MySQL has only TIME, in whole seconds. The connector starts with the MariaDB form and falls back
 * for good on ER_BAD_FIELD_ERROR.
 */
export interface ProcesslistDialect {
  readonly name: 'mariadb' | 'mysql';
  /**
   * One round trip: the limit and the own user's threads (`idle` in `unitMs`). Without PROCESS a
   * user sees only its own threads anyway; with it, the WHERE keeps other users' threads out.
   */
  readonly usage: string;
  /** The text of the kill-time re-check up to its id list; `recheck()` completes it. */
  readonly recheckPrefix: string;
  readonly unitMs: number;
}

const processlist = (name: ProcesslistDialect['name'], idle: string, unitMs: number): ProcesslistDialect => ({
  name,
  usage: `SELECT ID AS id, COMMAND AS command, ${idle} AS idle, @@max_connections AS maxConnections, @@max_user_connections AS maxUserConnections FROM information_schema.PROCESSLIST WHERE USER = ${OWN_USER}`,
  recheckPrefix: `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ${OWN_USER} AND COMMAND = 'Sleep' AND ${idle} >= ? AND ID IN (`,
  unitMs,
});

/** Kill-time re-check: which of `ids` are still ours, still asleep and idle at least `minimumIdle` (in the dialect's unit). */
export function recheck(dialect: ProcesslistDialect, ids: readonly number[], minimumIdle: number): SqlStatement {
  return sql.raw(`${dialect.recheckPrefix}${ids.map(() => '?').join(', ')})`, [minimumIdle, ...ids]);
}

export const MARIADB_PROCESSLIST = processlist('mariadb', 'TIME_MS', 1);
export const MYSQL_PROCESSLIST = processlist('mysql', 'TIME', 1000);

/** ER_BAD_FIELD_ERROR: the server has no TIME_MS column (MySQL). */
export const ER_BAD_FIELD_ERROR = 1054;

export const KILL_STATEMENT = 'KILL CONNECTION ?';

/** Sent after connect when `sessionIdleTimeoutMs` is set. */
export const SET_WAIT_TIMEOUT = 'SET SESSION wait_timeout = ?';
export const RDS_KILL_STATEMENT = 'CALL mysql.rds_kill(?)';

export const ISOLATION_LEVELS = {
  'read uncommitted': 'READ UNCOMMITTED',
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
} as const;
export type IsolationLevel = keyof typeof ISOLATION_LEVELS;

/** ER_NO_SUCH_THREAD: someone else killed it first (a concurrent reaper), which is fine. */
export const ER_NO_SUCH_THREAD = 1094;

/**
 * ER_KILL_DENIED_ERROR for a thread that passed the ownership re-check: it is being torn down after
 * a concurrent reaper's KILL and no longer shows as ours (seen on MariaDB 10.11). Fine as well.
 */
export const ER_KILL_DENIED = 1095;
