/**
 * An entity's leases: the caller of a miss takes the key's lease (SET NX PX) and is then the one
 * that loads and fills it; a holder that gives up lets go, and a lease whose holder vanished
 * expires by itself. Redis trouble never fails a read here: no lease is taken, none given back.
 */
import type { EntityContext, Pending } from './context.js';

/** Takes the leases it can; the entries whose lease `token` now holds. Redis trouble: none. */
export async function acquireLeases<P, T>(ctx: EntityContext<P, T>, entries: readonly Pending<P>[], token: string): Promise<Set<Pending<P>>> {
  const { runtime } = ctx;
  const leaseKeys = entries.map((entry) => entry.leaseKey);
  try {
    const taken = await runtime.call('lease', (driver) => driver.acquireLeases(leaseKeys, token, runtime.options.leaseTtlMs));
    return new Set(entries.filter((_, i) => taken[i]));
  } catch {
    return new Set();
  }
}

export async function releaseLeases<P, T>(ctx: EntityContext<P, T>, entries: readonly Pending<P>[], token: string): Promise<void> {
  const leaseKeys = entries.map((entry) => entry.leaseKey);
  try {
    await ctx.runtime.call('lease', (driver) => driver.releaseLeases(leaseKeys, token));
  } catch {
    // The lease expires by itself.
  }
}
