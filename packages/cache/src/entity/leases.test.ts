import { describe, expect, it } from 'vitest';
import { type Product, productEntity, setup, table } from '../cache.fixture.js';

describe('leases: one load across processes', () => {
  it('a second process waits for the lease holder instead of loading', async () => {
    // Real timers here: the waiter must yield to the event loop while it polls.
    const { a, b } = setup({ leaseWaitMs: 1000, leasePollMs: 5, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) });
    const db = table();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = async (params: { id: number }) => {
      await gate;
      return db.load(params);
    };
    const holder = productEntity(a).get({ id: 2 }, slow);
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    const waiter = productEntity(b).get({ id: 2 }, db.load);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const [h, w] = await Promise.all([holder, waiter]);
    expect(h.status).toBe('miss');
    expect(w.value).toEqual(h.value);
    expect(db.loads()).toBe(1);
    expect(b.stats().leaseWaits).toBe(1);
  });

  it('after leaseWaitMs without a value, the waiter loads itself', async () => {
    const { a, b } = setup({ leaseWaitMs: 50, leasePollMs: 10 });
    const db = table();
    const never = () => new Promise<Product>(() => {});
    void productEntity(a).get({ id: 1 }, never); // a holder that froze
    await new Promise((resolve) => setImmediate(resolve));
    const result = await productEntity(b).get({ id: 1 }, db.load);
    expect(result).toMatchObject({ status: 'miss', value: { name: 'Hammer' } });
    expect(db.loads()).toBe(1);
  });

  it('a delete voids the outstanding lease, so the holder’s late fill is dropped', async () => {
    const { a } = setup();
    const db = table();
    const products = productEntity(a);
    const load = async (params: { id: number }) => {
      const row = await db.load(params);
      await products.delete(params);
      return row;
    };
    await products.get({ id: 1 }, load);
    expect(a.stats()).toMatchObject({ fills: 0, fillsRejected: 1 });
  });
});
