/**
 * Hostile keys (issue 7): parameters and tags chosen by an attacker.
 *
 * (a) The key encoder is injective or refuses: for any two parameter values, both encode and
 *     their keys are equal exactly when the values are equal parameters (the reference model in
 *     test/support/hostile.ts), or the encoder throws `CacheKeyError` — never another error.
 * (b) Against the real Redis: reads and invalidations with hostile tags and parameters either
 *     answer correctly or reject with `CacheKeyError` without calling the loader, and however many
 *     of them come, the circuit breaker stays closed and a normal key stays a `fresh` hit.
 */
import { type Cache, CacheKeyError, createRedisCache, paramKey, tagKey } from '@cachefront/cache';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../support/env.js';
import { hostileParams, hostileString, hostileTag, model, paramValue, sameParams, UNSUPPORTED } from '../support/hostile.js';
import { propertyFamily } from '../support/property.js';
import { randomNamespace } from '../support/redis.js';

const family = propertyFamily('cache-keys');

/** The key of a value, or the error the encoder threw. */
function keyOf(value: unknown): { key: string } | { error: unknown } {
  try {
    return { key: paramKey(value) };
  } catch (error) {
    return { error };
  }
}

function expectKeyError(error: unknown): void {
  expect(error).toBeInstanceOf(CacheKeyError);
  expect(error).toMatchObject({ code: 'E_INVALID_KEY' });
}

describe('cache-keys: the parameter encoding is injective or refuses', () => {
  it('equal keys only for equal parameters, exotic values refused with CacheKeyError', () => {
    const pair = fc.oneof(
      fc.tuple(paramValue, paramValue),
      fc.clone(paramValue, 2).map(([a, b]) => [a, b] as const),
      fc.tuple(hostileParams, hostileParams),
    );
    fc.assert(
      fc.property(pair, ([a, b]) => {
        family.tick();
        const left = keyOf(a);
        const right = keyOf(b);
        for (const [value, result] of [
          [a, left],
          [b, right],
        ] as const) {
          if ('error' in result) expectKeyError(result.error);
          // Accepted means a plain data value: nothing exotic inside.
          else expect(model(value)).not.toBe(UNSUPPORTED);
        }
        if ('key' in left && 'key' in right) expect(left.key === right.key).toBe(sameParams(a, b));
      }),
      { numRuns: family.runs(3000) },
    );
  });

  it('tag keys are total on valid tags and injective; invalid tags are a CacheKeyError', () => {
    const seen = new Map<string, string>();
    fc.assert(
      fc.property(fc.oneof(hostileTag, hostileString), (tag) => {
        family.tick();
        let key: string;
        try {
          key = tagKey('cf', tag);
        } catch (error) {
          expectKeyError(error);
          return;
        }
        const earlier = seen.get(key);
        if (earlier !== undefined) expect(earlier).toBe(tag);
        seen.set(key, tag);
        // One hash tag per tag key, so Redis Cluster puts it in one slot.
        expect(key.split('{').length).toBe(2);
        expect(key.endsWith('}')).toBe(true);
        expect(key.indexOf('}')).toBe(key.length - 1);
      }),
      { numRuns: family.runs(1000) },
    );
  });
});

describe('cache-keys: hostile reads never switch the cache off', () => {
  let cache: Cache;
  const circuitOpened: unknown[] = [];
  beforeAll(() => {
    // A generous command timeout: this test is about key errors, not a slow machine.
    cache = createRedisCache({ redis: REDIS_URL, namespace: randomNamespace('cfk'), commandTimeoutMs: 2000 });
    cache.on('circuit-open', (payload) => circuitOpened.push(payload));
  });
  afterAll(async () => {
    await cache.close();
  });

  it('hostile tags and parameters get a correct answer or CacheKeyError; the breaker stays closed and a normal key stays fresh', async () => {
    const users = cache.entity<{ name: unknown }, { name: unknown }>({
      name: 'user',
      ttlMs: 60_000,
      tags: (params) => [`user:${String(params.name)}`],
    });
    const anything = cache.entity<unknown, { params: unknown }>({ name: 'any', ttlMs: 60_000 });
    const normal = cache.entity<{ id: number }, { id: number }>({ name: 'normal', ttlMs: 60_000, tags: ({ id }) => [`normal:${id}`] });
    const loadNormal = async (params: { id: number }) => ({ id: params.id });
    expect((await normal.get({ id: 1 }, loadNormal)).status).toBe('miss');

    type Input = { kind: 'tag'; name: string } | { kind: 'params'; params: unknown } | { kind: 'many'; list: unknown } | { kind: 'invalidate'; tags: unknown };
    const read: fc.Arbitrary<Input> = fc.oneof(
      fc.record({ kind: fc.constant('tag' as const), name: fc.oneof(hostileTag, hostileString) }),
      fc.record({ kind: fc.constant('params' as const), params: hostileParams }),
      fc.record({ kind: fc.constant('many' as const), list: fc.oneof(fc.array(hostileParams, { maxLength: 3 }), paramValue) }),
      fc.record({ kind: fc.constant('invalidate' as const), tags: fc.oneof(fc.array(hostileTag, { maxLength: 3 }), hostileParams) }),
    );

    /** One hostile call: a correct answer, or CacheKeyError without a load. */
    async function hostileRead(input: Input): Promise<void> {
      let loads = 0;
      try {
        if (input.kind === 'tag') {
          const result = await users.get({ name: input.name }, async (params) => {
            loads += 1;
            return { name: params.name };
          });
          expect(result.value).toEqual({ name: input.name });
        } else if (input.kind === 'params') {
          const result = await anything.get(input.params, async (params) => {
            loads += 1;
            return { params };
          });
          expect(sameParams(result.value.params, input.params)).toBe(true);
        } else if (input.kind === 'many') {
          const list = input.list as readonly unknown[];
          const results = await anything.getMany(list, async (params) => {
            loads += 1;
            return params.map((p) => ({ params: p }));
          });
          expect(results).toHaveLength(list.length);
          results.forEach((result, i) => {
            expect(sameParams(result.value.params, list[i])).toBe(true);
          });
        } else {
          await cache.invalidate(input.tags as readonly string[]);
        }
      } catch (error) {
        expectKeyError(error);
        expect(loads).toBe(0);
      }
    }

    await fc.assert(
      // A burst of hostile calls (more than `breakerThreshold` in a row), then a normal read.
      fc.asyncProperty(fc.array(read, { minLength: 1, maxLength: 6 }), async (burst) => {
        family.tick();
        const before = cache.stats();
        for (const input of burst) await hostileRead(input);
        expect(cache.stats()).toMatchObject({ errors: before.errors, timeouts: before.timeouts, bypasses: before.bypasses });
        expect(await normal.get({ id: 1 }, loadNormal)).toEqual({ status: 'fresh', value: { id: 1 } });
      }),
      { numRuns: family.runs(800) },
    );
    expect(circuitOpened).toEqual([]);
    expect(cache.stats()).toMatchObject({ errors: 0, timeouts: 0, bypasses: 0 });
  });
});
