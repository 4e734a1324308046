import { describe, expect, it } from 'vitest';
import type { Connector } from './connector.js';
import { ConnectError, OptionsError } from './errors.js';
import { ReadRouting, type RoutingContext } from './readers.js';
import type { SqlStatement } from './sql.js';

/**
 * A connector as the routing sees it: a name, events the test fires, and a MariaDB that answers
 * `VERSION()` and `MASTER_GTID_WAIT` — applied up to `applied` in domain 0 — recording each wait.
 */
function endpoint(name: string) {
  const listeners = new Map<string, Array<(payload: unknown) => void>>();
  const state = { applied: 0, waits: [] as string[], down: false };
  const connector = {
    name,
    on(event: string, listener: (payload: unknown) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return () => undefined;
    },
    async query(statement: SqlStatement) {
      if (state.down) throw new ConnectError('refused', { attempts: 1 });
      if (statement.text.includes('VERSION()')) return [{ version: '10.11.6-MariaDB' }];
      if (statement.text.includes('gtid_binlog_pos')) return [{ position: `0-1-${state.applied}` }];
      const position = String(statement.values[0]);
      state.waits.push(position);
      const wanted = Math.max(...position.split(',').map((gtid) => Number(gtid.split('-')[2])));
      return [{ r: wanted <= state.applied ? 0 : -1 }];
    },
  } as unknown as Connector & { name: string };
  const fire = (event: string, payload: unknown) => {
    for (const listener of listeners.get(event) ?? []) listener(payload);
  };
  return { connector, fire, state };
}

const name = (c: Connector) => (c as Connector & { name: string }).name;
const known = (context: Partial<RoutingContext> = {}): RoutingContext => ({ lastInvalidatedAt: undefined, invalidationsKnown: true, ...context });

describe('read routing: the lag window', () => {
  const clock = { now: 1_000_000 };
  const writer = endpoint('writer');
  const a = endpoint('a');
  const b = endpoint('b');
  const routing = new ReadRouting(writer.connector, {
    readers: [a.connector, b.connector],
    lagSafety: 'window',
    lagWindowMs: 2000,
    readerRetryMs: 5000,
    now: () => clock.now,
  });
  const route = (context?: Partial<RoutingContext>) => name(routing.for(known(context)) as Connector);

  it('takes the readers in turn, and the writer for entries invalidated within the lag window', () => {
    expect([route(), route(), route()]).toEqual(['a', 'b', 'a']);
    expect(route({ lastInvalidatedAt: clock.now - 1999 })).toBe('writer');
    expect(route({ lastInvalidatedAt: clock.now - 2000 })).toBe('b');
    // Positions are not waited for in this mode.
    expect(route({ lastInvalidatedAt: clock.now - 5000, positions: ['0-1-99'] })).toBe('a');
    expect(a.state.waits).toEqual([]);
  });

  it('reads the writer when the invalidations are unknown (Redis bypassed)', () => {
    expect(route({ invalidationsKnown: false })).toBe('writer');
  });

  it('skips a reader that failed to connect for readerRetryMs, and takes it back once it connects', () => {
    a.fire('error', { error: new ConnectError('refused', { attempts: 1 }) });
    expect([route(), route()]).toEqual(['b', 'b']);
    b.fire('error', { error: new ConnectError('refused', { attempts: 1 }) });
    expect(route()).toBe('writer');
    clock.now += 5001;
    expect(route()).not.toBe('writer');
    a.fire('connect', {});
    expect([route(), route()].sort()).toEqual(['a', 'b']);
  });

  it('records no write position', async () => {
    expect(await routing.writePosition()).toBeUndefined();
  });
});

describe('read routing: the position wait', () => {
  const clock = { now: 1_000_000 };
  const writer = endpoint('writer');
  const a = endpoint('a');
  const routing = new ReadRouting(writer.connector, {
    readers: [a.connector],
    lagSafety: 'position',
    lagWindowMs: 2000,
    positionWaitMs: 50,
    readerRetryMs: 5000,
    now: () => clock.now,
  });
  const route = async (context?: Partial<RoutingContext>) => name(await routing.for(known(context)));

  it('records the writer’s position after a write', async () => {
    writer.state.applied = 7;
    expect(await routing.writePosition()).toBe('0-1-7');
  });

  it('reads the reader once it has applied every position, merged into one wait', async () => {
    a.state.applied = 10;
    expect(await route({ lastInvalidatedAt: clock.now - 1, positions: ['0-1-9', '0-1-10,1-2-3'] })).toBe('a');
    expect(a.state.waits).toEqual(['0-1-10,1-2-3']);
  });

  it('asks no more for a position the reader is known to have applied', async () => {
    expect(await route({ lastInvalidatedAt: clock.now - 1, positions: ['0-1-4'] })).toBe('a');
    expect(a.state.waits).toHaveLength(1);
  });

  it('reads the writer, and skips the reader for a while, when it does not reach the position in time', async () => {
    expect(await route({ lastInvalidatedAt: clock.now - 1, positions: ['0-1-11'] })).toBe('writer');
    expect(a.state.waits.at(-1)).toBe('0-1-11');
    // Far behind: skipped, without another wait, until readerRetryMs passed.
    expect(await route()).toBe('writer');
    clock.now += 5001;
    expect(await route()).toBe('a');
  });

  it('falls back to the window for an invalidation that recorded no position', async () => {
    expect(await route({ lastInvalidatedAt: clock.now - 10, lastUnpositionedAt: clock.now - 10, positions: [] })).toBe('writer');
    expect(await route({ lastInvalidatedAt: clock.now - 2500, lastUnpositionedAt: clock.now - 2500, positions: [] })).toBe('a');
  });

  it('reads the writer when the reader cannot be asked', async () => {
    a.state.down = true;
    expect(await route({ lastInvalidatedAt: clock.now - 1, positions: ['0-1-12'] })).toBe('writer');
  });
});

describe('read routing options', () => {
  it('refuses bad options and a writer among the readers', () => {
    const writer = endpoint('writer').connector;
    expect(() => new ReadRouting(writer, { readers: [writer] })).toThrow(OptionsError);
    expect(() => new ReadRouting(writer, { readers: [], lagWindowMs: -1 })).toThrow(OptionsError);
    expect(() => new ReadRouting(writer, { readers: [], positionWaitMs: Number.NaN })).toThrow(OptionsError);
    expect(() => new ReadRouting(writer, { readers: [], lagSafety: 'sometimes' as 'window' })).toThrow(OptionsError);
    expect(name(new ReadRouting(writer, { readers: [] }).for(known()) as Connector)).toBe('writer');
  });
});
