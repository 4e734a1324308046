import { type ConnectionBudget, type Connector, type ConnectorOptions, createConnector, sql } from '@cachefront/mysql';
import type { AppDatabase, ContainerClient, DriverAdapter, InvocationWork } from '../driver-adapter.js';
import { CounterSet } from '../driver-adapter.js';

export interface CachefrontAdapterOptions {
  /** Name in the report. @default 'cachefront' */
  readonly name?: string;
  /** Connector options other than `connection` and `budget`; the connector's defaults otherwise. */
  readonly connector?: Omit<ConnectorOptions, 'connection' | 'budget'>;
  /**
   * The fleet budget of each container: called once per container, as each Lambda container
   * creates its own (`createRedisBudget({ redis: process.env.REDIS_URL })`); closed with it.
   */
  readonly budget?: () => ConnectionBudget;
}

/**
 * cachefront's connector, used as a handler should: created in module scope (no I/O), the
 * invocation's deadline set from the platform's timeout, `end()` after every invocation.
 */
export function cachefrontAdapter(options: CachefrontAdapterOptions = {}): DriverAdapter {
  const counters = new CounterSet(['connects', 'retries', 'kills', 'closes', 'reconnects', 'usageChecks', ...(options.budget ? (['handOvers'] as const) : [])]);
  const tuned = options.connector !== undefined && Object.keys(options.connector).length > 0;
  const how = [tuned ? `options ${JSON.stringify(options.connector)}` : 'defaults', ...(options.budget ? ['a fleet budget per container'] : [])].join(', ');
  return {
    name: options.name ?? 'cachefront',
    description: `@cachefront/mysql connector, end() after each invocation, ${how}`,
    counters: () => counters.snapshot(),
    createClient: (database) => new CachefrontClient(database, counters, options.connector ?? {}, options.budget?.()),
  };
}

class CachefrontClient implements ContainerClient {
  readonly #connector: Connector;
  readonly #budget: ConnectionBudget | undefined;
  #threadId: number | undefined;

  constructor(database: AppDatabase, counters: CounterSet, options: Omit<ConnectorOptions, 'connection'>, budget: ConnectionBudget | undefined) {
    const { host, port, user, password } = database;
    this.#budget = budget;
    this.#connector = createConnector({ ...options, connection: { host, port, user, password, database: database.database }, budget });
    this.#connector.on('handOver', () => counters.add('handOvers'));
    this.#connector.on('connect', ({ threadId }) => {
      counters.add('connects');
      this.#threadId = threadId;
    });
    this.#connector.on('close', ({ threadId }) => {
      counters.add('closes');
      if (threadId === this.#threadId) this.#threadId = undefined;
    });
    this.#connector.on('retry', () => counters.add('retries'));
    this.#connector.on('kill', () => counters.add('kills'));
    this.#connector.on('reconnect', () => counters.add('reconnects'));
    this.#connector.on('usage', () => counters.add('usageChecks'));
  }

  async invoke(work: InvocationWork): Promise<void> {
    this.#connector.setDeadline(work.deadline);
    try {
      await this.#connector.query(sql`SELECT id, value FROM item WHERE id = ${work.readId}`);
      if (work.writeId !== undefined) await this.#connector.execute(sql`UPDATE item SET value = value + 1 WHERE id = ${work.writeId}`);
    } finally {
      await this.#connector.end();
    }
  }

  threadId(): number | undefined {
    return this.#threadId;
  }

  async dispose(): Promise<void> {
    await this.#connector.quit();
    await this.#budget?.close();
  }
}
