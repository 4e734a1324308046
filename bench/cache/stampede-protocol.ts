/** Messages between the stampede parent and its worker processes (over the fork IPC channel). */

export type StampedeLibrary = 'cachefront' | 'bentocache' | 'cache-manager';

export const STAMPEDE_LIBRARIES: readonly StampedeLibrary[] = ['cachefront', 'bentocache', 'cache-manager'];

export interface StampedeTask {
  readonly library: StampedeLibrary;
  /** Prefix of every key this run writes. */
  readonly prefix: string;
  /** The cold key's id. */
  readonly id: number;
  /** Redis key the loader INCRs on every call. */
  readonly counterKey: string;
  readonly requests: number;
  readonly loaderMs: number;
}

export type ParentMessage = { readonly type: 'go' };

export type WorkerMessage =
  | { readonly type: 'ready'; readonly resolvedCache: string }
  | {
      readonly type: 'done';
      /** From `go` to the last of this process's requests settling. */
      readonly elapsedMs: number;
      readonly ok: number;
      readonly failed: number;
      readonly firstError: string | undefined;
      /** How cachefront served the requests: 'fresh' | 'stale' | 'miss' counts (empty for the peers). */
      readonly statuses: Readonly<Record<string, number>>;
    };
