/**
 * Aurora Serverless v2 resume: a paused cluster takes 15-30 s to accept a connect, and the client
 * waits for the server's handshake meanwhile. A TCP proxy holds the handshake back for 10 s: with
 * an invocation deadline of 15 s the connect may take what is left of it, and succeeds; without a
 * deadline the connect timeout (`connectTimeoutMs`) still applies, as the control shows.
 */
import { createConnector, sql } from '@cachefront/mysql';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MYSQL } from '../support/env.js';
import { TcpProxy } from '../support/tcp-proxy.js';

let proxy: TcpProxy;
beforeAll(async () => {
  proxy = await TcpProxy.start(MYSQL);
  proxy.acceptDelayMs = 10_000;
});
afterAll(async () => {
  await proxy?.close();
});

it('connects through a 10 s handshake when the invocation has 15 s left', async () => {
  const db = createConnector({ connection: { ...MYSQL, port: proxy.port } });
  try {
    const started = Date.now();
    db.setDeadline(started + 15_000);
    const rows = await db.query<{ one: number }>(sql`SELECT ${1} AS one`);
    expect(rows).toEqual([{ one: 1 }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_900);
    expect(db.stats()).toMatchObject({ connects: 1, connectErrors: 0, retries: 0, errors: 0 });
    await db.end();
  } finally {
    await db.quit();
  }
}, 20_000);

it('without a deadline, the connect timeout still bounds each attempt (the control)', async () => {
  const db = createConnector({ connection: { ...MYSQL, port: proxy.port }, connectTimeoutMs: 1000, maxRetries: 0 });
  try {
    const started = Date.now();
    await expect(db.query(sql`SELECT ${1} AS one`)).rejects.toMatchObject({ code: expect.stringMatching(/^E_/) });
    expect(Date.now() - started).toBeLessThan(5_000);
  } finally {
    await db.quit();
  }
}, 20_000);
