import { type Connection, createConnection, type RowDataPacket } from 'mysql2/promise';

/** Where the administrative (root) session connects. */
export interface AdminConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

/**
 * One privileged connection, separate from the fleet: it sets the run up, watches the processlist
 * and cleans up. Statements on it run one at a time (mysql2 queues them on the connection).
 */
export class AdminSession {
  readonly #connection: Connection;

  private constructor(connection: Connection) {
    this.#connection = connection;
    // A server-side close while idle must not crash the process; the next statement reports it.
    connection.on('error', () => {});
  }

  static async open(config: AdminConfig): Promise<AdminSession> {
    const connection = await createConnection({ ...config, supportBigNumbers: true, bigNumberStrings: false });
    return new AdminSession(connection);
  }

  async rows<T extends object>(text: string, values: readonly unknown[] = []): Promise<T[]> {
    const [rows] = await this.#connection.query<RowDataPacket[]>(text, [...values]);
    return rows as unknown as T[];
  }

  async run(text: string, values: readonly unknown[] = []): Promise<void> {
    await this.#connection.query(text, [...values]);
  }

  /** Thread ids of a user's connections, as the server sees them now. */
  async threadIdsOf(user: string): Promise<number[]> {
    const rows = await this.rows<{ id: number }>('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ?', [user]);
    return rows.map((row) => Number(row.id));
  }

  /** Kills every connection of a user and waits until the server has let them all go. */
  async killAllOf(user: string, timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    const killed = new Set<number>();
    for (;;) {
      const ids = await this.threadIdsOf(user);
      if (ids.length === 0) return killed.size;
      if (Date.now() > deadline) throw new Error(`${ids.length} connections of ${user} survived KILL for ${timeoutMs} ms.`);
      for (const id of ids) {
        try {
          await this.run('KILL CONNECTION ?', [id]);
          killed.add(id);
        } catch (error) {
          // 1094 ER_NO_SUCH_THREAD: it closed on its own meanwhile.
          if ((error as { errno?: unknown }).errno !== 1094) throw error;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async close(): Promise<void> {
    try {
      await this.#connection.end();
    } catch {
      this.#connection.destroy();
    }
  }
}
