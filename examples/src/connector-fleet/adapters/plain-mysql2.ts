import { NaiveConnection } from '../../shared/naive-connection.js';
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
  readonly #connection: NaiveConnection;

  constructor(database: AppDatabase, counters: CounterSet) {
    const { host, port, user, password } = database;
    this.#connection = new NaiveConnection({ host, port, user, password, database: database.database }, () => counters.add('connects'));
  }

  async invoke(work: InvocationWork): Promise<void> {
    const connection = await this.#connection.get();
    await connection.query(READ_ITEM_SQL, [work.readId]);
    if (work.writeId !== undefined) await connection.query(WRITE_ITEM_SQL, [work.writeId]);
  }

  threadId(): number | undefined {
    return this.#connection.threadId;
  }

  async dispose(): Promise<void> {
    this.#connection.dispose();
  }
}
