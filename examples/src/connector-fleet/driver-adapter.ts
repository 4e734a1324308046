/**
 * The seam between the simulator and a database client library. The simulator never imports a
 * driver: it asks an adapter for one client per container and drives it through these few calls,
 * so the same burst runs unchanged against plain mysql2, serverless-mysql or cachefront.
 */

/** Where the application's database is, and as whom the containers connect. */
export interface AppDatabase {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** Ids present in the `item` table: 1..rows. */
  readonly rows: number;
}

/** What one invocation asks of the database. */
export interface InvocationWork {
  /** Row read by every invocation. */
  readonly readId: number;
  /** Row updated by the invocation, when it writes. */
  readonly writeId: number | undefined;
  /** Epoch milliseconds by which the platform kills the invocation (the Lambda timeout). */
  readonly deadline: number;
}

/** The database client of one container: created cold, reused warm, and never told when it dies. */
export interface ContainerClient {
  /** Runs the invocation's statements, then whatever the library wants after each invocation (`end()`). */
  invoke(work: InvocationWork): Promise<void>;
  /** The server thread id of the connection the client holds now, if any. */
  threadId(): number | undefined;
  /**
   * Closes the client's sockets at the end of a run. The simulator calls it only at teardown, never
   * when a container expires: an expired container's connection is left open, as the platform does.
   */
  dispose(): Promise<void>;
}

/** The `item` table every handler reads and writes: `id INT PRIMARY KEY, value INT`. */
export const READ_ITEM_SQL = 'SELECT id, value FROM item WHERE id = ?';
export const WRITE_ITEM_SQL = 'UPDATE item SET value = value + 1 WHERE id = ?';

export type CounterName =
  /** Physical connections opened. */
  | 'connects'
  /** Connect attempts retried after a limit error. */
  | 'retries'
  /** Other containers' connections (zombies) killed by the library. */
  | 'kills'
  /** Own connections closed by the library (to get under its utilization threshold, or after a loss). */
  | 'closes'
  /** Connections replaced after they were found dead. */
  | 'reconnects'
  /** Processlist reads made to check utilization. */
  | 'usageChecks'
  /** Slots of a fleet budget handed over at end() because other containers waited. */
  | 'handOvers';

/** Counters a driver reports over a whole run. A counter the library cannot observe is left out. */
export type DriverCounters = Readonly<Partial<Record<CounterName, number>>>;

/** The counters an adapter observes, all starting at zero. */
export class CounterSet {
  readonly #values = new Map<CounterName, number>();

  constructor(observed: readonly CounterName[]) {
    for (const name of observed) this.#values.set(name, 0);
  }

  add(name: CounterName, by = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) + by);
  }

  snapshot(): DriverCounters {
    return Object.fromEntries(this.#values);
  }
}

/** A client library under test: a name for the report, a factory, and the counters of all its clients. */
export interface DriverAdapter {
  readonly name: string;
  /** One line on how the library is used ("end() after each invocation", "defaults"). */
  readonly description: string;
  createClient(database: AppDatabase): ContainerClient;
  counters(): DriverCounters;
}
