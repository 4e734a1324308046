/** The pure parts of the Lambda simulator (the demo), for its tests. */
export { connectionsChartSvg, niceTicks } from './chart.js';
export { responseFailure } from './fleet.js';
export { progressBar } from './progress.js';
export { cacheHitRatio, latencyPercentiles, loaderWaitShare, percentile } from './summary.js';
export { DEFAULT_MIX, DEFAULT_SHAPE, hotProductId, parseMix, requestSequence } from './traffic.js';
