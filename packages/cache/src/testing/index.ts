/**
 * `@cachefront/cache/testing`: the contract every cache driver must pass, for vitest (an optional
 * peer dependency of this package). Run it against a driver of your own:
 *
 *   runDriverContract('my store', () => new MyDriver());
 */
export { runDriverContract } from './driver-contract.js';
