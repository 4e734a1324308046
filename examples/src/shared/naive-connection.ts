import { type Connection, type ConnectionOptions, createConnection } from 'mysql2/promise';

/**
 * The connection most handlers start with: one mysql2 connection per container, opened on first
 * use and kept for the container's life, never closed. A connect that fails is tried again by the
 * next call. Both naive clients of the simulators (the burst and the catalog) hold one.
 */
export class NaiveConnection {
  readonly #options: ConnectionOptions;
  readonly #onConnect: () => void;
  #connecting: Promise<Connection> | undefined;
  #connection: Connection | undefined;
  #disposed = false;

  constructor(options: ConnectionOptions, onConnect: () => void = () => {}) {
    this.#options = options;
    this.#onConnect = onConnect;
  }

  get threadId(): number | undefined {
    return this.#connection?.threadId;
  }

  get(): Promise<Connection> {
    this.#connecting ??= createConnection(this.#options).then(
      (connection) => {
        this.#onConnect();
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

  /** Drops the socket at once, as the platform does when it reclaims the container. */
  dispose(): void {
    this.#disposed = true;
    this.#connection?.destroy();
  }
}
