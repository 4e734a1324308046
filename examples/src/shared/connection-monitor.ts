import type { AdminSession } from './admin-session.js';

/**
 * Counts the user's established connections. Threads still in the login handshake, or already
 * killed, are left out: a connection the server refuses with 1040 / 1203 / 1226 shows in the
 * processlist for a moment under the user's name (`Killed`, state `login`), but never held a slot.
 */
export const ESTABLISHED_CONNECTIONS_SQL =
  "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND COMMAND NOT IN ('Connect', 'Killed') AND COALESCE(STATE, '') <> 'login'";

/** Samples how many connections the application's user holds, from the admin session, every `intervalMs`. */
export class ConnectionMonitor {
  readonly #admin: AdminSession;
  readonly #user: string;
  readonly #intervalMs: number;
  #latest = 0;
  #peak = 0;
  #samples = 0;
  #running: Promise<void> | undefined;
  #stopping = false;

  constructor(admin: AdminSession, user: string, intervalMs = 20) {
    this.#admin = admin;
    this.#user = user;
    this.#intervalMs = intervalMs;
  }

  /** Connections of the user at the last sample. */
  get latest(): number {
    return this.#latest;
  }

  get peak(): number {
    return this.#peak;
  }

  get samples(): number {
    return this.#samples;
  }

  start(): void {
    if (this.#running) return;
    this.#stopping = false;
    this.#running = this.#loop();
  }

  /** Stops sampling after the sample in flight, and returns the peak. */
  async stop(): Promise<number> {
    this.#stopping = true;
    await this.#running;
    this.#running = undefined;
    return this.#peak;
  }

  async #loop(): Promise<void> {
    while (!this.#stopping) {
      const started = Date.now();
      const rows = await this.#admin.rows<{ n: number }>(ESTABLISHED_CONNECTIONS_SQL, [this.#user]);
      this.#latest = Number(rows[0]?.n ?? 0);
      this.#peak = Math.max(this.#peak, this.#latest);
      this.#samples += 1;
      const wait = this.#intervalMs - (Date.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
