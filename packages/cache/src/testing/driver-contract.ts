/**
 * The contract every cache driver must pass: the in-memory driver in the unit tests, Redis and
 * Redis Cluster in the integration tests. Each test uses its own random key prefix.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheDriver, FillRequest } from '../drivers/driver.js';

export function runDriverContract(name: string, makeDriver: () => CacheDriver | Promise<CacheDriver>): void {
  describe(`cache driver contract: ${name}`, () => {
    let driver: CacheDriver;
    beforeAll(async () => {
      driver = await makeDriver();
    });
    afterAll(async () => {
      await driver.close();
    });

    /** Keys of one entity (one slot) and tags (each its own slot), unique to the test. */
    const keysFor = () => {
      const id = randomBytes(6).toString('hex');
      return {
        value: (n: number) => `ct:{ct/${id}}:1:v:${n}`,
        lease: (n: number) => `ct:{ct/${id}}:1:l:${n}`,
        tag: (t: string) => `ct:t:{ct#${id}-${t}}`,
      };
    };
    const fillRequest = (k: ReturnType<typeof keysFor>, n: number, value: string, expectTags: FillRequest['expectTags'] = []): FillRequest => ({
      key: k.value(n),
      leaseKey: k.lease(n),
      value: Buffer.from(value),
      ttlMs: 60_000,
      expectTags,
    });

    it('reads absent keys as null, in order', async () => {
      const k = keysFor();
      const read = await driver.read([k.value(1), k.value(2)], [k.tag('a')]);
      expect(read.values).toEqual([null, null]);
      expect(read.tags).toEqual([null]);
      expect(await driver.read([], [])).toEqual({ values: [], tags: [] });
    });

    it('takes a free lease once (NX), with a TTL', async () => {
      const k = keysFor();
      expect(await driver.acquireLeases([k.lease(1), k.lease(2)], 'A', 5000)).toEqual([true, true]);
      expect(await driver.acquireLeases([k.lease(1), k.lease(3)], 'B', 5000)).toEqual([false, true]);
      const ttl = await driver.ttl(k.lease(1));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5000);
    });

    it("stores a fill only for the lease holder, and releases the holder's lease", async () => {
      const k = keysFor();
      await driver.acquireLeases([k.lease(1)], 'A', 5000);
      expect(await driver.fill([fillRequest(k, 1, 'from B')], 'B')).toEqual([false]);
      expect(await driver.fill([fillRequest(k, 1, 'from A')], 'A')).toEqual([true]);
      const read = await driver.read([k.value(1)], []);
      expect(read.values[0]?.toString()).toBe('from A');
      expect(await driver.ttl(k.lease(1))).toBe(-2);
      // A second fill with the same token has no lease any more.
      expect(await driver.fill([fillRequest(k, 1, 'again')], 'A')).toEqual([false]);
    });

    it('rejects a fill whose tags changed since the load began (the stale-fill race)', async () => {
      const k = keysFor();
      await driver.setTags([k.tag('p')], 'gen-1', 60_000);
      await driver.acquireLeases([k.lease(1), k.lease(2), k.lease(3)], 'A', 5000);
      await driver.setTags([k.tag('p')], 'gen-2', 60_000); // a write committed and invalidated meanwhile
      const out = await driver.fill(
        [
          fillRequest(k, 1, 'old row', [[k.tag('p'), 'gen-1']]),
          fillRequest(k, 2, 'new row', [[k.tag('p'), 'gen-2']]),
          fillRequest(k, 3, 'no tag yet', [[k.tag('q'), null]]),
        ],
        'A',
      );
      expect(out).toEqual([false, true, true]);
      const read = await driver.read([k.value(1), k.value(2), k.value(3)], [k.tag('p'), k.tag('q')]);
      expect(read.values.map((v) => v?.toString() ?? null)).toEqual([null, 'new row', 'no tag yet']);
      expect(read.tags).toEqual(['gen-2', null]);
    });

    it('releases the lease of a rejected fill, so the next reader need not wait for it', async () => {
      const k = keysFor();
      await driver.setTags([k.tag('p')], 'gen-1', 60_000);
      await driver.acquireLeases([k.lease(1)], 'A', 5000);
      await driver.setTags([k.tag('p')], 'gen-2', 60_000);
      expect(await driver.fill([fillRequest(k, 1, 'old row', [[k.tag('p'), 'gen-1']])], 'A')).toEqual([false]);
      expect(await driver.acquireLeases([k.lease(1)], 'B', 5000)).toEqual([true]);
      // ...but never someone else's lease.
      expect(await driver.fill([fillRequest(k, 1, 'old row', [[k.tag('p'), 'gen-1']])], 'A')).toEqual([false]);
      expect(await driver.acquireLeases([k.lease(1)], 'C', 5000)).toEqual([false]);
    });

    it('rejects a fill expecting an absent tag once the tag exists', async () => {
      const k = keysFor();
      await driver.acquireLeases([k.lease(1)], 'A', 5000);
      await driver.setTags([k.tag('x')], 'gen-1', 60_000);
      expect(await driver.fill([fillRequest(k, 1, 'v', [[k.tag('x'), null]])], 'A')).toEqual([false]);
    });

    it('initTags gives a token, with a TTL, only to tag keys that have none, and returns each key’s token', async () => {
      const k = keysFor();
      await driver.setTags([k.tag('kept')], 'gen-1', 60_000);
      expect(await driver.initTags([k.tag('kept'), k.tag('new')], 'i.first', 60_000)).toEqual(['gen-1', 'i.first']);
      expect(await driver.initTags([k.tag('new')], 'i.second', 60_000)).toEqual(['i.first']);
      expect((await driver.read([], [k.tag('kept'), k.tag('new')])).tags).toEqual(['gen-1', 'i.first']);
      const ttl = await driver.ttl(k.tag('new'));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
      expect(await driver.initTags([], 'i.none', 60_000)).toEqual([]);
    });

    it('releases only leases held with the same token', async () => {
      const k = keysFor();
      await driver.acquireLeases([k.lease(1)], 'A', 5000);
      await driver.releaseLeases([k.lease(1)], 'B');
      expect(await driver.acquireLeases([k.lease(1)], 'C', 5000)).toEqual([false]);
      await driver.releaseLeases([k.lease(1)], 'A');
      expect(await driver.acquireLeases([k.lease(1)], 'C', 5000)).toEqual([true]);
    });

    it('delete removes values and voids outstanding leases', async () => {
      const k = keysFor();
      await driver.acquireLeases([k.lease(1)], 'A', 5000);
      await driver.fill([fillRequest(k, 1, 'v')], 'A');
      await driver.acquireLeases([k.lease(1)], 'B', 5000);
      await driver.delete([k.value(1), k.lease(1)]);
      expect((await driver.read([k.value(1)], [])).values).toEqual([null]);
      expect(await driver.fill([fillRequest(k, 1, 'late fill')], 'B')).toEqual([false]);
    });

    it('gives every key it writes a TTL', async () => {
      const k = keysFor();
      await driver.acquireLeases([k.lease(1), k.lease(2)], 'A', 5000);
      await driver.fill([{ ...fillRequest(k, 1, 'v'), ttlMs: 30_000 }], 'A');
      await driver.setTags([k.tag('t')], 'gen', 90_000);
      const ttls = await Promise.all([driver.ttl(k.value(1)), driver.ttl(k.lease(2)), driver.ttl(k.tag('t'))]);
      expect(ttls[0]).toBeGreaterThan(25_000);
      expect(ttls[0]).toBeLessThanOrEqual(30_000);
      expect(ttls[1]).toBeGreaterThan(0);
      expect(ttls[2]).toBeGreaterThan(85_000);
      expect(ttls.every((ttl) => ttl > 0)).toBe(true);
    });

    it('expires values after their TTL', async () => {
      const k = keysFor();
      await driver.acquireLeases([k.lease(1)], 'A', 5000);
      await driver.fill([{ ...fillRequest(k, 1, 'short'), ttlMs: 30 }], 'A');
      const deadline = Date.now() + 2000;
      let value: Buffer | null | undefined = Buffer.from('x');
      while (value !== null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        value = (await driver.read([k.value(1)], [])).values[0];
      }
      expect(value).toBeNull();
    });

    it('round-trips binary values byte for byte', async () => {
      const k = keysFor();
      const bytes = Buffer.from([0, 1, 2, 0x0a, 0xff, 0xfe, 0x80]);
      await driver.acquireLeases([k.lease(1)], 'A', 5000);
      await driver.fill([{ ...fillRequest(k, 1, ''), value: bytes }], 'A');
      expect((await driver.read([k.value(1)], [])).values[0]?.equals(bytes)).toBe(true);
    });

    it('fills a batch in one call with per-entry outcomes', async () => {
      const k = keysFor();
      const leases = Array.from({ length: 50 }, (_, i) => k.lease(i));
      await driver.acquireLeases(leases.slice(0, 25), 'A', 5000);
      const out = await driver.fill(
        Array.from({ length: 50 }, (_, i) => fillRequest(k, i, `v${i}`)),
        'A',
      );
      expect(out.filter(Boolean)).toHaveLength(25);
      expect(out.slice(0, 25).every(Boolean)).toBe(true);
      const read = await driver.read(
        Array.from({ length: 50 }, (_, i) => k.value(i)),
        [],
      );
      expect(read.values.filter((v) => v !== null)).toHaveLength(25);
    });
  });
}
