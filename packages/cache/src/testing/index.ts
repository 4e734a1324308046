/**
 * `@cachefront/cache/testing`: the contract every cache driver must pass, for vitest (an optional
 * peer dependency of this package). Run it against a driver of your own:
 *
 *   runDriverContract('my store', () => new MyDriver());
 *
 * and `forgeEntryTags`, for tests of what the cache does with entries someone forged in Redis.
 */
export { runDriverContract } from './driver-contract.js';
export { forgeEntryTags } from './forge.js';
