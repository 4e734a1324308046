import { randomBytes } from 'node:crypto';
import type { AdminConfig, AdminSession } from '../shared/admin-session.js';
import type { AppDatabase } from './driver-adapter.js';

export interface FixtureOptions {
  /** Start of the user and database names; a random suffix makes each run's names unique. */
  readonly prefix: string;
  /** The account's own connection limit (`WITH MAX_USER_CONNECTIONS`); undefined for none. */
  readonly maxUserConnections: number | undefined;
  /** Rows in the table. */
  readonly rows: number;
}

const NAME = /^[a-z][a-z0-9_]{0,40}$/;

/**
 * Creates a dedicated user and database for one run, so nothing global changes: the user may only
 * read and write its own database, has no PROCESS privilege (it sees only its own threads) and,
 * when asked, its own connection limit.
 */
export async function createAppDatabase(admin: AdminSession, server: AdminConfig, options: FixtureOptions): Promise<AppDatabase> {
  const name = `${options.prefix}_${randomBytes(4).toString('hex')}`;
  if (!NAME.test(name)) throw new RangeError(`"${name}" is not a safe user and database name.`);
  const password = randomBytes(12).toString('base64url');
  const database: AppDatabase = { host: server.host, port: server.port, user: name, password, database: name, rows: options.rows };
  const limit = options.maxUserConnections === undefined ? '' : ` WITH MAX_USER_CONNECTIONS ${Math.floor(options.maxUserConnections)}`;
  try {
    await admin.run(`CREATE DATABASE \`${name}\``);
    await admin.run(`CREATE USER ?@'%' IDENTIFIED BY ?${limit}`, [name, password]);
    await admin.run(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${name}\`.* TO ?@'%'`, [name]);
    await admin.run(`CREATE TABLE \`${name}\`.item (id INT PRIMARY KEY, value INT NOT NULL) ENGINE=InnoDB`);
    const ids = Array.from({ length: options.rows }, (_, index) => index + 1);
    await admin.run(`INSERT INTO \`${name}\`.item (id, value) VALUES ${ids.map(() => '(?, 0)').join(', ')}`, ids);
    return database;
  } catch (error) {
    await dropAppDatabase(admin, database).catch(() => {});
    throw error;
  }
}

/** Kills the user's connections, then drops the user and its database. Safe to call twice. */
export async function dropAppDatabase(admin: AdminSession, database: AppDatabase): Promise<void> {
  if (!NAME.test(database.user) || !NAME.test(database.database)) throw new RangeError('Refusing to drop a name this fixture did not create.');
  await admin.killAllOf(database.user);
  await admin.run(`DROP USER IF EXISTS ?@'%'`, [database.user]);
  await admin.run(`DROP DATABASE IF EXISTS \`${database.database}\``);
}
