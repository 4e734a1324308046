import { describe, expect, it } from 'vitest';
import type { CacheDriver } from '../drivers/driver.js';
import { StoreClock } from './store-clock.js';

/** A driver with only a clock: `ahead` ms ahead of the local one, answering after `rtt` ms of local time, or failing. */
function storeAhead(local: { now: number }, ahead: number, rtt = 0) {
  const state = { calls: 0, fail: false };
  const driver = {
    async time() {
      state.calls += 1;
      if (state.fail) throw new Error('down');
      local.now += rtt / 2;
      const remote = local.now + ahead;
      local.now += rtt / 2;
      return remote;
    },
  } as unknown as CacheDriver;
  return { driver, state };
}

describe("the store's clock", () => {
  it('is the local clock plus the offset to the store, read at the middle of the round trip', async () => {
    const local = { now: 1_000_000 };
    const { driver } = storeAhead(local, 5000, 10);
    const clock = new StoreClock(driver, () => local.now, 1000);
    expect(await clock.offset()).toBe(5000);
    expect(await clock.now()).toBe(local.now + 5000);
  });

  it('measures once, then again in the background after a minute, answering the old offset meanwhile', async () => {
    const local = { now: 1_000_000 };
    const { driver, state } = storeAhead(local, -300);
    const clock = new StoreClock(driver, () => local.now, 1000);
    await clock.offset();
    await clock.offset();
    expect(state.calls).toBe(1);
    local.now += 60_001;
    expect(await clock.offset()).toBe(-300);
    expect(state.calls).toBe(2);
  });

  it('falls back to the local clock while the store cannot be asked, and asks again a second later', async () => {
    const local = { now: 1_000_000 };
    const { driver, state } = storeAhead(local, 700);
    state.fail = true;
    const clock = new StoreClock(driver, () => local.now, 1000);
    expect(await clock.offset()).toBe(0);
    expect(await clock.offset()).toBe(0);
    expect(state.calls).toBe(1);
    state.fail = false;
    local.now += 1001;
    await clock.offset(); // starts the measurement
    await new Promise((resolve) => setImmediate(resolve));
    expect(await clock.offset()).toBe(700);
  });

  it('is the local clock for a store without one', async () => {
    const clock = new StoreClock({} as CacheDriver, () => 42, 1000);
    expect(await clock.offset()).toBe(0);
  });
});
