import { describe, expect, it } from 'vitest';
import { seededRandom } from './backoff.js';
import { type Connector, createConnector } from './connector.js';
import {
  ConnectError,
  ConnectionLimitError,
  ConnectionLostError,
  ConnectorClosedError,
  DeadlineError,
  QueryError,
  StatementError,
  TransactionError,
} from './errors.js';
import type { ConnectorEventName, ConnectorEvents } from './events.js';
import type { ConnectorOptions } from './options.js';
import { sql } from './sql.js';
import { ACCESS_DENIED, FakeServer, serverError, TOO_MANY_CONNECTIONS, writeResult } from './testing/fake-server.js';

const USER = 'app';

/** A connector on a fake server with a manual clock: `sleep` advances time instantly. */
function setup(overrides: Partial<ConnectorOptions> = {}, server?: FakeServer) {
  const clock = { now: 1_000_000 };
  const now = () => clock.now;
  const fake = server ?? new FakeServer({ now });
  const sleeps: number[] = [];
  const events: Array<{ event: ConnectorEventName; payload: unknown }> = [];
  const db = createConnector({
    connection: { user: USER, password: 'hunter2', database: 'shop' },
    driver: fake,
    now,
    random: seededRandom(1),
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.now += ms;
    },
    ...overrides,
  });
  const names: ConnectorEventName[] = ['connect', 'retry', 'reconnect', 'query', 'usage', 'kill', 'killError', 'close', 'error'];
  for (const event of names) db.on(event, (payload: ConnectorEvents[typeof event]) => events.push({ event, payload }));
  const advance = (ms: number) => {
    clock.now += ms;
  };
  const eventsOf = <E extends ConnectorEventName>(event: E) => events.filter((e) => e.event === event).map((e) => e.payload as ConnectorEvents[E]);
  return { db, fake, clock, advance, sleeps, events, eventsOf };
}

const own = (db: Connector, fake: FakeServer) => {
  const threads = fake.liveThreads(USER);
  expect(db.stats().openConnections).toBeGreaterThan(0);
  return threads[threads.length - 1];
};

describe('lazy lifecycle', () => {
  it('does no I/O until the first statement, then reuses one connection', async () => {
    const { db, fake } = setup();
    expect(fake.connectConfigs).toHaveLength(0);
    fake.handler = () => [{ n: 1 }];
    expect(await db.query(sql`SELECT ${1} AS n`)).toEqual([{ n: 1 }]);
    await db.query(sql`SELECT ${1} AS n`);
    expect(fake.connectConfigs).toHaveLength(1);
    expect(fake.liveThreads(USER)).toHaveLength(1);
  });

  it('resolves an options function on first use, and the connection function on every connect', async () => {
    const clock = { now: 0 };
    const fake = new FakeServer({ now: () => clock.now });
    let optionCalls = 0;
    let tokens = 0;
    const db = createConnector(async () => {
      optionCalls += 1;
      return { driver: fake, now: () => clock.now, connection: async () => ({ user: USER, password: `iam-token-${++tokens}` }) };
    });
    expect(optionCalls).toBe(0);
    await db.query(sql`SELECT 1`);
    const first = fake.liveThreads(USER)[0];
    fake.kill(first?.id ?? -1);
    await db.query(sql`SELECT 1`); // lost, reconnected, retried
    expect(optionCalls).toBe(1);
    expect(fake.connectConfigs.map((c) => c.password)).toEqual(['iam-token-1', 'iam-token-2']);
  });

  it('retries a failed options function on the next call instead of caching the failure', async () => {
    const fake = new FakeServer({ now: Date.now });
    let calls = 0;
    const db = createConnector(async () => {
      calls += 1;
      if (calls === 1) throw new Error('secrets manager unavailable');
      return { driver: fake, connection: { user: USER } };
    });
    await expect(db.query(sql`SELECT 1`)).rejects.toThrow('secrets manager unavailable');
    await expect(db.query(sql`SELECT 1`)).resolves.toEqual([]);
  });

  it('refuses use after quit(), and closes its connection', async () => {
    const { db, fake } = setup();
    await db.query(sql`SELECT 1`);
    await db.quit();
    expect(fake.liveThreads(USER)).toHaveLength(0);
    await expect(db.query(sql`SELECT 1`)).rejects.toBeInstanceOf(ConnectorClosedError);
  });

  it('supports await using', async () => {
    const { db, fake } = setup();
    {
      await using scoped = db;
      await scoped.query(sql`SELECT 1`);
      expect(fake.liveThreads(USER)).toHaveLength(1);
    }
    expect(fake.liveThreads(USER)).toHaveLength(0);
  });

  it('refuses statements not built with the sql tag', async () => {
    const { db, fake } = setup();
    await expect(db.query({ text: 'SELECT 1', values: [] } as never)).rejects.toBeInstanceOf(StatementError);
    expect(fake.connectConfigs).toHaveLength(0);
  });
});

