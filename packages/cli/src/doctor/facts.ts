/** What the doctor reads of the live servers: plain data, so the recommendations are pure functions of it. */

export interface ThreadGroup {
  readonly user: string;
  readonly command: string;
  readonly count: number;
  /** The longest idle (or busy) time in the group, in seconds. */
  readonly maxTimeS: number;
}

export interface MysqlFacts {
  readonly server: string;
  readonly version: string;
  /** The account the server authenticated (CURRENT_USER()), `user@host`. */
  readonly account: string;
  readonly user: string;
  readonly maxConnections: number;
  /** The global `max_user_connections` (0: unlimited). */
  readonly globalMaxUserConnections: number;
  /** This account's own limit (the session value: the account's `MAX_USER_CONNECTIONS`, else the global). */
  readonly accountMaxUserConnections: number;
  /** Per-account limits where `mysql.user` is visible; undefined when it is not. */
  readonly accounts: ReadonlyArray<{ readonly account: string; readonly maxUserConnections: number }> | undefined;
  readonly waitTimeoutS: { readonly global: number; readonly session: number };
  readonly interactiveTimeoutS: { readonly global: number; readonly session: number };
  readonly status: {
    readonly maxUsedConnections: number;
    readonly connectionErrorsMaxConnections: number;
    readonly abortedClients: number;
    readonly abortedConnects: number;
    readonly threadsConnected: number;
  };
  /** Threads by user and command, as far as the account can see them (all with PROCESS, else its own). */
  readonly threads: readonly ThreadGroup[];
  /** Whether the account sees every user's threads (PROCESS). */
  readonly seesAllThreads: boolean;
  /** This user's sleeping threads idle at least the zombie threshold, oldest first. */
  readonly zombies: ReadonlyArray<{ readonly id: number; readonly idleS: number }>;
  readonly zombieThresholdS: number;
  /** Whether the account may kill other users' threads (CONNECTION ADMIN or SUPER); its own it always may. */
  readonly canKillOthers: boolean;
  /** Whether `mysql.rds_kill` exists (RDS, where KILL of others' threads is refused). */
  readonly hasRdsKill: boolean;
}

export interface NamespaceFacts {
  readonly namespace: string;
  /** Keys of the namespace among those scanned. */
  readonly keys: number;
  /** Keys without a TTL among them (cachefront gives every key one). */
  readonly withoutTtl: number;
  /** Median MEMORY USAGE of a sample, in bytes. */
  readonly sampleBytes: number | undefined;
}

export interface RedisFacts {
  readonly server: string;
  readonly version: string;
  readonly cluster: boolean;
  readonly maxmemory: number;
  readonly maxmemoryPolicy: string;
  readonly evictedKeys: number;
  readonly connectedClients: number;
  readonly maxclients: number | undefined;
  readonly usedMemory: number;
  /** Keys scanned (bounded) and whether the scan saw the whole keyspace. */
  readonly scanned: number;
  readonly complete: boolean;
  readonly namespaces: readonly NamespaceFacts[];
  /** Fleet budgets found (`{cf-budget:<name>}` keys). */
  readonly budgets: readonly string[];
  /** The state of the first `MAX_INSPECTED_BUDGETS` of them, as the budget's own `inspect()` reads it. */
  readonly budgetStates: readonly BudgetState[];
}

export interface BudgetState {
  readonly name: string;
  /** Seats taken: live leases and lapsed ones nobody claimed yet. */
  readonly taken: number;
  /** Of those, leases past their expiry: zombies, or frozen containers. */
  readonly lapsed: number;
  /** Containers waiting for a seat. */
  readonly waiting: number;
  /** The database limit the budget knows; null before a container published it. */
  readonly limit: number | null;
}

export interface Facts {
  readonly mysql: MysqlFacts | undefined;
  readonly redis: RedisFacts | undefined;
}
