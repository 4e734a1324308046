/**
 * `cachefront doctor` against the throwaway MariaDB (global settings are changed here, never on
 * the shared server): the global wait_timeout of 8 hours and after it is lowered, and a low
 * max_connections that the account's connections reach.
 */
import { type Io, run } from '@cachefront/cli';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUX_MYSQL } from '../support/env.js';
import { accountUrl, adminConnection, closeQuietly, createAccount, lowerMaxConnections, rawConnection, type TestAccount } from '../support/mysql.js';

async function doctorJson(
  url: string,
): Promise<{ code: number; json: { limits: Record<string, number>; recommendations: Array<{ id: string; fix: string; evidence: Record<string, number> }> } }> {
  let out = '';
  const io: Io = { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => undefined }, env: {} };
  const code = await run(['doctor', '--mysql', url, '--json'], io);
  return { code, json: JSON.parse(out) };
}

describe('cachefront doctor on the throwaway MariaDB', () => {
  let admin: Connection;
  let account: TestAccount;
  let url: string;
  let waitTimeout: number;
  let interactiveTimeout: number;
  beforeAll(async () => {
    admin = await adminConnection(AUX_MYSQL);
    account = await createAccount(admin, AUX_MYSQL, { maxUserConnections: 50 });
    url = accountUrl(account, AUX_MYSQL);
    const [[row]] = (await admin.query('SELECT @@GLOBAL.wait_timeout AS w, @@GLOBAL.interactive_timeout AS i')) as unknown as [[{ w: number; i: number }]];
    waitTimeout = Number(row.w);
    interactiveTimeout = Number(row.i);
  });
  afterAll(async () => {
    await admin.query(`SET GLOBAL wait_timeout = ${waitTimeout}, GLOBAL interactive_timeout = ${interactiveTimeout}`);
    await account.drop();
    await closeQuietly(admin);
  });

  it('recommends a 600 s wait_timeout while it is 8 hours, and not once it is 600', async () => {
    await admin.query('SET GLOBAL wait_timeout = 28800, GLOBAL interactive_timeout = 28800');
    const before = await doctorJson(url);
    expect(before.json.limits).toMatchObject({ wait_timeout: 28800, interactive_timeout: 28800 });
    const ids = before.json.recommendations.map((r) => r.id);
    expect(ids).toEqual(expect.arrayContaining(['wait-timeout', 'interactive-timeout']));
    expect(before.json.recommendations.find((r) => r.id === 'wait-timeout')?.fix).toContain('SET GLOBAL wait_timeout = 600');
    await admin.query('SET GLOBAL wait_timeout = 600, GLOBAL interactive_timeout = 600');
    const after = await doctorJson(url);
    expect(after.json.recommendations.map((r) => r.id)).not.toContain('wait-timeout');
    expect(after.json.recommendations.map((r) => r.id)).not.toContain('interactive-timeout');
  });

  it('recommends reserved concurrency under 80% of a low max_connections the fleet reached', async () => {
    const lowered = await lowerMaxConnections(admin, 10);
    const held: Connection[] = [];
    try {
      await admin.query('FLUSH STATUS');
      // Not root (root would take the extra SUPER slot): the account's connections reach 9 of 10.
      for (let i = 0; i < 8; i += 1) held.push(await rawConnection(account.connection));
      const { code, json } = await doctorJson(url);
      expect(code).toBe(1);
      const reserve = json.recommendations.find((r) => r.id === 'reserved-concurrency');
      expect(reserve?.evidence['Max_used_connections']).toBeGreaterThanOrEqual(8);
      expect(reserve?.fix).toContain(`--reserved-concurrent-executions ${Math.floor(0.8 * lowered.effective)}`);
    } finally {
      await Promise.all(held.map(closeQuietly));
      await lowered.restore();
    }
  });
});