describe('connect retries', () => {
  it('backs off on 1040 and succeeds once a slot frees up', async () => {
    const { db, fake, sleeps, eventsOf } = setup();
    fake.refuseConnects.push(TOO_MANY_CONNECTIONS(), TOO_MANY_CONNECTIONS(), TOO_MANY_CONNECTIONS());
    await db.query(sql`SELECT 1`);
    expect(sleeps).toHaveLength(3);
    expect(eventsOf('retry').map((e) => e.errno)).toEqual([1040, 1040, 1040]);
    expect(eventsOf('connect')[0]?.attempts).toBe(4);
    expect(db.stats().retries).toBe(3);
  });

  it('resets the retry counter for every operation', async () => {
    const { db, fake } = setup({ maxRetries: 3 });
    fake.refuseConnects.push(...Array.from({ length: 4 }, TOO_MANY_CONNECTIONS));
    const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLimitError);
    expect(error).toMatchObject({ code: 'E_CONNECTION_LIMIT', errno: 1040, sqlState: '08004', driverCode: 'ER_CON_COUNT_ERROR', attempts: 4 });
    expect((error as Error).cause).toBeDefined();
    // serverless-mysql leaves its counter exhausted; here the next operation gets its full budget again.
    fake.refuseConnects.push(TOO_MANY_CONNECTIONS(), TOO_MANY_CONNECTIONS(), TOO_MANY_CONNECTIONS());
    await expect(db.query(sql`SELECT 1`)).resolves.toEqual([]);
  });

  it('stops at the invocation deadline with a typed error', async () => {
    const { db, fake, clock, sleeps } = setup({ maxRetries: 1000, deadlineMarginMs: 100 });
    fake.maxConnections = 0; // never a free slot
    db.setDeadline(clock.now + 1000);
    const started = clock.now;
    const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLimitError);
    expect(clock.now - started).toBeLessThanOrEqual(900);
    expect(sleeps.length).toBeGreaterThan(3);
    expect((error as Error).message).toContain('before the deadline');
    expect((error as Error).message).toContain('`maxRetries`');
  });

  it('reports the limit it met, not the last connect that the deadline cut short', async () => {
    const { db, fake, clock } = setup({ maxRetries: 1000, deadlineMarginMs: 0, backoffBaseMs: 1, backoffCapMs: 2 });
    const deadline = clock.now + 100;
    db.setDeadline(deadline);
    // Refused while there is time; the attempt squeezed into the last milliseconds gets no answer in time.
    fake.connect = () => (clock.now < deadline - 10 ? Promise.reject(TOO_MANY_CONNECTIONS()) : new Promise(() => {}));
    const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLimitError);
    expect(error).toMatchObject({ errno: 1040, driverCode: 'ER_CON_COUNT_ERROR' });
    expect((error as Error).message).toContain('before the deadline');
  });

  it('takes the deadline from a Lambda context', async () => {
    const { db, fake, clock } = setup({ maxRetries: 1000, deadlineMarginMs: 0 });
    fake.maxConnections = 0;
    db.useContext({ getRemainingTimeInMillis: () => 300 });
    const started = clock.now;
    await expect(db.query(sql`SELECT 1`)).rejects.toBeInstanceOf(ConnectionLimitError);
    expect(clock.now - started).toBeLessThanOrEqual(300);
  });

  it('does not retry errors that retrying cannot fix, and never shows the password', async () => {
    const { db, fake, sleeps } = setup();
    fake.refuseConnects.push(ACCESS_DENIED());
    const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ code: 'E_CONNECT_FAILED', errno: 1045, attempts: 1 });
    expect(sleeps).toHaveLength(0);
    expect(JSON.stringify(error) + String(error) + String((error as Error).cause)).not.toContain('hunter2');
  });

  it('reports a refused connection (wrong host, server down) as a connect error, not a connection limit', async () => {
    const { db, fake } = setup({ maxRetries: 2 });
    const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3399'), { code: 'ECONNREFUSED', errno: -111 });
    fake.refuseConnects.push(refused(), refused(), refused());
    const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ code: 'E_CONNECT_FAILED', driverCode: 'ECONNREFUSED', errno: undefined, attempts: 3 });
  });

  it('uses full jitter when asked, within its bounds', async () => {
    const { db, fake, sleeps } = setup({ backoff: 'full', backoffBaseMs: 2, backoffCapMs: 100 });
    fake.refuseConnects.push(...Array.from({ length: 10 }, TOO_MANY_CONNECTIONS));
    await db.query(sql`SELECT 1`);
    expect(sleeps).toHaveLength(10);
    for (const [attempt, delay] of sleeps.entries()) expect(delay).toBeLessThan(Math.min(100, 2 * 2 ** attempt));
  });
});

