import { describe, expect, it } from 'vitest';
import { Cache } from '../cache.js';
import type { CacheDriver } from '../drivers/driver.js';
import { MemoryDriver } from '../drivers/memory-driver.js';
import { CacheKeyError, CodecError } from '../errors.js';
import type { CacheEventName } from '../events.js';

const SECRET = 'carol@secret.example';

/** A cache over a memory store whose driver records every call, with breakerThreshold 1: one counted failure opens it. */
function setup() {
  const store = new MemoryDriver();
  const calls: string[] = [];
  const driver = new Proxy(store, {
    get(target, property, receiver) {
      const original = Reflect.get(target, property, receiver);
      if (typeof original !== 'function') return original;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return original.apply(target, args);
      };
    },
  }) as CacheDriver;
  const cache = new Cache(driver, { namespace: 't', breakerThreshold: 1 });
  const events: Array<{ event: CacheEventName; payload: unknown }> = [];
  for (const event of ['error', 'timeout', 'circuit-open', 'bypass', 'fill-rejected', 'miss', 'fill', 'hit'] as const) {
    cache.on(event, (payload) => events.push({ event, payload }));
  }
  const users = cache.entity<{ name: unknown }, string>({ name: 'user', ttlMs: 60_000, tags: ({ name }) => [`user:${String(name)}`] });
  let loads = 0;
  const load = async ({ name }: { name: unknown }) => {
    loads += 1;
    return `hello ${String(name)}`;
  };
  return { cache, store, calls, events, users, load, loads: () => loads };
}

async function rejection(promise: Promise<unknown>): Promise<CacheKeyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CacheKeyError);
  expect((error as Error).message).not.toContain(SECRET);
  return error as CacheKeyError;
}

