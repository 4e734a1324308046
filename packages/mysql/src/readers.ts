/**
 * Read replicas for repository loads: which connector a load reads from. A load reads from a
 * reader, round-robin, unless its entry's tags were invalidated within `lagWindowMs` — then a
 * replica may not have applied that write yet, and caching its row would serve the old value as
 * fresh, so the load reads the writer (lag-safe fills). A reader that failed to connect is skipped
 * for `readerRetryMs`; with every reader skipped, the writer answers. Writes and transactions never
 * come here: they always use the writer.
 */
import type { Connector } from './connector.js';
import { ConnectError, OptionsError } from './errors.js';

export interface ReadRoutingOptions {
  /** The replicas' connectors (one per endpoint, or Aurora's reader endpoint). */
  readonly readers: readonly Connector[];
  /**
   * How long after a tag's last invalidation the entries with that tag are loaded from the writer.
   * Cover the replicas' usual lag plus the clock skew between containers (the invalidation's time
   * is the invalidating container's clock). @default 2000
   */
  readonly lagWindowMs?: number;
  /** How long a reader that failed to connect is skipped. @default 5000 */
  readonly readerRetryMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

export class ReadRouting {
  readonly #writer: Connector;
  readonly #readers: readonly Connector[];
  readonly #lagWindowMs: number;
  readonly #retryMs: number;
  readonly #now: () => number;
  readonly #downUntil = new Map<Connector, number>();
  #next = 0;

  constructor(writer: Connector, options: ReadRoutingOptions) {
    this.#writer = writer;
    this.#readers = [...options.readers];
    this.#lagWindowMs = options.lagWindowMs ?? 2000;
    this.#retryMs = options.readerRetryMs ?? 5000;
    this.#now = options.now ?? Date.now;
    for (const [name, value] of [
      ['lagWindowMs', this.#lagWindowMs],
      ['readerRetryMs', this.#retryMs],
    ] as const) {
      if (!(Number.isFinite(value) && value >= 0)) throw new OptionsError(`\`${name}\` must be a number ≥ 0.`);
    }
    if (this.#readers.includes(writer)) throw new OptionsError('The writer cannot also be one of the `readers`.');
    for (const reader of this.#readers) {
      reader.on('error', ({ error }) => {
        if (error instanceof ConnectError) this.#downUntil.set(reader, this.#now() + this.#retryMs);
      });
      reader.on('connect', () => {
        this.#downUntil.delete(reader);
      });
    }
  }

  /** Every connector: the writer first. */
  get all(): readonly Connector[] {
    return [this.#writer, ...this.#readers];
  }

  /** Whether `connector` is one of the readers. */
  isReader(connector: unknown): boolean {
    return this.#readers.includes(connector as Connector);
  }

  /** The connector a load reads from, given the newest invalidation of its entry's tags. */
  for(lastInvalidatedAt: number | undefined): Connector {
    const now = this.#now();
    if (this.#readers.length === 0) return this.#writer;
    if (lastInvalidatedAt !== undefined && now - lastInvalidatedAt < this.#lagWindowMs) return this.#writer;
    for (let i = 0; i < this.#readers.length; i += 1) {
      const index = (this.#next + i) % this.#readers.length;
      const reader = this.#readers[index] as Connector;
      if ((this.#downUntil.get(reader) ?? 0) > now) continue;
      this.#next = (index + 1) % this.#readers.length;
      return reader;
    }
    return this.#writer;
  }
}
