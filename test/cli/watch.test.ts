/**
 * `cachefront watch` against the real servers: one line per interval when not on a terminal
 * (`--count` stops it), a redrawn screen on a terminal that `q` quits, and no password in either.
 */
import { EventEmitter } from 'node:events';
import { type Io, type KeyInput, run } from '@cachefront/cli';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL, REDIS_URL } from '../support/env.js';
import { accountUrl, adminConnection, closeQuietly, createAccount, type TestAccount } from '../support/mysql.js';

/** A terminal's input, as a test drives it. */
class FakeKeys extends EventEmitter implements KeyInput {
  readonly isTTY = true;
  raw = false;
  setRawMode(raw: boolean) {
    this.raw = raw;
  }
  override on(event: 'data', listener: (data: Buffer | string) => void) {
    return super.on(event, listener);
  }
  override off(event: 'data', listener: (data: Buffer | string) => void) {
    return super.off(event, listener);
  }
}

describe('cachefront watch', () => {
  let admin: Connection;
  let account: TestAccount;
  let url: string;
  beforeAll(async () => {
    admin = await adminConnection(MYSQL);
    account = await createAccount(admin, MYSQL);
    url = accountUrl(account, MYSQL);
  });
  afterAll(async () => {
    await account.drop();
    await closeQuietly(admin);
  });

  it('prints one line per interval off a terminal, and stops after --count', async () => {
    let out = '';
    const io: Io = { stdout: { write: (t: string) => (out += t) }, stderr: { write: () => undefined }, env: {} };
    const code = await run(['watch', '--mysql', url, '--redis', REDIS_URL, '--interval', '50ms', '--count', '3'], io);
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line).toMatch(/^\d{4}-\d{2}-\d{2}T\S+ {2}mysql \d+\/\d+ \(.*\) {2}redis hits (\d+\.\d%|–) evicted \+\d+ clients \d+$/);
      // The account sees its own thread: the watch's own connection.
      expect(line).toContain(`${account.user} Query 1`);
    }
    expect(out).not.toContain(account.password);
  });

  it('redraws a screen on a terminal, in raw mode, until q', async () => {
    let out = '';
    const keys = new FakeKeys();
    const io: Io = { stdout: { write: (t: string) => (out += t), isTTY: true }, stderr: { write: () => undefined }, env: { NO_COLOR: '1' }, stdin: keys };
    const watching = run(['watch', '--mysql', url, '--interval', '20ms'], io);
    while (!out.includes('MySQL connections')) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(keys.raw).toBe(true);
    keys.emit('data', 'q');
    expect(await watching).toBe(0);
    expect(keys.raw).toBe(false);
    expect(keys.listenerCount('data')).toBe(0);
    expect(out).toContain('\u001b[2J');
    expect(out).toMatch(/MySQL connections \d+ \/ \d+/);
    expect(out).not.toContain(account.password);
  });
});
