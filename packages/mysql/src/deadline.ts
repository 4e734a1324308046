import { DeadlineError } from './errors.js';
import type { ResolvedOptions } from './options.js';

/** What a Lambda context offers; only the remaining time is read. */
export interface DeadlineSource {
  getRemainingTimeInMillis(): number;
}

/** The time by which every operation of this invocation must end (`setDeadline`, `useContext`); `end()` clears it. */
export class Deadline {
  /** Epoch milliseconds, or undefined for none. */
  at: number | undefined;
}

type BoundOptions = Pick<ResolvedOptions, 'now' | 'acquireTimeoutMs' | 'deadlineMarginMs' | 'queryTimeoutMs' | 'adminTimeoutMs' | 'connectTimeoutMs'>;

/** How long each kind of operation may take, within the invocation's deadline. */
export class Bounds {
  readonly #opts: BoundOptions;
  readonly #deadline: Deadline;

  constructor(opts: BoundOptions, deadline: Deadline) {
    this.#opts = opts;
    this.#deadline = deadline;
  }

  /** When the current operation must end: the deadline minus its margin, or `acquireTimeoutMs` from now. */
  operationEnd(): number {
    const own = this.#opts.now() + this.#opts.acquireTimeoutMs;
    return this.#deadline.at === undefined ? own : Math.min(own, this.#deadline.at - this.#opts.deadlineMarginMs);
  }

  /** The timeout of an application statement: the call's, else `queryTimeoutMs`, within the deadline. Throws when the deadline has passed. */
  statement(timeoutMs: number | undefined): number | undefined {
    return this.#within([timeoutMs, this.#opts.queryTimeoutMs]);
  }

  /** The timeout of a statement the connector sends for itself (processlist, re-check, KILL): `adminTimeoutMs`, within the deadline. */
  admin(): number {
    return this.#within([this.#opts.adminTimeoutMs]) ?? this.#opts.adminTimeoutMs;
  }

  /** The ping that probes an idle connection: `connectTimeoutMs`, within the operation's end. */
  probe(): number {
    return Math.min(this.#opts.connectTimeoutMs, Math.max(1, this.operationEnd() - this.#opts.now()));
  }

  #within(limits: Array<number | undefined>): number | undefined {
    if (this.#deadline.at !== undefined) limits.push(this.#deadline.at - this.#opts.deadlineMarginMs - this.#opts.now());
    const defined = limits.filter((value): value is number => value !== undefined);
    if (defined.length === 0) return undefined;
    const timeout = Math.min(...defined);
    if (timeout <= 0) throw new DeadlineError('The invocation deadline has passed; no statement was sent.', { mayHaveApplied: false });
    return timeout;
  }
}
