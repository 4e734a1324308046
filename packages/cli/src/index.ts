/** `@cachefront/cli`: the `cachefront` command (bin), and its pieces for tests and scripts. */
export { durationMs, run } from './cli.js';
export { mysqlTarget, redact, redisTarget, UsageError } from './connections.js';
export { type DoctorOptions, type DoctorResult, runDoctor, UnreachableError } from './doctor/doctor.js';
export type { Facts, MysqlFacts, NamespaceFacts, RedisFacts, ThreadGroup } from './doctor/facts.js';
export { accountLimit, type Finding, type Judgement, judge, type Recommendation, type Severity } from './doctor/recommend.js';
export { type DoctorJson, toJson, toText } from './doctor/report.js';
export type { Io, KeyInput } from './io.js';
export { checkReachable, type Reachability, whyUnreachable } from './reachability.js';
export { type ReapCommandOptions, type ReapReport, reapText, runReap } from './reap.js';
export { openSampler, type Sample, type Sampler, sampleLine, sampleScreen } from './watch.js';
