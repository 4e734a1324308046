import {
  type AppDatabase,
  type ContainerClient,
  CounterSet,
  type DriverAdapter,
  type InvocationWork,
  READ_ITEM_SQL,
  WRITE_ITEM_SQL,
} from '@cachefront/examples/connector-fleet';
import serverlessMysql from 'serverless-mysql';

/**
 * serverless-mysql 2.1.0 with its defaults, used as its README shows: one instance per container
 * (module scope), `query()` in the handler, `end()` after each invocation. Only event callbacks are
 * passed besides the connection, and they change nothing: they count.
 *
 * Its defaults, from its index.js: full-jitter backoff, base 2 ms, cap 100 ms, 50 connect retries,
 * connUtilization 0.8, zombieMinTimeout 3 s, zombieMaxTimeout 900 s, the limit cached 15 s, the
 * processlist read on every end() (usedConnsFreq 0), no query retries.
 */
export function serverlessMysqlAdapter(): DriverAdapter {
  const counters = new CounterSet(['connects', 'retries', 'kills', 'closes', 'usageChecks']);
  return {
    name: 'serverless-mysql',
    description: 'serverless-mysql 2.1.0, defaults, end() after each invocation',
    counters: () => counters.snapshot(),
    createClient: (database) => new ServerlessMysqlClient(database, counters),
  };
}

/** The part of a mysql2 connection this adapter reads; `getClient()` returns null between connections. */
interface RawConnection {
  readonly threadId: number | null;
  destroy(): void;
}

class ServerlessMysqlClient implements ContainerClient {
  readonly #db: serverlessMysql.ServerlessMysql;
  readonly #counters: CounterSet;

  constructor(database: AppDatabase, counters: CounterSet) {
    this.#counters = counters;
    this.#db = serverlessMysql({
      config: { host: database.host, port: database.port, user: database.user, password: database.password, database: database.database },
      onConnect: () => counters.add('connects'),
      onRetry: () => counters.add('retries'),
      onKill: () => counters.add('kills'),
      onClose: () => counters.add('closes'),
    });
  }

  async invoke(work: InvocationWork): Promise<void> {
    try {
      await this.#db.query(READ_ITEM_SQL, [work.readId]);
      if (work.writeId !== undefined) await this.#db.query(WRITE_ITEM_SQL, [work.writeId]);
    } finally {
      // end() reads the processlist whenever the instance holds a connection (usedConnsFreq 0).
      if (this.#client() !== null) this.#counters.add('usageChecks');
      await this.#db.end();
    }
  }

  threadId(): number | undefined {
    return this.#client()?.threadId ?? undefined;
  }

  async dispose(): Promise<void> {
    this.#client()?.destroy();
  }

  #client(): RawConnection | null {
    return this.#db.getClient() as RawConnection | null;
  }
}