describe('invalid keys are refused at the edge, before any I/O', () => {
  it('a read with a hostile tag rejects with CacheKeyError, touches neither Redis nor the loader, and never opens the breaker', async () => {
    const { cache, calls, events, users, load, loads } = setup();
    for (const name of ['\ud800', `${SECRET}\udfff`, 'x'.repeat(2000)]) {
      for (let i = 0; i < 4; i += 1) expect((await rejection(users.get({ name }, load))).reason).toBe('invalid-tag');
    }
    expect(calls).toEqual([]);
    expect(loads()).toBe(0);
    expect(cache.stats()).toMatchObject({ errors: 0, bypasses: 0, keyErrors: 12 });
    expect(events).toEqual([]);
    // The cache still works for everyone else.
    expect((await users.get({ name: 'bob' }, load)).status).toBe('miss');
    expect((await users.get({ name: 'bob' }, load)).status).toBe('fresh');
  });

  it('a 600-character tag is a valid tag: hashed in its tag key, cached, and invalidated', async () => {
    const { cache, users, load } = setup();
    const name = 'x'.repeat(600);
    expect((await users.get({ name }, load)).status).toBe('miss');
    expect((await users.get({ name }, load)).status).toBe('fresh');
    await cache.invalidate([`user:${name}`]);
    expect((await users.get({ name }, load)).status).toBe('miss');
  });

  it('rejects, not throws: get returns a rejected promise', () => {
    const { users, load } = setup();
    const promise = users.get({ name: '\ud800' }, load);
    expect(promise).toBeInstanceOf(Promise);
    return expect(promise).rejects.toBeInstanceOf(CacheKeyError);
  });

  it('refuses parameters the key encoder refuses: boxed primitives, sparse arrays, deep or huge values, throwing getters, revoked proxies', async () => {
    const { cache, calls, events } = setup();
    const echo = cache.entity<unknown, string>({ name: 'echo', ttlMs: 60_000 });
    let loads = 0;
    const load = async () => {
      loads += 1;
      return 'x';
    };
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i += 1) deep = { a: deep };
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const hostile = [
      { n: new Number(1) },
      // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
      [, 1],
      new String('a'),
      deep,
      { text: SECRET.repeat(10_000) },
      Object.defineProperty({}, 'n', {
        enumerable: true,
        get: () => {
          throw new Error(SECRET);
        },
      }),
      proxy,
      { id: new URL('https://example.com') },
    ];
    for (const params of hostile) {
      await rejection(echo.get(params, load));
      await rejection(echo.getMany([{ id: 1 }, params], async (list) => list.map(() => 'x')));
      await rejection(echo.delete(params));
    }
    expect(calls).toEqual([]);
    expect(loads).toBe(0);
    expect(events).toEqual([]);
    expect(cache.stats()).toMatchObject({ errors: 0, keyErrors: hostile.length * 3 });
  });

  it('getMany takes an array only', async () => {
    const { cache, calls } = setup();
    const echo = cache.entity<{ id: number }, string>({ name: 'echo', ttlMs: 60_000 });
    const loadMany = async (list: readonly { id: number }[]) => list.map(() => 'x');
    const { proxy, revoke } = Proxy.revocable([{ id: 1 }], {});
    revoke();
    for (const list of [new Set([{ id: 1 }]), { 0: { id: 1 }, length: 1 }, 'ab', null, undefined, 7]) {
      expect((await rejection(echo.getMany(list as unknown as readonly { id: number }[], loadMany))).reason).toBe('not-an-array');
    }
    expect((await rejection(echo.getMany(proxy, loadMany))).reason).toBe('unreadable');
    expect(calls).toEqual([]);
    expect(await echo.getMany([], loadMany)).toEqual([]);
  });

  it('a tags function that throws or returns no array is a CacheKeyError (with the cause kept), never a Redis failure', async () => {
    const { cache, calls } = setup();
    const bug = new TypeError('bug in tags');
    const throwing = cache.entity<{ id: number }, string>({
      name: 'a',
      ttlMs: 60_000,
      tags: () => {
        throw bug;
      },
    });
    const notAnArray = cache.entity<{ id: number }, string>({ name: 'b', ttlMs: 60_000, tags: () => 'a:1' as unknown as string[] });
    const load = async () => 'x';
    expect((await rejection(throwing.get({ id: 1 }, load))).cause).toBe(bug);
    await rejection(notAnArray.get({ id: 1 }, load));
    expect(calls).toEqual([]);
    expect(cache.stats().errors).toBe(0);
  });

  it('invalidate() with a bad tag throws CacheKeyError without touching Redis or counting toward the breaker', async () => {
    const { cache, calls, users, load } = setup();
    for (const tags of [['ok', '\ud800'], [''], ['x'.repeat(1025)], 'user:1', [1], null]) {
      await rejection(cache.invalidate(tags as readonly string[]));
    }
    expect(calls).toEqual([]);
    expect(cache.stats()).toMatchObject({ errors: 0, invalidations: 0, keyErrors: 6 });
    await users.get({ name: 'bob' }, load);
    expect((await users.get({ name: 'bob' }, load)).status).toBe('fresh');
  });

  it('a tag named __proto__ is a tag like any other: invalidating it voids the entry', async () => {
    const { cache } = setup();
    const items = cache.entity<{ id: number }, string>({ name: 'item', ttlMs: 60_000, tags: () => ['__proto__'] });
    const load = async () => 'x';
    await items.get({ id: 1 }, load);
    expect((await items.get({ id: 1 }, load)).status).toBe('fresh');
    await cache.invalidate(['__proto__']);
    expect((await items.get({ id: 1 }, load)).status).toBe('miss');
  });
});

