/**
 * The doctor's MySQL side: one connection as the given account, a handful of read-only statements.
 * Nothing here writes; every statement is a plain SELECT or SHOW.
 */
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import type { MysqlTarget } from '../connections.js';
import type { MysqlFacts, ThreadGroup } from './facts.js';

type Row = RowDataPacket & Record<string, unknown>;

const num = (value: unknown): number => Number(value ?? 0);

export async function readMysql(target: MysqlTarget, zombieThresholdS: number, connectTimeoutMs: number): Promise<MysqlFacts> {
  const connection = await createConnection({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    ...(target.database ? { database: target.database } : {}),
    connectTimeout: connectTimeoutMs,
  });
  try {
    const query = async (text: string, values: unknown[] = []): Promise<Row[]> => (await connection.query<Row[]>(text, values))[0];
    const [settings] = await query(
      `SELECT VERSION() AS version, CURRENT_USER() AS account, @@GLOBAL.max_connections AS maxConnections,
        @@GLOBAL.max_user_connections AS globalMaxUser, @@SESSION.max_user_connections AS accountMaxUser,
        @@GLOBAL.wait_timeout AS waitGlobal, @@SESSION.wait_timeout AS waitSession,
        @@GLOBAL.interactive_timeout AS interactiveGlobal, @@SESSION.interactive_timeout AS interactiveSession,
        CONNECTION_ID() AS self`,
    );
    if (!settings) throw new Error('The server answered no row to SELECT VERSION().');
    const account = String(settings['account']);
    const user = account.slice(0, account.lastIndexOf('@'));
    const status = new Map(
      (
        await query(
          "SHOW GLOBAL STATUS WHERE Variable_name IN ('Max_used_connections', 'Connection_errors_max_connections', 'Aborted_clients', 'Aborted_connects', 'Threads_connected')",
        )
      ).map((row) => [String(row['Variable_name']), num(row['Value'])]),
    );
    const self = num(settings['self']);
    const rows = await query('SELECT ID AS id, USER AS user, COMMAND AS command, TIME AS time FROM information_schema.PROCESSLIST');
    const grants = (await query('SHOW GRANTS')).map((row) => String(Object.values(row)[0]));
    const privileged = (names: readonly string[]) =>
      grants.some((grant) => /GRANT ALL PRIVILEGES ON \*\.\*/.test(grant) || names.some((name) => grant.includes(name)));
    return {
      server: target.label,
      version: String(settings['version']),
      account,
      user,
      maxConnections: num(settings['maxConnections']),
      globalMaxUserConnections: num(settings['globalMaxUser']),
      accountMaxUserConnections: num(settings['accountMaxUser']),
      accounts: await accountLimits(query),
      waitTimeoutS: { global: num(settings['waitGlobal']), session: num(settings['waitSession']) },
      interactiveTimeoutS: { global: num(settings['interactiveGlobal']), session: num(settings['interactiveSession']) },
      status: {
        maxUsedConnections: status.get('Max_used_connections') ?? 0,
        connectionErrorsMaxConnections: status.get('Connection_errors_max_connections') ?? 0,
        abortedClients: status.get('Aborted_clients') ?? 0,
        abortedConnects: status.get('Aborted_connects') ?? 0,
        threadsConnected: status.get('Threads_connected') ?? 0,
      },
      threads: groupThreads(rows),
      seesAllThreads: privileged(['PROCESS']),
      zombies: rows
        .filter((row) => String(row['user']) === user && String(row['command']) === 'Sleep' && num(row['time']) >= zombieThresholdS && num(row['id']) !== self)
        .map((row) => ({ id: num(row['id']), idleS: num(row['time']) }))
        .sort((a, b) => b.idleS - a.idleS),
      zombieThresholdS,
      canKillOthers: privileged(['CONNECTION ADMIN', 'SUPER']),
      hasRdsKill: (await query("SELECT 1 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'mysql' AND ROUTINE_NAME = 'rds_kill'")).length > 0,
    };
  } finally {
    await connection.end().catch(() => connection.destroy());
  }
}

/** Every account's MAX_USER_CONNECTIONS, when the account may read mysql.user; undefined when it may not. */
async function accountLimits(query: (text: string) => Promise<Row[]>): Promise<MysqlFacts['accounts']> {
  try {
    const rows = await query('SELECT User AS user, Host AS host, max_user_connections AS limitValue FROM mysql.user');
    return rows.map((row) => ({ account: `${String(row['user'])}@${String(row['host'])}`, maxUserConnections: num(row['limitValue']) }));
  } catch {
    return undefined;
  }
}

function groupThreads(rows: readonly Row[]): ThreadGroup[] {
  const groups = new Map<string, { user: string; command: string; count: number; maxTimeS: number }>();
  for (const row of rows) {
    const user = String(row['user']);
    const command = String(row['command']);
    const key = `${user}\u0000${command}`;
    const group = groups.get(key) ?? { user, command, count: 0, maxTimeS: 0 };
    group.count += 1;
    group.maxTimeS = Math.max(group.maxTimeS, num(row['time']));
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => a.user.localeCompare(b.user) || b.count - a.count);
}
