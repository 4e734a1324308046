import { describe, expect, it } from 'vitest';
import { OptionsError } from './errors.js';
import { DEFAULT_OPTIONS, resolveConnection, resolveOptions } from './options.js';

const connection = { user: 'app', password: 'hunter2', database: 'shop' };

describe('resolveOptions', () => {
  it('fills every default', () => {
    const resolved = resolveOptions({ connection });
    expect(resolved).toMatchObject(DEFAULT_OPTIONS);
    expect(typeof resolved.now).toBe('function');
    expect(typeof resolved.driver.connect).toBe('function');
    expect(Object.isFrozen(DEFAULT_OPTIONS)).toBe(true);
  });

  it("gives the connector's own statements a bound of their own, apart from the connect timeout", () => {
    expect(DEFAULT_OPTIONS.adminTimeoutMs).toBe(5000);
    expect(resolveOptions({ connection, connectTimeoutMs: 100 })).toMatchObject({ connectTimeoutMs: 100, adminTimeoutMs: 5000 });
  });

  it('treats undefined like absent', () => {
    expect(resolveOptions({ connection, connUtilization: undefined }).connUtilization).toBe(0.8);
  });

  it.each([
    [{ connUtilization: 0 }, 'connUtilization'],
    [{ connUtilization: 1.5 }, 'connUtilization'],
    [{ maxConnections: 0 }, 'maxConnections'],
    [{ maxConnections: 1.5 }, 'maxConnections'],
    [{ maxRetries: -1 }, 'maxRetries'],
    [{ backoffBaseMs: 500, backoffCapMs: 100 }, 'backoffBaseMs'],
    [{ zombieMinTimeoutMs: 10_000, zombieMaxTimeoutMs: 5000 }, 'zombieMinTimeoutMs'],
    [{ killMethod: 'shoot' as 'kill' }, 'killMethod'],
    [{ backoff: 'linear' as 'full' }, 'backoff'],
    [{ queryTimeoutMs: Number.NaN }, 'queryTimeoutMs'],
    [{ adminTimeoutMs: 0 }, 'adminTimeoutMs'],
  ])('%o is refused naming %s', (bad, option) => {
    expect(() => resolveOptions({ connection, ...bad })).toThrow(OptionsError);
    expect(() => resolveOptions({ connection, ...bad })).toThrow(option);
  });

  it('requires a connection', () => {
    expect(() => resolveOptions({} as never)).toThrow(/`connection` is required/);
  });
});

describe('resolveConnection', () => {
  it('fills host and port and calls a function source every time', async () => {
    let calls = 0;
    const source = async () => ({ ...connection, password: `token-${++calls}` });
    expect(await resolveConnection(source)).toMatchObject({ host: '127.0.0.1', port: 3306, password: 'token-1' });
    expect(await resolveConnection(source)).toMatchObject({ password: 'token-2' });
  });

  it('refuses a connection without a user, without echoing the secret', async () => {
    const promise = resolveConnection({ password: 'hunter2' } as never);
    await expect(promise).rejects.toThrow(OptionsError);
    await expect(resolveConnection({ password: 'hunter2' } as never)).rejects.not.toThrow(/hunter2/);
  });
});
