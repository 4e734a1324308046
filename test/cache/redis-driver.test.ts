import { RedisDriver, tagKey } from '@cachefront/cache';
import { runDriverContract } from '@cachefront/cache/testing';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../support/env.js';
import { clusterClient, randomNamespace, ready } from '../support/redis.js';

runDriverContract('redis (single node)', () => new RedisDriver(REDIS_URL));

/**
 * A client as another copy of ioredis makes it (the application's own, or one bundled twice): the
 * same methods, but not an instance of this copy's `Redis` or `Cluster`. Every call goes to the
 * real client and is recorded.
 */
function fromAnotherCopy<C extends object>(client: C, calls: string[]): C {
  return new Proxy(client, {
    getPrototypeOf: () => Object.prototype,
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe('a client from another copy of ioredis', () => {
  const single = new Redis(REDIS_URL);
  const cluster = clusterClient();
  afterAll(() => {
    single.disconnect();
    cluster.disconnect();
  });

  it('is used as the client (told apart from options by its methods), and left open by close()', async () => {
    const calls: string[] = [];
    const foreign = fromAnotherCopy(single, calls);
    expect(foreign instanceof Redis).toBe(false);
    const driver = new RedisDriver(foreign);
    expect(driver.client).toBe(foreign);
    expect(driver.sharedFate).toBe(true);
    const key = `${randomNamespace()}:missing`;
    expect(await driver.read([key], [])).toEqual({ values: [null], tags: [] });
    expect(calls).toContain('mgetBuffer');
    await driver.close();
    expect(calls).not.toContain('quit');
    expect(await single.ping()).toBe('PONG');
  });

  it('is told apart as a Cluster client structurally, and reads tags that live in other slots', async () => {
    await ready(cluster);
    const calls: string[] = [];
    const foreign = fromAnotherCopy(cluster, calls);
    expect(foreign instanceof Cluster).toBe(false);
    const driver = new RedisDriver(foreign);
    expect(driver.client).toBe(foreign);
    expect(driver.sharedFate).toBe(false);
    const namespace = randomNamespace();
    // Many tags: they spread over the cluster's slots, which one MGET (CROSSSLOT) could not read.
    const tagKeys = Array.from({ length: 20 }, (_, i) => tagKey(namespace, `tag:${i}`));
    await driver.setTags(tagKeys, 'gen-1', 60_000);
    expect((await driver.read([], tagKeys)).tags).toEqual(tagKeys.map(() => 'gen-1'));
    expect(calls).toContain('get');
    await driver.close();
  });
});

describe("the store's clock", () => {
  it('is Redis’ TIME in epoch ms, on a single Redis and on the cluster', async () => {
    const cluster = clusterClient();
    for (const driver of [new RedisDriver(REDIS_URL), new RedisDriver(cluster)]) {
      const before = Date.now();
      const time = await driver.time();
      // This machine's Redis shares its clock: the TIME of the round trip lies within it (ms rounding aside).
      expect(time).toBeGreaterThanOrEqual(before - 1);
      expect(time).toBeLessThanOrEqual(Date.now() + 1);
      await driver.close();
    }
    cluster.disconnect();
  });
});