describe('reconnects and the no-double-write rule', () => {
  it('re-runs an idempotent read once after the connection was closed behind its back', async () => {
    const { db, fake, eventsOf } = setup();
    fake.handler = () => [{ ok: 1 }];
    await db.query(sql`SELECT 1`);
    fake.kill(own(db, fake)?.id ?? -1); // KILL / wait_timeout while the container was frozen
    expect(await db.query(sql`SELECT ok FROM t`)).toEqual([{ ok: 1 }]);
    expect(db.stats()).toMatchObject({ queryRetries: 1, reconnects: 1, connects: 2 });
    expect(eventsOf('reconnect')).toHaveLength(1);
  });

  it('never re-runs a write that may have reached the server', async () => {
    const { db, fake } = setup({ probeIdleMs: 60_000 });
    let inserts = 0;
    fake.handler = (text) => {
      if (text.startsWith('INSERT')) inserts += 1;
      return writeResult(1, inserts);
    };
    await db.execute(sql`INSERT INTO t VALUES (${1})`);
    fake.dropNext = 'after-apply';
    const error = await db.execute(sql`INSERT INTO t VALUES (${2})`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(error).toMatchObject({ code: 'E_CONNECTION_LOST', mayHaveApplied: true });
    expect(inserts).toBe(2); // applied once, not twice
    await db.execute(sql`INSERT INTO t VALUES (${3})`); // the connector recovers
    expect(inserts).toBe(3);
  });

  it('re-sends a write on a fresh connection when the driver refused it locally (it never left)', async () => {
    const { db, fake } = setup({ probeIdleMs: 60_000 });
    let inserts = 0;
    fake.handler = () => writeResult(1, ++inserts);
    // The socket closed a moment ago; the driver still looks usable but refuses the command before writing it.
    let refuseOnce = false;
    const originalConnect = fake.connect.bind(fake);
    fake.connect = async (config) => {
      const connection = await originalConnect(config);
      const query = connection.query.bind(connection);
      connection.query = async (text, values) => {
        if (refuseOnce) {
          refuseOnce = false;
          throw Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true });
        }
        return query(text, values);
      };
      return connection;
    };
    await db.execute(sql`INSERT INTO t VALUES (${1})`);
    refuseOnce = true;
    await expect(db.execute(sql`INSERT INTO t VALUES (${2})`)).resolves.toMatchObject({ affectedRows: 1 });
    expect(inserts).toBe(2);
    expect(db.stats().connects).toBe(2);
  });

  it('pings an idle connection before a write, and replaces it if the ping fails', async () => {
    const { db, fake, advance } = setup({ probeIdleMs: 1000 });
    let inserts = 0;
    fake.handler = () => writeResult(1, ++inserts);
    await db.execute(sql`INSERT INTO t VALUES (${1})`);
    advance(5000); // frozen for 5 s, and the server closed the socket meanwhile
    fake.kill(own(db, fake)?.id ?? -1);
    await expect(db.execute(sql`INSERT INTO t VALUES (${2})`)).resolves.toMatchObject({ affectedRows: 1 });
    expect(inserts).toBe(2);
    expect(db.stats()).toMatchObject({ reconnects: 1, connects: 2 });
  });

  it('does not ping a connection used a moment ago', async () => {
    const { db, fake } = setup({ probeIdleMs: 1000 });
    fake.handler = () => writeResult(1);
    await db.execute(sql`INSERT INTO t VALUES (${1})`);
    await db.execute(sql`INSERT INTO t VALUES (${2})`);
    expect(db.stats().probes).toBe(0);
  });

  it('does not retry a read twice', async () => {
    const { db, fake } = setup();
    fake.handler = () => {
      throw serverError('ECONNRESET', undefined, 'read ECONNRESET');
    };
    await db.query(sql`SELECT 1`).catch(() => {});
    const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionLostError);
    expect(error).toMatchObject({ mayHaveApplied: false });
  });

  it('reports server errors as QueryError, retryable for deadlocks, with no parameter in sight', async () => {
    const { db, fake, events } = setup();
    fake.handler = (text, values) => {
      if (text.includes('dup')) throw serverError('ER_DUP_ENTRY', 1062, `Duplicate entry '${String(values[0])}' for key 'email'`, '23000');
      throw serverError('ER_LOCK_DEADLOCK', 1213, 'Deadlock found when trying to get lock', '40001');
    };
    const dup = await db.execute(sql`INSERT INTO dup VALUES (${'alice@secret.example'})`).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(QueryError);
    expect(dup).toMatchObject({ errno: 1062, sqlState: '23000', retryable: false });
    const deadlock = await db.execute(sql`UPDATE t SET a = ${1}`).catch((e: unknown) => e);
    expect(deadlock).toMatchObject({ errno: 1213, retryable: true });
    const everything = [String(dup), String((dup as Error).cause), JSON.stringify(dup), JSON.stringify(events.map((e) => e.payload))].join('\n');
    expect(everything).not.toContain('alice@secret.example');
  });

  it('fails fast when the deadline has already passed, without sending', async () => {
    const { db, fake, clock } = setup();
    await db.query(sql`SELECT 1`);
    db.setDeadline(clock.now - 1);
    const before = fake.log.length;
    await expect(db.execute(sql`UPDATE t SET a = 1`)).rejects.toMatchObject({ code: 'E_DEADLINE_EXCEEDED', mayHaveApplied: false });
    expect(fake.log.length).toBe(before);
    expect(new DeadlineError('x', { mayHaveApplied: false })).toBeInstanceOf(Error);
  });
});

describe('sessionIdleTimeoutMs', () => {
  it('sets the session wait_timeout on every new connection, in whole seconds', async () => {
    const { db, fake } = setup({ sessionIdleTimeoutMs: 120_500 });
    await db.query(sql`SELECT 1`);
    fake.kill(own(db, fake)?.id ?? -1);
    await db.query(sql`SELECT 1`);
    const sets = fake.log.filter((e) => e.text.startsWith('SET SESSION wait_timeout'));
    expect(sets.map((e) => e.values)).toEqual([[121], [121]]);
  });

  it('sends nothing extra when unset', async () => {
    const { db, fake } = setup();
    await db.query(sql`SELECT 1`);
    expect(fake.applied(/wait_timeout/)).toBe(0);
  });
});

