/**
 * The history checker: one property — no read returns a version older than a write that had
 * returned before the read began — checked over every operation of a run, after the run.
 *
 * Every operation is recorded with its start and end on one clock (CLOCK_MONOTONIC, which every
 * process on the machine shares: `process.hrtime.bigint()`), its outcome and, for reads, the
 * version it returned. A write bumps its row's version (`version = version + 1`, so versions grow
 * in commit order) and logs its own unique id with that version in the same transaction, so after
 * the run the database says exactly which writes committed (a rolled-back write's version is
 * taken again by the next write of the row: versions alone cannot say).
 *
 * When a committed write counts as returned (its *effective end*):
 * - `ok`: when `write()` returned;
 * - `unknown` (the COMMIT's outcome was unknown, `mayHaveCommitted`, and the layer invalidated
 *   anyway): when it threw;
 * - `pending` (`InvalidationPendingError`: committed, invalidation not delivered): when its outbox
 *   row was seen gone, i.e. once some layer replayed it — the contract after that error;
 * - `failed`: must not have committed at all (else it is a violation of its own).
 * A read is checked against every committed write of its key whose effective end precedes the
 * read's start. Reads that failed (an error) make no claim and are not checked; a `stale` read is
 * a violation unless the run allows stale values.
 */

export type Outcome = 'ok' | 'unknown' | 'pending' | 'failed';

export interface WriteOp {
  readonly kind: 'write';
  /** Unique per write of a run: what the write log records. */
  readonly id: string;
  readonly process: number;
  readonly layer: number;
  readonly key: number;
  /** Microseconds on the shared monotonic clock. */
  readonly start: number;
  readonly end: number;
  readonly outcome: Outcome;
  /** The version the write's UPDATE produced (known even when its COMMIT failed). */
  readonly version: number | undefined;
  /** For `pending`: the outbox row holding its tags. */
  readonly outboxId?: number | undefined;
  /** The error's code, when it threw. */
  readonly error?: string | undefined;
}

export interface ReadOp {
  readonly kind: 'read';
  readonly process: number;
  readonly layer: number;
  readonly key: number;
  readonly start: number;
  readonly end: number;
  /** Undefined when the read threw. */
  readonly version: number | undefined;
  readonly status?: 'fresh' | 'stale' | 'miss' | undefined;
  readonly error?: string | undefined;
  /** Read through `getMany` (one of a batch). */
  readonly batch?: boolean;
}

export type Op = WriteOp | ReadOp;

export interface Facts {
  /** The write log: the version each committed write produced, by write id. */
  readonly committed: ReadonlyMap<string, number>;
  /** When each outbox row was first seen gone (microseconds, same clock). */
  readonly outboxGoneAt: ReadonlyMap<number, number>;
  /** Whether `stale` reads are allowed (a repository that opted into serving them). */
  readonly allowStale: boolean;
}

export interface Violation {
  readonly kind: 'stale-read' | 'unflagged-stale' | 'phantom-read' | 'lost-write' | 'failed-but-committed';
  readonly message: string;
  readonly ops: readonly Op[];
}

export interface CheckResult {
  readonly reads: number;
  readonly checkedReads: number;
  readonly writes: number;
  readonly committedWrites: number;
  readonly violations: readonly Violation[];
}

interface Known {
  readonly version: number;
  readonly effectiveEnd: number;
  readonly op: WriteOp;
}

