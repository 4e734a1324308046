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
