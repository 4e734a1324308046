import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createConnector } from './connector.js';
import { ConnectError, OptionsError } from './errors.js';
import type { ConnectorEvents } from './events.js';
import { type IamAuthOptions, iamAuthConnection } from './iam.js';
import { sql } from './sql.js';
import { FakeServer } from './testing/fake-server.js';

const TTL = 15 * 60 * 1000;
const MARGIN = 60 * 1000;

/** A token source that counts its calls, hands out t1, t2, ... and can be made to fail or to wait. */
function tokens() {
  const state = { calls: 0, fail: false, gate: undefined as Promise<void> | undefined };
  const source = async () => {
    state.calls += 1;
    const n = state.calls;
    if (state.gate) await state.gate;
    if (state.fail) throw new Error('the signer could not load credentials');
    return `token-${n}-Secret`;
  };
  return { state, source };
}

function setup(extra: Partial<IamAuthOptions> = {}) {
  const clock = { now: 1_000_000 };
  const { state, source } = tokens();
  const connection = iamAuthConnection({
    host: 'db.example.internal',
    user: 'app_iam',
    database: 'shop',
    ssl: { ca: 'pem' },
    token: source,
    now: () => clock.now,
    ...extra,
  });
  return { clock, state, connection };
}

describe('iamAuthConnection', () => {
  it('gives a connection with the token as password, TLS, and the clear-text plugin mysql2 needs for RDS', async () => {
    const { connection } = setup({ port: 3307, connection: { timezone: '+00:00', driverOptions: { connectAttributes: { app: 'x' } } } });
    expect(await connection()).toEqual({
      host: 'db.example.internal',
      port: 3307,
      user: 'app_iam',
      database: 'shop',
      ssl: { ca: 'pem' },
      password: 'token-1-Secret',
      timezone: '+00:00',
      driverOptions: { connectAttributes: { app: 'x' }, enableCleartextPlugin: true },
    });
  });

  it('asks for a token only when the cached one is within refreshMarginMs of expiry', async () => {
    const { clock, state, connection } = setup();
    expect((await connection()).password).toBe('token-1-Secret');
    clock.now += TTL - MARGIN - 1;
    expect((await connection()).password).toBe('token-1-Secret');
    expect(state.calls).toBe(1);
    clock.now += 1; // now within the margin
    expect((await connection()).password).toBe('token-2-Secret');
    expect(state.calls).toBe(2);
    clock.now += TTL - MARGIN - 1;
    expect((await connection()).password).toBe('token-2-Secret');
    expect(state.calls).toBe(2);
  });

  it('shares one request among concurrent connects', async () => {
    const { state, connection } = setup();
    let open: () => void = () => {};
    state.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const all = Promise.all(Array.from({ length: 5 }, () => connection()));
    open();
    expect(new Set((await all).map((c) => c.password))).toEqual(new Set(['token-1-Secret']));
    expect(state.calls).toBe(1);
  });

  it('does not cache a failed request: the next connect asks again', async () => {
    const { state, connection } = setup();
    state.fail = true;
    const error = await connection().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ code: 'E_CONNECT_FAILED', attempts: 0 });
    expect((error as Error).message).toMatch(/IAM auth token.*`token`/);
    state.fail = false;
    expect((await connection()).password).toBe('token-2-Secret');
    expect(state.calls).toBe(2);
  });

  it('keeps using a token that has not expired yet when its refresh fails, and asks again on the next connect', async () => {
    const { clock, state, connection } = setup();
    await connection();
    clock.now += TTL - MARGIN / 2; // inside the margin, not expired
    state.fail = true;
    expect((await connection()).password).toBe('token-1-Secret');
    expect(state.calls).toBe(2);
    clock.now += MARGIN; // expired now
    await expect(connection()).rejects.toBeInstanceOf(ConnectError);
    expect(state.calls).toBe(3);
  });

  it('takes an @aws-sdk/rds-signer Signer as it is (an object with getAuthToken)', async () => {
    const signer = { getAuthToken: async () => 'signed-token' };
    const connection = iamAuthConnection({ host: 'h', user: 'u', ssl: 'Amazon RDS', token: signer });
    expect(await connection()).toMatchObject({ password: 'signed-token', port: 3306, ssl: 'Amazon RDS' });
  });

  it('refuses options it cannot work with, naming them', () => {
    const base = { host: 'h', user: 'u', ssl: { ca: 'pem' }, token: async () => 't' };
    expect(() => iamAuthConnection({ ...base, ssl: undefined as unknown as string })).toThrow(/`ssl` is required/);
    expect(() => iamAuthConnection({ ...base, host: '' })).toThrow(OptionsError);
    expect(() => iamAuthConnection({ ...base, user: '' })).toThrow(/`user`/);
    expect(() => iamAuthConnection({ ...base, token: 'x' as unknown as () => string })).toThrow(/`token`/);
    expect(() => iamAuthConnection({ ...base, tokenTtlMs: 1000, refreshMarginMs: 1000 })).toThrow(/`refreshMarginMs`/);
    expect(() => iamAuthConnection({ ...base, tokenTtlMs: 0 })).toThrow(/`tokenTtlMs`/);
  });

  it('refuses an empty token without showing what it got', async () => {
    const connection = iamAuthConnection({ host: 'h', user: 'u', ssl: {}, token: async () => '' });
    await expect(connection()).rejects.toThrow(OptionsError);
  });
});

/** A connector on the fake server whose connection is an IAM helper over a counting token source, on one clock. */
function iamConnector() {
  const clock = { now: 1_000_000 };
  const fake = new FakeServer({ now: () => clock.now });
  const { state, source } = tokens();
  const db = createConnector({
    connection: iamAuthConnection({ host: 'db', user: 'app_iam', ssl: { ca: 'pem' }, token: source, now: () => clock.now }),
    driver: fake,
    now: () => clock.now,
  });
  return { clock, fake, state, db };
}

describe('iamAuthConnection with the connector', () => {
  it('a physical connect after expiry gets a new token; connects before it reuse the cached one', async () => {
    const { clock, fake, state, db } = iamConnector();
    const killOwn = () => {
      for (const thread of fake.liveThreads('app_iam')) fake.kill(thread.id);
    };
    await db.query(sql`SELECT 1`);
    killOwn();
    clock.now += 5 * 60 * 1000;
    await db.query(sql`SELECT 1`); // reconnects, same token
    killOwn();
    clock.now += 10 * 60 * 1000; // 15 minutes since the first token
    await db.query(sql`SELECT 1`); // reconnects, new token
    expect(fake.connectConfigs.map((config) => config.password)).toEqual(['token-1-Secret', 'token-1-Secret', 'token-2-Secret']);
    expect(state.calls).toBe(2);
    await db.quit();
  });

  it('a token that cannot be had is a reported ConnectError, and no token appears in it or in the events', async () => {
    const { clock, fake, state, db } = iamConnector();
    const events: Array<ConnectorEvents['error']> = [];
    db.on('error', (event) => events.push(event));
    await db.query(sql`SELECT 1`);
    for (const thread of fake.liveThreads('app_iam')) fake.kill(thread.id);
    clock.now += TTL;
    state.fail = true;
    const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(events.map((event) => event.error)).toEqual([error]);
    expect(db.stats().connectErrors).toBe(1);
    expect(inspect(error, { depth: 10, showHidden: true }) + JSON.stringify(events)).not.toContain('token-1-Secret');
    await db.quit();
  });
});
