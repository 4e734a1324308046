export { type AdminConfig, AdminSession } from '../shared/admin-session.js';
export { ConnectionMonitor, ESTABLISHED_CONNECTIONS_SQL } from '../shared/connection-monitor.js';
export { abortableSleep, abortOnSignals, disposeWithin, openLocalAdmin, runMain, sleep } from '../shared/lifecycle.js';
export { errorLabel, InvocationLog, type InvocationTally, type LatencySummary, median, percentile, summarizeLatency } from '../shared/metrics.js';
export { type Random, randomInt, seededRandom } from '../shared/random.js';
export { type CachefrontAdapterOptions, cachefrontAdapter } from './adapters/cachefront.js';
export { plainMysql2Adapter } from './adapters/plain-mysql2.js';
export { type BurstPlan, DEFAULT_PLAN, totalInvocations, validatePlan } from './burst-plan.js';
export { flagsHelp, type NumberFlag, type ParsedFlags, PLAN_FLAGS, parseFlags, planDefaults, planFromFlags } from './cli-flags.js';
export { Container, InvocationTimeoutError } from './container.js';
export { createAppDatabase, dropAppDatabase, type FixtureOptions } from './database-fixture.js';
export {
  type AppDatabase,
  type ContainerClient,
  type CounterName,
  CounterSet,
  type DriverAdapter,
  type DriverCounters,
  type InvocationWork,
  READ_ITEM_SQL,
  WRITE_ITEM_SQL,
} from './driver-adapter.js';
export { type ProgressPrinter, progressPrinter } from './progress.js';
export { comparisonRows, formatMarkdownTable, formatMs, formatTextTable, type ResultColumn } from './report.js';
export { type BurstOptions, type BurstProgress, type BurstResult, runBurst } from './run-burst.js';
