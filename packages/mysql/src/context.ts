import type { Emitter } from '@cachefront/common';
import type { Bounds, Deadline } from './deadline.js';
import type { ConnectorEvents } from './events.js';
import type { Failures } from './failures.js';
import type { LeaseKeeper } from './fleet/lease-keeper.js';
import type { ResolvedOptions } from './options.js';
import type { Counters } from './stats.js';
import type { TransactionScope } from './transaction.js';

/** Whether `quit()` was called: every module refuses new work from then on. */
interface Lifecycle {
  closed: boolean;
}

/** What the connector holds from its creation, before its options are resolved. */
export interface Shared {
  readonly events: Emitter<ConnectorEvents>;
  readonly stats: Counters;
  readonly deadline: Deadline;
  readonly lifecycle: Lifecycle;
  readonly scope: TransactionScope;
}

/**
 * The internal object every runtime module gets: the resolved options and the connector's shared
 * state. It is never public: `Connector` is the user's surface only.
 */
export interface Context extends Shared {
  readonly opts: ResolvedOptions;
  readonly bounds: Bounds;
  readonly failures: Failures;
  /** The fleet budget's side in this connector, when `budget` is set. */
  readonly leases: LeaseKeeper | undefined;
}
