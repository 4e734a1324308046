import { describe, expect, it } from 'vitest';
import type { Connector } from './connector.js';
import { ConnectError, OptionsError } from './errors.js';
import { ReadRouting } from './readers.js';

/** A connector as the routing sees it: a name, and events the test fires. */
function endpoint(name: string) {
  const listeners = new Map<string, Array<(payload: unknown) => void>>();
  const connector = {
    name,
    on(event: string, listener: (payload: unknown) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return () => undefined;
    },
  } as unknown as Connector & { name: string };
  const fire = (event: string, payload: unknown) => {
    for (const listener of listeners.get(event) ?? []) listener(payload);
  };
  return { connector, fire };
}

describe('read routing', () => {
  const clock = { now: 1_000_000 };
  const writer = endpoint('writer');
  const a = endpoint('a');
  const b = endpoint('b');
  const routing = new ReadRouting(writer.connector, { readers: [a.connector, b.connector], lagWindowMs: 2000, readerRetryMs: 5000, now: () => clock.now });
  const name = (c: Connector) => (c as Connector & { name: string }).name;

  it('takes the readers in turn, and the writer for entries invalidated within the lag window', () => {
    expect([routing.for(undefined), routing.for(undefined), routing.for(undefined)].map(name)).toEqual(['a', 'b', 'a']);
    expect(name(routing.for(clock.now - 1999))).toBe('writer');
    expect(name(routing.for(clock.now - 2000))).toBe('b');
  });

  it('skips a reader that failed to connect for readerRetryMs, and takes it back once it connects', () => {
    a.fire('error', { error: new ConnectError('refused', { attempts: 1 }) });
    expect([routing.for(undefined), routing.for(undefined)].map(name)).toEqual(['b', 'b']);
    b.fire('error', { error: new ConnectError('refused', { attempts: 1 }) });
    expect(name(routing.for(undefined))).toBe('writer');
    clock.now += 5001;
    expect(name(routing.for(undefined))).not.toBe('writer');
    a.fire('connect', {});
    expect([routing.for(undefined), routing.for(undefined)].map(name).sort()).toEqual(['a', 'b']);
  });

  it('refuses bad options and a writer among the readers', () => {
    expect(() => new ReadRouting(writer.connector, { readers: [writer.connector] })).toThrow(OptionsError);
    expect(() => new ReadRouting(writer.connector, { readers: [], lagWindowMs: -1 })).toThrow(OptionsError);
    expect(name(new ReadRouting(writer.connector, { readers: [] }).for(undefined))).toBe('writer');
  });
});