describe('only Redis trouble counts toward the breaker', () => {
  it('a key or codec error escaping a driver call is passed on without counting; a Redis error counts', async () => {
    let thrown: Error = new CacheKeyError('x');
    const store = new MemoryDriver();
    const driver = new Proxy(store, {
      get(target, property, receiver) {
        const original = Reflect.get(target, property, receiver);
        if (property === 'read') return () => Promise.reject(thrown);
        return typeof original === 'function' ? original.bind(target) : original;
      },
    }) as CacheDriver;
    const cache = new Cache(driver, { namespace: 't', breakerThreshold: 1 });
    const opened: unknown[] = [];
    cache.on('circuit-open', (payload) => opened.push(payload));
    const items = cache.entity<{ id: number }, string>({ name: 'item', ttlMs: 60_000 });
    for (const error of [new CacheKeyError('x'), new CodecError('y')]) {
      thrown = error;
      expect((await items.get({ id: 1 }, async () => 'v')).value).toBe('v');
    }
    expect(cache.stats()).toMatchObject({ errors: 0, bypasses: 0 });
    expect(opened).toEqual([]);
    thrown = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await items.get({ id: 1 }, async () => 'v');
    expect(cache.stats().errors).toBe(1);
    expect(opened).toHaveLength(1);
  });

  it('a half-open trial that ends in a key error gives the trial back instead of keeping the breaker open', async () => {
    const clock = { now: 0 };
    let answer: 'refused' | 'key-error' | 'ok' = 'refused';
    const store = new MemoryDriver({ now: () => clock.now });
    const driver = new Proxy(store, {
      get(target, property, receiver) {
        const original = Reflect.get(target, property, receiver);
        if (property === 'read' && answer !== 'ok') {
          return () => Promise.reject(answer === 'key-error' ? new CacheKeyError('x') : Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
        }
        return typeof original === 'function' ? original.bind(target) : original;
      },
    }) as CacheDriver;
    const cache = new Cache(driver, { namespace: 't', breakerThreshold: 1, breakerOpenMs: 100, now: () => clock.now });
    const closed: unknown[] = [];
    cache.on('circuit-close', (payload) => closed.push(payload));
    const items = cache.entity<{ id: number }, string>({ name: 'item', ttlMs: 60_000 });
    const load = async () => 'v';
    await items.get({ id: 1 }, load); // opens the breaker
    clock.now += 100;
    answer = 'key-error';
    await items.get({ id: 1 }, load); // the half-open trial: no verdict
    answer = 'ok';
    await items.get({ id: 1 }, load); // a new trial is let through, succeeds, closes
    expect(closed).toHaveLength(1);
    expect((await items.get({ id: 1 }, load)).status).toBe('fresh');
  });
});

describe('values that cannot be cached are served, not cached, and never count toward the breaker', () => {
  it('invalid value tags: served as a miss, the fill given up (fill-rejected invalid-tag), the lease released', async () => {
    const { cache, events } = setup();
    const items = cache.entity<{ id: number }, { id: number; category: string }>({
      name: 'item',
      ttlMs: 60_000,
      valueTags: (value) => [`category:${value.category}`],
    });
    const load = async ({ id }: { id: number }) => ({ id, category: id === 1 ? '\ud800' : 'x'.repeat(2000) });
    for (const id of [1, 2]) {
      expect(await items.get({ id }, load)).toEqual({ status: 'miss', value: await load({ id }) });
      expect((await items.get({ id }, load)).status).toBe('miss');
    }
    expect(events.filter((e) => e.event === 'fill-rejected').map((e) => e.payload)).toEqual(Array(4).fill({ entity: 'item', reason: 'invalid-tag' }));
    expect(cache.stats()).toMatchObject({ errors: 0, leaseWaits: 0, fills: 0 });
  });

  it('a valueTags function that throws: the same', async () => {
    const { cache } = setup();
    const items = cache.entity<{ id: number }, string>({
      name: 'item',
      ttlMs: 60_000,
      valueTags: () => {
        throw new Error('bug');
      },
    });
    expect(await items.get({ id: 1 }, async () => 'x')).toEqual({ status: 'miss', value: 'x' });
    expect(cache.stats()).toMatchObject({ errors: 0, fillsRejected: 1 });
  });

  it('a value the codec refuses (a function inside): served, fill-rejected uncacheable, no breaker count', async () => {
    const { cache, events } = setup();
    const items = cache.entity<{ id: number }, { f: () => number }>({ name: 'item', ttlMs: 60_000 });
    const value = { f: () => 1 };
    for (let i = 0; i < 3; i += 1) expect(await items.get({ id: 1 }, async () => value)).toEqual({ status: 'miss', value });
    expect(events.filter((e) => e.event === 'fill-rejected').map((e) => e.payload)).toEqual(Array(3).fill({ entity: 'item', reason: 'uncacheable' }));
    expect(cache.stats()).toMatchObject({ errors: 0, bypasses: 0, leaseWaits: 0 });
  });
});
