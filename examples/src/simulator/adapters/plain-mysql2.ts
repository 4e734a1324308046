import { type Connection, createConnection } from 'mysql2/promise';
import {
  type AppDatabase,
  type ContainerClient,
  CounterSet,
  type DriverAdapter,
  type InvocationWork,
  READ_ITEM_SQL,
  WRITE_ITEM_SQL,
} from '../driver-adapter.js';

/**
 * The handler most functions start with: one mysql2 connection per container, opened on first use
 * and kept for the container's life, never closed. A connect that fails is tried again by the next
 * invocation.
 */
export function plainMysql2Adapter(): DriverAdapter {
  const counters = new CounterSet(['connects', 'kills']);
  return {
    name: 'mysql2',
    description: 'plain mysql2, one connection per container, never closed',
    counters: () => counters.snapshot(),
    createClient: (database) => new PlainMysql2Client(database, counters),
  };
}

class PlainMysql2Client implements ContainerClient {
  readonly #database: AppDatabase;
  readonly #counters: CounterSet;
  #connecting: Promise<Connection> | undefined;
  #connection: Connection | undefined;
  #disposed = false;

  constructor(database: AppDatabase, counters: CounterSet) {
    this.#database = database;
    this.#counters = counters;
  }

  async invoke(work: InvocationWork): Promise<void> {
    const connection = await this.#connect();
    await connection.query(READ_ITEM_SQL, [work.readId]);
    if (work.writeId !== undefined) await connection.query(WRITE_ITEM_SQL, [work.writeId]);
  }

  threadId(): number | undefined {
    return this.#connection?.threadId;
  }

  async dispose(): Promise<void> {
    this.#disposed = true;
    this.#connection?.destroy();
  }

  #connect(): Promise<Connection> {
    this.#connecting ??= createConnection({
      host: this.#database.host,
      port: this.#database.port,
      user: this.#database.user,
      password: this.#database.password,
      database: this.#database.database,
    }).then(
      (connection) => {
        this.#counters.add('connects');
        // Without a listener, a server-side close would throw from the event loop and take every
        // simulated container down with it (a real container would just crash and restart).
        connection.on('error', () => {});
        if (this.#disposed) connection.destroy();
        this.#connection = connection;
        return connection;
      },
      (error: unknown) => {
        this.#connecting = undefined;
        throw error;
      },
    );
    return this.#connecting;
  }
}