/** Checks a whole run. Pure: the same history and facts always give the same result. */
export function checkHistory(ops: readonly Op[], facts: Facts): CheckResult {
  const violations: Violation[] = [];
  const byKey = new Map<number, Known[]>();
  // Versions that ever committed, per key (0 is the seed), for reads that return a version no write made.
  const versions = new Map<number, Set<number>>();
  for (const op of ops) {
    if (op.kind !== 'write') continue;
    const version = facts.committed.get(op.id);
    if (version === undefined) continue;
    const set = versions.get(op.key) ?? new Set<number>();
    set.add(version);
    versions.set(op.key, set);
  }
  let writes = 0;
  let committedWrites = 0;
  for (const op of ops) {
    if (op.kind !== 'write') continue;
    writes += 1;
    const logged = facts.committed.get(op.id);
    const committed = logged !== undefined;
    if (committed && op.version !== undefined && logged !== op.version) {
      violations.push({ kind: 'lost-write', message: `write of key ${op.key} saw version ${op.version} but the log holds ${logged}`, ops: [op] });
    }
    if (op.outcome === 'ok' && !committed) {
      violations.push({ kind: 'lost-write', message: `write of key ${op.key} returned version ${op.version} but the version never committed`, ops: [op] });
      continue;
    }
    if (op.outcome === 'failed' && committed) {
      violations.push({
        kind: 'failed-but-committed',
        message: `write of key ${op.key} threw ${op.error} (not a may-have-committed error) but committed version ${op.version}`,
        ops: [op],
      });
    }
    if (!committed || op.version === undefined) continue;
    committedWrites += 1;
    const effectiveEnd = effectiveEndOf(op, facts);
    if (effectiveEnd === undefined) continue;
    let list = byKey.get(op.key);
    if (!list) {
      list = [];
      byKey.set(op.key, list);
    }
    list.push({ version: op.version, effectiveEnd, op });
  }
  // Per key: writes by effective end, with the running maximum version, for a binary search per read.
  const index = new Map<number, { ends: number[]; best: Known[] }>();
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.effectiveEnd - b.effectiveEnd);
    const ends: number[] = [];
    const best: Known[] = [];
    for (const known of list) {
      const previous = best.at(-1);
      ends.push(known.effectiveEnd);
      best.push(previous && previous.version > known.version ? previous : known);
    }
    index.set(key, { ends, best });
  }
  let reads = 0;
  let checkedReads = 0;
  for (const op of ops) {
    if (op.kind !== 'read') continue;
    reads += 1;
    if (op.version === undefined) continue;
    checkedReads += 1;
    if (op.version !== 0 && !(versions.get(op.key)?.has(op.version) ?? false)) {
      violations.push({ kind: 'phantom-read', message: `read of key ${op.key} returned version ${op.version}, which never committed`, ops: [op] });
      continue;
    }
    if (op.status === 'stale' && !facts.allowStale) {
      violations.push({ kind: 'unflagged-stale', message: `read of key ${op.key} was served stale, which this run never asked for`, ops: [op] });
      continue;
    }
    if (op.status === 'stale') continue;
    const entry = index.get(op.key);
    if (!entry) continue;
    const at = lastBefore(entry.ends, op.start);
    if (at < 0) continue;
    const required = entry.best[at] as Known;
    if (op.version < required.version) {
      violations.push({
        kind: 'stale-read',
        message: `read of key ${op.key} (${op.status}) returned version ${op.version}, but version ${required.version} had returned ${Math.round(op.start - required.effectiveEnd)} µs before the read began`,
        ops: [required.op, op],
      });
    }
  }
  return { reads, checkedReads, writes, committedWrites, violations };
}

function effectiveEndOf(op: WriteOp, facts: Facts): number | undefined {
  if (op.outcome === 'ok' || op.outcome === 'unknown') return op.end;
  if (op.outcome === 'pending') {
    // Replayed by some layer: from then on the promise of a returned write holds.
    const gone = op.outboxId === undefined ? undefined : facts.outboxGoneAt.get(op.outboxId);
    return gone === undefined ? undefined : Math.max(gone, op.end);
  }
  // A failed write that committed anyway is reported above; hold it to the strict rule as well.
  return op.end;
}

/** The index of the last element ≤ `value` in ascending `sorted`, or -1. */
function lastBefore(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < value) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** A violation as a person reads it: what was wrong, then each operation with its timing relative to the first. */
export function describeViolation(violation: Violation): string {
  const origin = Math.min(...violation.ops.map((op) => op.start));
  const lines = violation.ops.map((op) => {
    const when = `[+${((op.start - origin) / 1000).toFixed(3)} ms → +${((op.end - origin) / 1000).toFixed(3)} ms]`;
    const who = `p${op.process}/l${op.layer}`;
    if (op.kind === 'write') {
      return `  ${when} ${who} write key ${op.key} → version ${op.version} (${op.outcome}${op.error ? `, ${op.error}` : ''}${op.outboxId === undefined ? '' : `, outbox #${op.outboxId}`})`;
    }
    return `  ${when} ${who} read${op.batch ? ' (getMany)' : ''} key ${op.key} → version ${op.version} (${op.status ?? op.error})`;
  });
  return [`${violation.kind}: ${violation.message}`, ...lines].join('\n');
}
