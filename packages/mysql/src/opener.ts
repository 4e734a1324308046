import { backoffDelay } from './backoff.js';
import type { Context } from './context.js';
import type { ConnectionConfig, DriverConnection } from './driver/driver.js';
import { CachefrontMysqlError, ConnectError, ConnectionLimitError, ConnectorClosedError } from './errors.js';
import type { ConnectorEvents } from './events.js';
import type { Verdict } from './failures.js';
import { resolveConnection } from './options.js';
import type { OptionsSource } from './options-source.js';
import type { Slot, SlotPool } from './slot-pool.js';
import { SET_WAIT_TIMEOUT } from './statements.js';
import { connectWithin, pingWithin, queryWithin } from './timeouts.js';
import { tlsAdvice } from './tls.js';

/**
 * Physical connections: opened lazily with backoff on limits and timeouts, set up for the session,
 * replaced when found dead, and probed before a statement that must not run twice.
 */
export class Opener {
  /** A connect was refused for the connection count since the last `takeRefusal()`. */
  #refused = false;
  /** An operation asked for a connection since the last `takeUse()`. */
  #used = false;

  constructor(
    private readonly ctx: Context,
    private readonly pool: SlotPool,
    private readonly source: OptionsSource,
  ) {}

  /** Whether a connect was refused for the connection count (1040 / 1203 / 1226) since the last call. */
  takeRefusal(): boolean {
    const refused = this.#refused;
    this.#refused = false;
    return refused;
  }

  /** Whether any operation asked for a connection since the last call: `end()` has nothing to check after an invocation that never did. */
  takeUse(): boolean {
    const used = this.#used;
    this.#used = false;
    return used;
  }

  /** Counts and announces a connection that is being replaced. */
  reconnecting(reason: ConnectorEvents['reconnect']['reason'], idleMs: number): void {
    this.ctx.stats.reconnects += 1;
    this.ctx.events.emit('reconnect', { reason, idleMs });
  }

  /**
   * A usable connection for the slot: opened if there is none, replaced if it is known dead, and
   * pinged first (`probe`) when it sat idle long enough to have been closed behind our back and the
   * next statement must not run twice.
   */
  async ready(slot: Slot, probe: boolean): Promise<DriverConnection> {
    const { opts, stats, events, bounds, leases } = this.ctx;
    this.#used = true;
    const existing = slot.connection;
    const idleMs = opts.now() - slot.lastUsedAt;
    // With a fleet budget, a lease that lapsed while the container was frozen means another
    // container may be killing this thread (or killed it: its socket may be gone already):
    // nothing is sent on it, not even the probe.
    const checked = existing !== undefined && leases !== undefined && (existing.usable() || slot.lease !== undefined);
    const lease = checked ? await leases.beforeUse(slot, existing) : undefined;
    if (existing && lease?.ok === false) {
      stats.leaseLapses += 1;
      events.emit('leaseLapsed', { budget: leases?.budget.name ?? '', threadId: existing.threadId, idleMs: lease.idleMs });
      this.reconnecting('lease-lapsed', idleMs);
      await this.pool.close(slot, 'lapsed-lease');
    } else if (existing?.usable()) {
      if (slot.lease) leases?.hold(slot.lease);
      if (!probe || idleMs < Math.min(opts.probeIdleMs, opts.zombieMinTimeoutMs / 2)) return existing;
      try {
        stats.probes += 1;
        await pingWithin(existing, bounds.probe());
        return existing;
      } catch {
        this.reconnecting('probe-failed', idleMs);
        await this.pool.close(slot, 'lost');
      }
    } else if (existing) {
      this.reconnecting('stale-socket', idleMs);
      await this.pool.close(slot, 'lost');
    }
    slot.connection = await this.#openLeased(slot);
    return slot.connection;
  }

