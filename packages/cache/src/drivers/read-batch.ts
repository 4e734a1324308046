import type { ReadResult } from './driver.js';

/** The most keys one batched MGET carries; a batch that reaches it is sent at once. */
const MAX_BATCH_KEYS = 1024;
/**
 * The most reads one batch carries. A batch is sent once it holds half the reads outstanding (sent
 * and unanswered, plus its own), or 32: so at least two batches are in flight, and Redis answers
 * one while this process decodes the other, where one batch of everything would leave each side
 * idle while the other works. Measured (`bench:cache`, 4 / 16 / 64 in flight): 60k / 95k / 122k
 * hits a second, against 43k / 75k / 120k with every batch filled to 32, and 20% fewer at 64 in
 * flight with one batch of all 64.
 */
const MAX_BATCH_READS = 32;

interface Part {
  readonly keys: readonly string[];
  readonly tagKeys: readonly string[];
  readonly resolve: (result: ReadResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The reads of one turn of the event loop, sent as one MGET. A hit is one read, and a process
 * serving many requests at once makes many in the same turn: sent one by one, each costs a
 * command, a socket write and a reply of its own, which is most of what a hit costs. Batched, they
 * cost one of each, and the reply is split back in order. An MGET reads all its keys at one
 * instant, so a batch promises each read everything a read of its own would.
 *
 * A read that finds nothing in flight is sent at once. The others gather and are sent when their
 * batch is full (`MAX_BATCH_READS`) or on `process.nextTick`, so every read started while the
 * current callbacks and their promise reactions run can join, and none waits longer than that.
 * Only for a single Redis: on a cluster the keys of one batch are in many slots.
 */
export class ReadBatcher {
  #parts: Part[] = [];
  #keyCount = 0;
  #scheduled = false;
  /** Batches sent and not answered yet. */
  #inFlight = 0;
  /** Reads sent and not answered yet. */
  #outstanding = 0;

  constructor(private readonly mget: (keys: string[]) => Promise<Array<Buffer | null>>) {}

  read(keys: readonly string[], tagKeys: readonly string[]): Promise<ReadResult> {
    return new Promise<ReadResult>((resolve, reject) => {
      this.#parts.push({ keys, tagKeys, resolve, reject });
      this.#keyCount += keys.length + tagKeys.length;
      // Nothing in flight: this read goes at once (a read alone waits for no tick), and the ones
      // that follow in this turn gather behind it, each batch up to half of what is outstanding.
      const full = Math.min(MAX_BATCH_READS, Math.ceil((this.#outstanding + this.#parts.length) / 2));
      if (this.#inFlight === 0 || this.#keyCount >= MAX_BATCH_KEYS || this.#parts.length >= full) {
        this.#send(this.#take());
      } else if (!this.#scheduled) {
        this.#scheduled = true;
        process.nextTick(this.#flush);
      }
    });
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const parts = this.#take();
    if (parts.length > 0) this.#send(parts);
  };

  #take(): Part[] {
    const parts = this.#parts;
    this.#parts = [];
    this.#keyCount = 0;
    return parts;
  }

  #send(parts: readonly Part[]): void {
    const keys: string[] = [];
    for (const part of parts) {
      for (const key of part.keys) keys.push(key);
      for (const key of part.tagKeys) keys.push(key);
    }
    this.#inFlight += 1;
    this.#outstanding += parts.length;
    let sent: Promise<Array<Buffer | null>>;
    try {
      sent = this.mget(keys);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (all) => {
        this.#inFlight -= 1;
        this.#outstanding -= parts.length;
        let at = 0;
        for (const part of parts) {
          const values = all.slice(at, at + part.keys.length);
          at += part.keys.length;
          const tags = new Array<string | null>(part.tagKeys.length);
          for (let i = 0; i < tags.length; i += 1) {
            const token = all[at + i];
            tags[i] = token === null || token === undefined ? null : token.toString();
          }
          at += tags.length;
          part.resolve({ values, tags });
        }
      },
      (error: unknown) => {
        this.#inFlight -= 1;
        this.#outstanding -= parts.length;
        for (const part of parts) part.reject(error);
      },
    );
  }
}
