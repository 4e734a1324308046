import { type SqlStatement, sql } from './sql.js';

/**
 * How the processlist is read. MariaDB has TIME_MS, so idle ages are exact to the millisecond;
 * MySQL has only TIME, in whole seconds. The reaper starts with the MariaDB form and falls back for
 * good when the server says it has no such column.
 */
export interface ProcesslistDialect {
  /**
   * One round trip: the limit and the own user's threads (`idle` in `unitMs`). Without PROCESS a
   * user sees only its own threads anyway; with it, the WHERE keeps other users' threads out.
   */
  readonly usage: string;
  /** The text of the kill-time re-check up to its id list; `recheck()` completes it. */
  readonly recheckPrefix: string;
  readonly unitMs: number;
}

/** The user part of CURRENT_USER(): the account the server authenticated, not the one asked for. */
const OWN_USER = "SUBSTRING_INDEX(CURRENT_USER(), '@', 1)";

const processlist = (idle: string, unitMs: number): ProcesslistDialect => ({
  usage: `SELECT ID AS id, COMMAND AS command, ${idle} AS idle, @@max_connections AS maxConnections, @@max_user_connections AS maxUserConnections FROM information_schema.PROCESSLIST WHERE USER = ${OWN_USER}`,
  recheckPrefix: `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ${OWN_USER} AND COMMAND = 'Sleep' AND ${idle} >= ? AND ID IN (`,
  unitMs,
});

export const MARIADB_PROCESSLIST = processlist('TIME_MS', 1);
export const MYSQL_PROCESSLIST = processlist('TIME', 1000);

/** Kill-time re-check: which of `ids` are still ours, still asleep and idle at least `minimumIdle` (in the dialect's unit). */
export function recheck(dialect: ProcesslistDialect, ids: readonly number[], minimumIdle: number): SqlStatement {
  return sql.raw(`${dialect.recheckPrefix}${ids.map(() => '?').join(', ')})`, [minimumIdle, ...ids]);
}

/**
 * The kill-time re-check of a lapsed lease's thread (fleet budget): still this user's, still
 * asleep, still there. `TIME` (whole seconds) is in both dialects; it only feeds the `kill` event.
 */
export const LAPSED_RECHECK = `SELECT ID AS id, TIME AS idle FROM information_schema.PROCESSLIST WHERE USER = ${OWN_USER} AND COMMAND = 'Sleep' AND ID = ?`;
