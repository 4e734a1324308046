/**
 * Admin helpers for the integration tests, on mysql2 directly (never through the connector under
 * test): throwaway users and databases, raw connections that play zombies or hold slots, and the
 * processlist as the server sees it.
 */
import { randomBytes } from 'node:crypto';
import mysql, { type Connection, type ConnectionOptions } from 'mysql2/promise';
import { waitFor } from './wait-for.js';

export interface Server {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/** `prefix_` and 8 random hex digits: unique per test file and run. */
export function randomName(prefix = 'cf_t'): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/**
 * A mysql2 connection that survives being killed: the error of a connection that dies while idle is
 * swallowed (without a listener mysql2 would throw it from the event loop).
 */
export async function rawConnection(options: ConnectionOptions): Promise<Connection> {
  const connection = await mysql.createConnection({ ...options, supportBigNumbers: true });
  connection.on('error', () => {});
  return connection;
}

/** A root session on `server`, for setup, inspection and KILL. */
export function adminConnection(server: Server): Promise<Connection> {
  return rawConnection({ host: server.host, port: server.port, user: server.user, password: server.password });
}

/** Runs a statement and returns its rows. */
export async function rows<T>(connection: Connection, text: string, values: unknown[] = []): Promise<T[]> {
  const [result] = await connection.query(text, values);
  return result as T[];
}

/** Closes a raw connection, whatever state it is in. */
export async function closeQuietly(connection: Connection): Promise<void> {
  try {
    await connection.end();
  } catch {
    connection.destroy();
  }
}

export interface AccountOptions {
  /** `WITH MAX_USER_CONNECTIONS n`. */
  maxUserConnections?: number;
  /** Global privileges besides ALL on the account's own database, e.g. `PROCESS`, `CONNECTION ADMIN`. */
  globalPrivileges?: readonly string[];
}

/** A throwaway user with its own database (same name), created by root and dropped by `drop()`. */
export interface TestAccount {
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** What the connector and mysql2 take: host, port, user, password, database. */
  readonly connection: { host: string; port: number; user: string; password: string; database: string };
  /** Kills the user's threads, drops the user and the database. */
  drop(): Promise<void>;
}

export async function createAccount(admin: Connection, server: Server, options: AccountOptions = {}): Promise<TestAccount> {
  const name = randomName();
  const password = `pw_${randomBytes(9).toString('hex')}`;
  const limit = options.maxUserConnections === undefined ? '' : ` WITH MAX_USER_CONNECTIONS ${options.maxUserConnections}`;
  await admin.query(`CREATE DATABASE \`${name}\``);
  await admin.query(`CREATE USER '${name}'@'%' IDENTIFIED BY '${password}'${limit}`);
  await admin.query(`GRANT ALL ON \`${name}\`.* TO '${name}'@'%'`);
  if (options.globalPrivileges?.length) await admin.query(`GRANT ${options.globalPrivileges.join(', ')} ON *.* TO '${name}'@'%'`);
  return {
    user: name,
    password,
    database: name,
    connection: { host: server.host, port: server.port, user: name, password, database: name },
    async drop() {
      await killThreadsOf(admin, name);
      await admin.query(`DROP USER IF EXISTS '${name}'@'%'`);
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    },
  };
}

export interface ThreadRow {
  readonly id: number;
  readonly user: string;
  readonly command: string;
  /** Seconds in the current state, as the server counts them (whole seconds). */
  readonly time: number;
}

/** The threads of `user`, as root sees them. */
export async function threadsOf(admin: Connection, user: string): Promise<ThreadRow[]> {
  const list = await rows<{ id: number; user: string; command: string; time: number }>(
    admin,
    'SELECT ID AS id, USER AS user, COMMAND AS command, TIME AS time FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID',
    [user],
  );
  return list.map((row) => ({ id: Number(row.id), user: row.user, command: row.command, time: Number(row.time) }));
}

/** The thread's row, or undefined once it is gone. */
export async function thread(admin: Connection, id: number): Promise<ThreadRow | undefined> {
  const list = await rows<{ id: number; user: string; command: string; time: number }>(
    admin,
    'SELECT ID AS id, USER AS user, COMMAND AS command, TIME AS time FROM information_schema.PROCESSLIST WHERE ID = ?',
    [id],
  );
  const row = list[0];
  return row && { id: Number(row.id), user: row.user, command: row.command, time: Number(row.time) };
}

export async function threadExists(admin: Connection, id: number): Promise<boolean> {
  return (await thread(admin, id)) !== undefined;
}

/** Waits until the server has closed the thread. */
export async function waitForThreadGone(admin: Connection, id: number, timeoutMs = 5000): Promise<void> {
  await waitFor(async () => !(await threadExists(admin, id)), { timeoutMs, message: `thread ${id} to end` });
}

/** KILL CONNECTION, tolerating a thread that is already gone. */
export async function kill(admin: Connection, id: number): Promise<void> {
  try {
    await admin.query('KILL CONNECTION ?', [id]);
  } catch (error) {
    if ((error as { errno?: unknown }).errno !== 1094) throw error;
  }
}

/** Kills every thread of `user` and waits until they are gone. */
export async function killThreadsOf(admin: Connection, user: string): Promise<void> {
  const threads = await threadsOf(admin, user);
  for (const row of threads) await kill(admin, row.id);
  await waitFor(async () => (await threadsOf(admin, user)).length === 0, { timeoutMs: 10_000, message: `threads of ${user} to end` });
}

/** The connection id of a raw connection. */
export async function connectionId(connection: Connection): Promise<number> {
  const [row] = await rows<{ id: number }>(connection, 'SELECT CONNECTION_ID() AS id');
  return Number(row?.id);
}

/**
 * Opens raw connections until the server refuses one (1040, 1203 or 1226), and returns those it
 * accepted: every slot the account can get is then held.
 */
export async function holdEverySlot(options: ConnectionOptions, atMost = 500): Promise<Connection[]> {
  const held: Connection[] = [];
  for (let i = 0; i < atMost; i += 1) {
    try {
      held.push(await rawConnection(options));
    } catch (error) {
      const errno = (error as { errno?: unknown }).errno;
      if (errno === 1040 || errno === 1203 || errno === 1226) return held;
      await Promise.all(held.map(closeQuietly));
      throw error;
    }
  }
  await Promise.all(held.map(closeQuietly));
  throw new Error(`the server accepted ${atMost} connections; no limit to hold`);
}

/** Reads a global variable as a number. */
export async function globalNumber(admin: Connection, name: string): Promise<number> {
  const [row] = await rows<{ value: number }>(admin, `SELECT @@GLOBAL.${name} AS value`);
  return Number(row?.value);
}

/**
 * SET GLOBAL max_connections (MariaDB raises values below 10 to 10). Returns the value in force and
 * a function that puts the previous value back. AUX server only.
 */
export async function lowerMaxConnections(admin: Connection, value: number): Promise<{ effective: number; restore: () => Promise<void> }> {
  const previous = await globalNumber(admin, 'max_connections');
  await admin.query('SET GLOBAL max_connections = ?', [value]);
  const effective = await globalNumber(admin, 'max_connections');
  return {
    effective,
    restore: async () => {
      await admin.query('SET GLOBAL max_connections = ?', [previous]);
    },
  };
}

/** The URL a command line takes for an account: `mysql://user:password@host:port/database`. */
export function accountUrl(account: TestAccount, server: Server): string {
  return `mysql://${account.user}:${encodeURIComponent(account.password)}@${server.host}:${server.port}/${account.database}`;
}
