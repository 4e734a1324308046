/**
 * Read replicas for repository loads: which connector a load reads from. A load reads from a
 * reader, round-robin, unless that could cache an old row as fresh — a replica may not have applied
 * the write behind the entry's newest invalidation yet (lag-safe fills). Two ways to know:
 *
 *   'window'     for `lagWindowMs` after a tag's last invalidation, its entries load from the writer;
 *   'position'   a write records the writer's GTID position in its invalidation, and a load first
 *                waits (at most `positionWaitMs`) until the reader has applied it; past that, the
 *                writer answers and the reader is skipped for a while (it is far behind).
 *                An invalidation without a position (a replayed outbox row, `repo.invalidate()`)
 *                falls back to the window.
 *
 * A load whose entries' invalidations are unknown (Redis could not be read) reads the writer. A
 * reader that failed to connect is skipped for `readerRetryMs`; with every reader skipped, the
 * writer answers. Writes and transactions never come here: they always use the writer.
 */
import type { Connector } from './connector.js';
import { ConnectError, OptionsError } from './errors.js';
import { AppliedPositions, currentPosition, merge, waitForPosition } from './gtid.js';

export type LagSafety = 'window' | 'position';

export interface ReadRoutingOptions {
  /** The replicas' connectors (one per endpoint, or Aurora's reader endpoint). */
  readonly readers: readonly Connector[];
  /** How fills after an invalidation avoid a lagging replica's old row. @default 'position' */
  readonly lagSafety?: LagSafety;
  /**
   * How long after a tag's last invalidation the entries with that tag are loaded from the writer
   * ('window', and 'position' for invalidations without a position). Cover the replicas' usual lag:
   * the invalidation's time is taken on Redis' clock, so containers' clock skew does not count.
   * @default 2000
   */
  readonly lagWindowMs?: number;
  /** 'position': how long a load waits for its reader to apply the write's position before it reads the writer. @default 250 */
  readonly positionWaitMs?: number;
  /** How long a reader that failed to connect, or did not reach a position in time, is skipped. @default 5000 */
  readonly readerRetryMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

/** What a load tells the routing of its entries' invalidations (the cache's `LoadContext`). */
export interface RoutingContext {
  readonly lastInvalidatedAt: number | undefined;
  /** The GTID positions the invalidations recorded. */
  readonly positions?: readonly string[] | undefined;
  /** The newest invalidation that recorded no position. */
  readonly lastUnpositionedAt?: number | undefined;
  /** False when the invalidations could not be read (Redis bypassed, or not trusted): the writer answers. */
  readonly invalidationsKnown?: boolean;
}

export class ReadRouting {
  readonly #writer: Connector;
  readonly #readers: readonly Connector[];
  readonly #lagSafety: LagSafety;
  readonly #lagWindowMs: number;
  readonly #waitMs: number;
  readonly #retryMs: number;
  readonly #now: () => number;
  readonly #downUntil = new Map<Connector, number>();
  readonly #applied = new Map<Connector, AppliedPositions>();
  #next = 0;

  constructor(writer: Connector, options: ReadRoutingOptions) {
    this.#writer = writer;
    this.#readers = [...options.readers];
    this.#lagSafety = options.lagSafety ?? 'position';
    this.#lagWindowMs = options.lagWindowMs ?? 2000;
    this.#waitMs = options.positionWaitMs ?? 250;
    this.#retryMs = options.readerRetryMs ?? 5000;
    this.#now = options.now ?? Date.now;
    if (this.#lagSafety !== 'window' && this.#lagSafety !== 'position') throw new OptionsError("`lagSafety` must be 'window' or 'position'.");
    for (const [name, value] of [
      ['lagWindowMs', this.#lagWindowMs],
      ['positionWaitMs', this.#waitMs],
      ['readerRetryMs', this.#retryMs],
    ] as const) {
      if (!(Number.isFinite(value) && value >= 0)) throw new OptionsError(`\`${name}\` must be a number ≥ 0.`);
    }
    if (this.#readers.includes(writer)) throw new OptionsError('The writer cannot also be one of the `readers`.');
    for (const reader of this.#readers) {
      this.#applied.set(reader, new AppliedPositions());
      reader.on('error', ({ error }) => {
        if (error instanceof ConnectError) this.#skip(reader);
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

  /**
   * After a write's COMMIT: the position its invalidation records ('position' with readers), read
   * on the writer; undefined otherwise. Its failure is the caller's to absorb (the invalidation
   * then has no position, and the window covers it).
   */
  async writePosition(): Promise<string | undefined> {
    if (this.#lagSafety !== 'position' || this.#readers.length === 0) return undefined;
    return currentPosition(this.#writer);
  }

  /** The connector a load reads from, given its entries' invalidations; a promise only while it waits for a reader's position. */
  for(context: RoutingContext): Connector | Promise<Connector> {
    if (this.#readers.length === 0 || context.invalidationsKnown === false) return this.#writer;
    const now = this.#now();
    const unpositioned = this.#lagSafety === 'window' ? context.lastInvalidatedAt : context.lastUnpositionedAt;
    if (unpositioned !== undefined && now - unpositioned < this.#lagWindowMs) return this.#writer;
    const reader = this.#pick(now);
    const positions = this.#lagSafety === 'position' ? (context.positions ?? []) : [];
    if (reader === this.#writer || positions.length === 0) return reader;
    const position = merge(positions);
    const applied = this.#applied.get(reader) as AppliedPositions;
    if (applied.covers(position)) return reader;
    return this.#waitOn(reader, position, applied);
  }

  /** The reader once it has applied `position`; the writer when it did not in time (the reader is then skipped) or could not be asked. */
  async #waitOn(reader: Connector, position: string, applied: AppliedPositions): Promise<Connector> {
    let reached: boolean;
    try {
      reached = await waitForPosition(reader, position, this.#waitMs);
    } catch {
      return this.#writer; // a reader that cannot be reached is skipped by its connector's 'error' event
    }
    if (reached) {
      applied.record(position);
      return reader;
    }
    this.#skip(reader);
    return this.#writer;
  }

  #skip(reader: Connector): void {
    this.#downUntil.set(reader, this.#now() + this.#retryMs);
  }

  /** The next reader not skipped, round-robin; the writer when every reader is. */
  #pick(now: number): Connector {
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