describe('a server that hangs', () => {
  it('gives up on a connect that never answers, and retries it as a timeout', async () => {
    const clock = { now: 0 };
    const fake = new FakeServer({ now: () => clock.now });
    const connect = fake.connect.bind(fake);
    let hangs = 1;
    fake.connect = (config) => (hangs-- > 0 ? new Promise(() => {}) : connect(config));
    const retries: Array<string | undefined> = [];
    const db = createConnector({ connection: { user: USER }, driver: fake, connectTimeoutMs: 20, now: () => clock.now, sleep: async () => {} });
    db.on('retry', (event) => retries.push(event.code));
    await expect(db.query(sql`SELECT 1`)).resolves.toEqual([]);
    expect(retries).toEqual(['ETIMEDOUT']);
  });

  it('closes a connection that arrives after its connect timed out', async () => {
    const clock = { now: 0 };
    const fake = new FakeServer({ now: () => clock.now });
    const connect = fake.connect.bind(fake);
    let slow = true;
    fake.connect = async (config) => {
      if (slow) {
        slow = false;
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      return connect(config);
    };
    const db = createConnector({ connection: { user: USER }, driver: fake, connectTimeoutMs: 20, now: () => clock.now, sleep: async () => {} });
    await db.query(sql`SELECT 1`);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(fake.liveThreads(USER)).toHaveLength(1); // the late one was closed, only ours is left
  });

  it('times out a statement that never returns, destroys its connection, and does not re-send a write', async () => {
    const fake = new FakeServer({ now: Date.now });
    let updates = 0;
    fake.handler = (text) => {
      if (text.startsWith('UPDATE')) updates += 1;
      return writeResult(1);
    };
    const connect = fake.connect.bind(fake);
    let hang = false;
    fake.connect = async (config) => {
      const connection = await connect(config);
      const query = connection.query.bind(connection);
      connection.query = async (text, values) => {
        const output = await query(text, values);
        if (hang && text.startsWith('UPDATE')) return new Promise(() => {}); // applied, but the reply never comes
        return output;
      };
      return connection;
    };
    const db = createConnector({ connection: { user: USER }, driver: fake });
    await db.execute(sql`UPDATE t SET n = 1`);
    hang = true;
    const error = await db.execute(sql`UPDATE t SET n = 2`, { timeoutMs: 30 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineError);
    expect(error).toMatchObject({ mayHaveApplied: true });
    expect(updates).toBe(2);
    hang = false;
    await db.execute(sql`UPDATE t SET n = 3`);
    expect(db.stats().connects).toBe(2);
    expect(updates).toBe(3);
  });

  it('fails a read that timed out with a typed error, without retrying it', async () => {
    const fake = new FakeServer({ now: Date.now });
    const connect = fake.connect.bind(fake);
    fake.connect = async (config) => {
      const connection = await connect(config);
      connection.query = () => new Promise(() => {});
      return connection;
    };
    const db = createConnector({ connection: { user: USER }, driver: fake, queryTimeoutMs: 20 });
    await expect(db.query(sql`SELECT 1`)).rejects.toMatchObject({ code: 'E_DEADLINE_EXCEEDED', mayHaveApplied: false });
  });
});

describe('end(): utilization, reaping, closing', () => {
  it('keeps the connection for the next warm invocation when utilization is low', async () => {
    const { db, fake } = setup();
    await db.query(sql`SELECT 1`);
    const result = await db.end();
    expect(result).toMatchObject({ checked: true, limit: 151, used: 1, killed: [], closed: false });
    expect(fake.liveThreads(USER)).toHaveLength(1);
  });

  it('counts only its own user, and takes the per-user limit', async () => {
    const { db, fake } = setup();
    fake.maxUserConnections = 10;
    for (let i = 0; i < 30; i += 1) fake.addThread('someone_else', 60_000);
    fake.addThread(USER, 1000);
    await db.query(sql`SELECT 1`);
    expect(await db.end()).toMatchObject({ limit: 10, used: 2, closed: false });
  });

  it('above the threshold, kills only sleeping zombies of its user older than the adaptive threshold', async () => {
    const { db, fake, eventsOf } = setup({ zombieMinTimeoutMs: 1000 });
    fake.maxConnections = 10;
    const old = [fake.addThread(USER, 120_000), fake.addThread(USER, 90_000)];
    const young = fake.addThread(USER, 500);
    const busy = fake.addThread(USER, 200_000, 'Query');
    const foreign = fake.addThread('other', 500_000);
    for (let i = 0; i < 5; i += 1) fake.addThread(USER, 800);
    await db.query(sql`SELECT 1`); // 10 of 10 used: utilization 1, threshold = zombieMinTimeoutMs
    const result = await db.end();
    expect(result.killed).toEqual(old.map((t) => t.id));
    expect(old.every((t) => !t.alive)).toBe(true);
    expect(young.alive && busy.alive && foreign.alive).toBe(true);
    expect(eventsOf('kill').map((k) => k.threadId)).toEqual(old.map((t) => t.id));
    expect(eventsOf('usage')[0]).toMatchObject({ limit: 10, used: 10, utilization: 1, thresholdMs: 1000, pressure: false });
    expect(db.stats().kills).toBe(2);
  });

  it('kills only as many as it takes to get back under the threshold, oldest first', async () => {
    const { db, fake } = setup();
    fake.maxConnections = 10;
    const idle = [10_000, 50_000, 20_000, 40_000, 30_000, 60_000, 15_000, 25_000, 35_000].map((ms) => fake.addThread(USER, ms));
    await db.query(sql`SELECT 1`); // 10 of 10: 2 over the 0.8 threshold
    const result = await db.end();
    const oldest = [...idle].sort((a, b) => a.since - b.since).slice(0, 2);
    expect(result).toMatchObject({ killed: oldest.map((t) => t.id), closed: false });
    const killed = idle.filter((t) => !t.alive).map((t) => fake.now() - t.since);
    expect(killed.sort()).toEqual([50_000, 60_000]);
  });

  it('re-checks at kill time: a zombie that woke up after the snapshot is spared', async () => {
    const { db, fake } = setup();
    fake.maxConnections = 4;
    const waking = fake.addThread(USER, 60_000);
    const zombie = fake.addThread(USER, 60_000);
    fake.addThread(USER, 60_000, 'Query');
    await db.query(sql`SELECT 1`);
    fake.beforeKill = () => {};
    // The recheck sees `waking` busy: its container thawed between the snapshot and the kill.
    const originalRun = fake.run.bind(fake);
    fake.run = (thread, text, values) => {
      if (text.startsWith('SELECT ID AS id FROM')) waking.command = 'Query';
      return originalRun(thread, text, values);
    };
    await db.end();
    expect(waking.alive).toBe(true);
    expect(zombie.alive).toBe(false);
  });

  it('treats ER_NO_SUCH_THREAD from a concurrent reaper as done, not as an error', async () => {
    const { db, fake, eventsOf } = setup();
    fake.maxConnections = 3;
    const a = fake.addThread(USER, 60_000);
    const b = fake.addThread(USER, 60_000);
    await db.query(sql`SELECT 1`);
    fake.beforeKill = () => fake.kill(a.id); // another container killed it first
    const result = await db.end();
    expect(b.alive).toBe(false);
    expect(result.killed).toEqual([b.id]);
    expect(eventsOf('killError')).toHaveLength(0);
    expect(eventsOf('error')).toHaveLength(0);
  });

  it('closes its own connection when reaping cannot bring utilization under the threshold', async () => {
    const { db, fake, eventsOf } = setup();
    fake.maxConnections = 5;
    for (let i = 0; i < 4; i += 1) fake.addThread(USER, 100, 'Sleep'); // busy warm containers, too young to reap
    await db.query(sql`SELECT 1`);
    const result = await db.end();
    expect(result).toMatchObject({ killed: [], closed: true, used: 5 });
    expect(fake.liveThreads(USER)).toHaveLength(4);
    expect(eventsOf('close')[0]).toMatchObject({ reason: 'utilization' });
    await db.query(sql`SELECT 1`); // the next invocation connects again, lazily
    expect(db.stats().connects).toBe(2);
  });

  it('after waiting for a slot, acts as at full use even when its own user holds few connections', async () => {
    const { db, fake, eventsOf } = setup({ zombieMinTimeoutMs: 1000 });
    fake.maxConnections = 10;
    const zombies = [fake.addThread(USER, 1500)];
    const warm = fake.addThread(USER, 400);
    fake.addThread(USER, 300);
    // The server is full of other users' sessions (monitoring, admin): own usage is only 4 of 10.
    fake.refuseConnects.push(TOO_MANY_CONNECTIONS(), TOO_MANY_CONNECTIONS());
    await db.query(sql`SELECT 1`);
    const result = await db.end();
    expect(eventsOf('usage')[0]).toMatchObject({ used: 4, utilization: 1, thresholdMs: 1000, pressure: true });
    expect(zombies.every((t) => !t.alive)).toBe(true);
    expect(warm.alive).toBe(true);
    expect(result).toMatchObject({ killed: zombies.map((t) => t.id), closed: true }); // 9 of 10 still counted as used: it gives its own slot back
    // The next invocation was not refused: back to the plain rule, which keeps the warm connection.
    await db.query(sql`SELECT 1`);
    expect(await db.end()).toMatchObject({ closed: false, killed: [] });
  });

  it('probes a write on a connection idle half of zombieMinTimeoutMs, before it could have been reaped', async () => {
    const { db, fake, advance } = setup({ zombieMinTimeoutMs: 1000, probeIdleMs: 5000 });
    fake.handler = () => writeResult(1);
    await db.execute(sql`UPDATE t SET n = 1`);
    advance(600);
    await db.execute(sql`UPDATE t SET n = 2`);
    expect(db.stats().probes).toBe(1);
  });

  it('kills connections idle longer than zombieMaxTimeoutMs even at low utilization', async () => {
    const { db, fake } = setup({ zombieMaxTimeoutMs: 60_000 });
    const ancient = fake.addThread(USER, 61_000);
    const recent = fake.addThread(USER, 59_000);
    await db.query(sql`SELECT 1`);
    await db.end();
    expect(ancient.alive).toBe(false);
    expect(recent.alive).toBe(true);
  });

  it('reads idle ages to the millisecond on MariaDB, and in whole seconds on MySQL', async () => {
    for (const flavor of ['mariadb', 'mysql'] as const) {
      const { db, fake } = setup({ zombieMinTimeoutMs: 1000 });
      fake.flavor = flavor;
      fake.maxConnections = 4;
      const zombie = fake.addThread(USER, 1400); // above the 1000 ms minimum, but TIME says 1 s
      const young = fake.addThread(USER, 900);
      fake.addThread(USER, 100, 'Query');
      await db.query(sql`SELECT 1`);
      await db.end();
      expect([flavor, zombie.alive, young.alive]).toEqual([flavor, false, true]);
      expect(fake.applied(/TIME_MS AS idle/)).toBe(1); // tried first, and only once on MySQL
      expect(fake.applied(/ TIME AS idle/)).toBe(flavor === 'mysql' ? 1 : 0);
    }
  });

  it('uses CALL mysql.rds_kill on RDS', async () => {
    const { db, fake } = setup({ killMethod: 'rds_kill', zombieMaxTimeoutMs: 10_000 });
    fake.addThread(USER, 20_000);
    await db.query(sql`SELECT 1`);
    await db.end();
    expect(fake.applied(/^CALL mysql\.rds_kill/)).toBe(1);
    expect(fake.applied(/^KILL/)).toBe(0);
  });

  it('reads the processlist at most every usageCheckIntervalMs', async () => {
    const { db, fake, advance } = setup({ usageCheckIntervalMs: 5000 });
    await db.query(sql`SELECT 1`);
    expect((await db.end()).checked).toBe(true);
    await db.query(sql`SELECT 1`);
    expect((await db.end()).checked).toBe(false);
    advance(5000);
    await db.query(sql`SELECT 1`);
    expect((await db.end()).checked).toBe(true);
    expect(fake.applied(/information_schema\.PROCESSLIST WHERE USER/)).toBe(2);
  });

  it('sends nothing after an invocation that did not use its connection (a cache hit)', async () => {
    const { db, fake } = setup();
    await db.query(sql`SELECT 1`);
    await db.end();
    const sent = fake.log.length;
    expect(await db.end()).toMatchObject({ checked: false, closed: false });
    expect(fake.log.length).toBe(sent);
    expect(db.stats().openConnections).toBe(1);
  });

  it('does nothing behind RDS Proxy: no processlist query, no kill, connection kept', async () => {
    const { db, fake } = setup({ rdsProxy: true });
    fake.maxConnections = 2;
    const zombie = fake.addThread(USER, 10_000_000);
    await db.query(sql`SELECT 1`);
    expect(await db.end()).toMatchObject({ checked: false, closed: false });
    expect(await db.reap()).toMatchObject({ killed: [] });
    expect(fake.applied(/PROCESSLIST/)).toBe(0);
    expect(zombie.alive).toBe(true);
  });

  it('does nothing when the invocation opened no connection', async () => {
    const { db, fake } = setup();
    expect(await db.end()).toMatchObject({ checked: false });
    expect(fake.connectConfigs).toHaveLength(0);
  });

  it('clears the deadline', async () => {
    const { db, clock } = setup();
    db.setDeadline(clock.now - 1);
    await db.end();
    await expect(db.query(sql`SELECT 1`)).resolves.toEqual([]);
  });

  it('reap() uses an explicit age for scheduled cleanups', async () => {
    const { db, fake } = setup();
    const a = fake.addThread(USER, 40_000);
    const b = fake.addThread(USER, 20_000);
    const result = await db.reap({ olderThanMs: 30_000 });
    expect(result.killed).toEqual([a.id]);
    expect(b.alive).toBe(true);
  });
});

describe('transactions', () => {
  it('lets later statements use earlier results, and commits', async () => {
    const { db, fake } = setup();
    let nextId = 41;
    fake.handler = (text, values) => {
      if (text.startsWith('INSERT INTO orders')) return writeResult(1, ++nextId);
      if (text.startsWith('INSERT INTO lines')) return writeResult(1);
      if (text.startsWith('SELECT')) return [{ id: values[0] }];
      return [];
    };
    const result = await db.transaction(async (tx) => {
      const order = await tx.execute(sql`INSERT INTO orders (customer) VALUES (${7})`);
      await tx.execute(sql`INSERT INTO lines (order_id, sku) VALUES (${order.insertId}, ${'A'})`);
      return tx.query<{ id: number }>(sql`SELECT id FROM orders WHERE id = ${order.insertId}`);
    });
    expect(result).toEqual([{ id: 42 }]);
    expect(fake.log.map((e) => e.text.split(' ')[0])).toEqual(['START', 'INSERT', 'INSERT', 'SELECT', 'COMMIT']);
    expect(fake.log.find((e) => e.text.startsWith('INSERT INTO lines'))?.values).toEqual([42, 'A']);
    expect(db.stats().transactions).toBe(1);
  });

  it('rolls back and rethrows the original error when the callback throws', async () => {
    const { db, fake } = setup();
    fake.handler = () => writeResult(1);
    const failure = new Error('out of stock');
    await expect(
      db.transaction(async (tx) => {
        await tx.execute(sql`UPDATE stock SET n = n - ${1}`);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(fake.log.map((e) => e.text.split(' ')[0])).toEqual(['START', 'UPDATE', 'ROLLBACK']);
  });

  it('sets the isolation level and read-only mode', async () => {
    const { db, fake } = setup();
    await db.transaction(async (tx) => tx.query(sql`SELECT 1`), { isolationLevel: 'serializable', readOnly: true });
    expect(fake.log.slice(0, 2).map((e) => e.text)).toEqual(['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'START TRANSACTION READ ONLY']);
    await expect(db.transaction(async () => 1, { isolationLevel: 'chaos' as never })).rejects.toBeInstanceOf(StatementError);
  });

  it('never moves a transaction to another connection after a loss', async () => {
    const { db, fake } = setup();
    let updates = 0;
    fake.handler = () => writeResult(1, ++updates);
    const error = await db
      .transaction(async (tx) => {
        await tx.execute(sql`UPDATE a SET n = 1`);
        fake.dropNext = 'before-send';
        await tx.execute(sql`UPDATE b SET n = 1`);
        await tx.execute(sql`UPDATE c SET n = 1`);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionError);
    expect(error).toMatchObject({ code: 'E_TRANSACTION_FAILED', mayHaveCommitted: false });
    expect(updates).toBe(1);
    expect(fake.applied(/^COMMIT/)).toBe(0);
    expect(fake.applied(/^UPDATE c/)).toBe(0);
    expect(db.stats().connects).toBe(1); // nothing ran on a fresh connection
  });

  it('says the outcome is unknown when the connection drops during COMMIT', async () => {
    const { db, fake } = setup();
    fake.handler = () => writeResult(1);
    const run = fake.run.bind(fake);
    fake.run = (thread, text, values) => {
      const output = run(thread, text, values);
      if (text !== 'COMMIT') return output;
      thread.alive = false; // COMMIT applied, then the socket died before the reply came back
      throw serverError('PROTOCOL_CONNECTION_LOST', undefined, 'Connection lost');
    };
    const error = await db.transaction(async (tx) => tx.execute(sql`UPDATE a SET n = 1`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionError);
    expect(error).toMatchObject({ mayHaveCommitted: true });
    expect(fake.applied(/^COMMIT/)).toBe(1); // and it is not sent again
  });

  it('refuses to use the connector inside its own transaction instead of deadlocking', async () => {
    const { db } = setup();
    const error = await db.transaction(async () => db.query(sql`SELECT 1`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StatementError);
  });

  it('refuses a transaction handle used after the transaction ended', async () => {
    const { db } = setup();
    let leaked: Parameters<Parameters<Connector['transaction']>[0]>[0] | undefined;
    await db.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked?.query(sql`SELECT 1`)).rejects.toBeInstanceOf(StatementError);
  });

  it('retries BEGIN once on a connection found dead, since nothing has run yet', async () => {
    const { db, fake, advance } = setup({ probeIdleMs: 60_000 });
    await db.query(sql`SELECT 1`);
    advance(10);
    fake.kill(own(db, fake)?.id ?? -1);
    await expect(db.transaction(async (tx) => tx.query(sql`SELECT 1`))).resolves.toEqual([]);
    expect(db.stats().connects).toBe(2);
  });
});

describe('a small pool for long-running servers', () => {
  it('runs up to maxConnections statements at once, and queues the rest', async () => {
    const { db, fake } = setup({ maxConnections: 2 });
    const gates: Array<() => void> = [];
    const originalConnect = fake.connect.bind(fake);
    fake.connect = async (config) => {
      const connection = await originalConnect(config);
      const query = connection.query.bind(connection);
      connection.query = async (text, values) => {
        await new Promise<void>((resolve) => gates.push(resolve));
        return query(text, values);
      };
      return connection;
    };
    const settled: number[] = [];
    const all = Array.from({ length: 5 }, (_, i) => db.query(sql`SELECT ${i}`).then(() => settled.push(i)));
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    for (let released = 0; released < 5; released += 1) {
      while (gates.length === 0) await tick();
      await tick();
      expect(gates.length).toBeLessThanOrEqual(2); // never more than two statements in flight
      gates.shift()?.();
    }
    await Promise.all(all);
    expect(settled.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(fake.liveThreads(USER)).toHaveLength(2);
  });
});

describe('events', () => {
  it('carry no parameter and no password, and a throwing listener breaks nothing', async () => {
    const { db, fake, events } = setup();
    db.on('query', () => {
      throw new Error('listener bug');
    });
    fake.refuseConnects.push(TOO_MANY_CONNECTIONS());
    fake.handler = () => [{ a: 1 }];
    await db.query(sql`SELECT * FROM users WHERE email = ${'bob@secret.example'}`);
    const text = JSON.stringify(events);
    expect(text).not.toContain('bob@secret.example');
    expect(text).not.toContain('hunter2');
    expect(events.map((e) => e.event)).toEqual(['retry', 'connect', 'query']);
    expect(events[2]?.payload).toMatchObject({ verb: 'SELECT', ok: true, retried: false });
  });

  it('publish on node:diagnostics_channel', async () => {
    const diagnostics = await import('node:diagnostics_channel');
    const seen: unknown[] = [];
    const listener = (message: unknown) => seen.push(message);
    diagnostics.subscribe('cachefront:mysql:connect', listener);
    try {
      const { db } = setup();
      await db.query(sql`SELECT 1`);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ attempts: 1 });
    } finally {
      diagnostics.unsubscribe('cachefront:mysql:connect', listener);
    }
  });
});

describe('end() reports a swallowed failure once', () => {
  it('emits one error event for a failed check, and does not count it among the errors raised to callers', async () => {
    const { db, fake, eventsOf } = setup();
    await db.query(sql`SELECT 1`);
    const run = fake.run.bind(fake);
    fake.run = (thread, text, values) => {
      if (text.includes('information_schema.PROCESSLIST'))
        throw serverError('ER_TABLEACCESS_DENIED_ERROR', 1142, "SELECT command denied to user 'app'", '42000');
      return run(thread, text, values);
    };
    expect(await db.end()).toMatchObject({ checked: false, closed: false });
    expect(eventsOf('error')).toHaveLength(1);
    expect(eventsOf('error')[0]?.error).toMatchObject({ code: 'E_QUERY_FAILED', errno: 1142 });
    expect(db.stats().errors).toBe(0);
  });
});

describe('adminTimeoutMs bounds what the connector sends for itself; connectTimeoutMs only connects', () => {
  /** Statements matching `pattern` answer after `ms` (never, when undefined). */
  function slowStatements(fake: FakeServer, pattern: RegExp, ms: number | undefined): void {
    const connect = fake.connect.bind(fake);
    fake.connect = async (config) => {
      const connection = await connect(config);
      const query = connection.query.bind(connection);
      connection.query = async (text, values) => {
        if (pattern.test(text)) await new Promise((resolve) => (ms === undefined ? undefined : setTimeout(resolve, ms)));
        return query(text, values);
      };
      return connection;
    };
  }

  it('a ROLLBACK slower than connectTimeoutMs keeps its connection', async () => {
    const { db, fake, eventsOf } = setup({ connectTimeoutMs: 20, adminTimeoutMs: 1000 });
    slowStatements(fake, /^ROLLBACK/, 60);
    const failure = new Error('out of stock');
    await expect(
      db.transaction(async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(fake.applied(/^ROLLBACK/)).toBe(1);
    expect(eventsOf('close')).toEqual([]);
    await db.query(sql`SELECT 1`);
    expect(db.stats().connects).toBe(1);
  });

  it('a processlist read slower than connectTimeoutMs is waited for', async () => {
    const { db, fake, eventsOf } = setup({ connectTimeoutMs: 20, adminTimeoutMs: 1000 });
    slowStatements(fake, /AS maxUserConnections FROM information_schema\.PROCESSLIST/, 60);
    await db.query(sql`SELECT 1`);
    expect(await db.end()).toMatchObject({ checked: true, closed: false });
    expect(eventsOf('error')).toEqual([]);
  });

  it('so are the kill-time re-check and the KILL', async () => {
    const { db, fake, eventsOf } = setup({ connectTimeoutMs: 20, adminTimeoutMs: 1000, zombieMaxTimeoutMs: 10_000 });
    const zombie = fake.addThread(USER, 20_000);
    slowStatements(fake, /^SELECT ID AS id FROM|^KILL/, 40);
    await db.query(sql`SELECT 1`);
    expect(await db.end()).toMatchObject({ checked: true });
    expect(zombie.alive).toBe(false);
    expect(eventsOf('error')).toEqual([]);
  });

  it('and SET wait_timeout on a new session', async () => {
    const { db, fake } = setup({ connectTimeoutMs: 20, adminTimeoutMs: 1000, sessionIdleTimeoutMs: 60_000 });
    slowStatements(fake, /^SET SESSION wait_timeout/, 60);
    await db.query(sql`SELECT 1`);
    expect(db.stats()).toMatchObject({ connects: 1, retries: 0 });
  });

  it('a processlist read that never answers fails end() quietly, after adminTimeoutMs, naming it, and drops the connection', async () => {
    const { db, fake, eventsOf } = setup({ adminTimeoutMs: 30 });
    slowStatements(fake, /AS maxUserConnections FROM information_schema\.PROCESSLIST/, undefined);
    await db.query(sql`SELECT 1`);
    expect(await db.end()).toMatchObject({ checked: false, closed: false });
    const [reported] = eventsOf('error');
    expect(reported?.error).toBeInstanceOf(DeadlineError);
    expect(reported?.error.message).toContain('`adminTimeoutMs`');
    expect(eventsOf('close')).toMatchObject([{ reason: 'timeout' }]);
    expect(fake.liveThreads(USER)).toHaveLength(0);
  });

  it('a ROLLBACK that never answers is given up after adminTimeoutMs, and its connection destroyed', async () => {
    const { db, fake, eventsOf } = setup({ adminTimeoutMs: 30 });
    slowStatements(fake, /^ROLLBACK/, undefined);
    const failure = new Error('out of stock');
    await expect(
      db.transaction(async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(eventsOf('close')).toMatchObject([{ reason: 'lost' }]);
    expect(fake.liveThreads(USER)).toHaveLength(0);
  });
});
