import { type AdminConfig, AdminSession } from './admin-session.js';

/**
 * Ctrl-C (or SIGTERM) aborts the run: the invocations in flight finish, then everything is cleaned
 * up. A second Ctrl-C leaves at once.
 */
export function abortOnSignals(): { readonly signal: AbortSignal; release(): void } {
  const stop = new AbortController();
  const onSignal = (): void => {
    if (stop.signal.aborted) process.exit(130);
    console.error('\nStopping after the invocations in flight, then cleaning up (Ctrl-C again to leave at once)…');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: stop.signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Opens the admin session of a local run, with a message that says which settings to change. */
export function openLocalAdmin(server: AdminConfig): Promise<AdminSession> {
  return AdminSession.open(server).catch((error: unknown) => {
    throw new Error(`Cannot reach MariaDB/MySQL as ${server.user} on ${server.host}:${server.port} (set CACHEFRONT_MYSQL_HOST / _PORT / _USER / _PASSWORD).`, {
      cause: error,
    });
  });
}

/** Runs every disposer, giving up on any still hanging after `timeoutMs` (an abandoned client may never answer). */
export async function disposeWithin(disposers: ReadonlyArray<() => Promise<unknown>>, timeoutMs = 3000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const givingUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    await Promise.race([Promise.all(disposers.map((dispose) => dispose().catch(() => {}))), givingUp]);
  } finally {
    clearTimeout(timer);
  }
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/** Sleeps `ms`, or less when `signal` aborts first. */
export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs a command's `main`, turning its result into the exit code and an error into a readable message. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      if (error instanceof Error && error.cause !== undefined) console.error('  cause:', error.cause instanceof Error ? error.cause.message : error.cause);
      process.exitCode = 1;
    },
  );
}