  /** A connect under a slot of the fleet budget when there is one: admitted, opened, then settled (zombie killed, limit scouted, lease bound). */
  async #openLeased(slot: Slot): Promise<DriverConnection> {
    const { leases, failures } = this.ctx;
    const grant = await leases?.admit();
    if (leases === undefined || grant === undefined) return this.#open();
    let connection: DriverConnection;
    try {
      connection = await this.#open();
    } catch (error) {
      await leases.release(grant.lease);
      throw error;
    }
    try {
      slot.lease = await leases.settle(connection, grant);
      leases.hold(slot.lease);
      return connection;
    } catch (error) {
      connection.destroy();
      await leases.release(grant.lease);
      throw failures.raise(error, true);
    }
  }

  /** Opens one connection, retrying limits, timeouts and refusals with backoff until `maxRetries` or the operation's end. */
  async #open(): Promise<DriverConnection> {
    const { opts, stats, events, bounds, failures, lifecycle } = this.ctx;
    const deadline = bounds.operationEnd();
    const started = opts.now();
    let previousDelay = 0;
    // What the final error reports: the last failure that said something about the server. An
    // attempt that the operation's end cut short and that timed out does not replace it.
    let reported: { readonly error: unknown; readonly verdict: Verdict } | undefined;
    for (let attempt = 0; ; attempt += 1) {
      if (lifecycle.closed) throw new ConnectorClosedError();
      const config = await this.#config();
      // With an invocation deadline an attempt may take what is left of it (a resuming Aurora
      // Serverless v2 takes 15-30 s to accept a connect); without one, `connectTimeoutMs`.
      const left = deadline - opts.now();
      const timeoutMs = this.ctx.deadline.at === undefined ? Math.min(opts.connectTimeoutMs, left) : left;
      // Undefined when no time was left for an attempt.
      let failure: Verdict | undefined;
      if (timeoutMs > 0) {
        try {
          const connection = await this.#attempt(config, timeoutMs);
          stats.connects += 1;
          events.emit('connect', { threadId: connection.threadId, attempts: attempt + 1, durationMs: opts.now() - started });
          return connection;
        } catch (error) {
          failure = failures.classify(error);
          const cutShort = failure.kind === 'timeout' && (this.ctx.deadline.at !== undefined || timeoutMs < opts.connectTimeoutMs);
          if (!cutShort || reported === undefined) reported = { error, verdict: failure };
        }
      }
      if (failure?.kind === 'fatal' || failure?.kind === 'tls') {
        stats.connectErrors += 1;
        const message =
          failure.kind === 'tls'
            ? `Could not connect to MySQL over TLS: ${tlsAdvice(failure.tls ?? 'handshake', failure.info.code)}.`
            : 'Could not connect to MySQL; the error is not one that retrying can fix (check `connection` settings and grants).';
        throw failures.report(new ConnectError(message, { ...failures.context(reported?.error), attempts: attempt + 1 }));
      }
      const delayMs = backoffDelay({ strategy: opts.backoff, baseMs: opts.backoffBaseMs, capMs: opts.backoffCapMs }, attempt, previousDelay, opts.random);
      previousDelay = delayMs;
      if (attempt >= opts.maxRetries || opts.now() + delayMs >= deadline) {
        stats.connectErrors += 1;
        const why = attempt >= opts.maxRetries ? `after ${attempt + 1} attempts (\`maxRetries\` ${opts.maxRetries})` : 'before the deadline';
        const context = { ...failures.context(reported?.error), attempts: attempt + 1 };
        throw failures.report(
          reported?.verdict.kind === 'limit'
            ? new ConnectionLimitError(
                `MySQL stayed at its connection limit ${why}; raise \`maxRetries\` or the deadline, or lower \`connUtilization\` so end() frees connections sooner.`,
                context,
              )
            : new ConnectError(`Could not connect to MySQL ${why}.`, context),
        );
      }
      stats.retries += 1;
      if (failure?.connectionCount) this.#refused = true;
      events.emit('retry', { attempt: attempt + 1, delayMs, code: failure?.info.code, errno: failure?.info.errno });
      await opts.sleep(delayMs);
    }
  }

  /** The connection details for the next connect. A connection function's own typed failure (an IAM token that could not be had) is reported like a failed connect. */
  async #config(): Promise<ConnectionConfig> {
    try {
      return await resolveConnection(await this.source.connection(this.ctx.opts));
    } catch (error) {
      if (!(error instanceof CachefrontMysqlError)) throw error;
      this.ctx.stats.connectErrors += 1;
      throw this.ctx.failures.report(error);
    }
  }

  /** One connect, and the session's setup. */
  async #attempt(config: ConnectionConfig, timeoutMs: number): Promise<DriverConnection> {
    const { opts } = this.ctx;
    const connection = await connectWithin(opts.driver, config, timeoutMs);
    if (opts.sessionIdleTimeoutMs !== undefined) {
      // The server's own guard against zombies: it closes this session after that long idle,
      // even when the fleet is so full that no container can connect to reap it.
      const seconds = Math.max(1, Math.ceil(opts.sessionIdleTimeoutMs / 1000));
      await queryWithin(connection, SET_WAIT_TIMEOUT, [seconds], opts.adminTimeoutMs).catch((error: unknown) => {
        connection.destroy();
        throw error;
      });
    }
    return connection;
  }
}
