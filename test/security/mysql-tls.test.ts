/**
 * TLS to MariaDB through the connector, on a MariaDB of the test's own that serves TLS with the
 * certificates scripts/tls-certs.sh makes at test time (scripts/mariadb-aux.sh; its own port and
 * directory, purged afterwards), listening on 127.0.0.1 — which the certificate lists — and on
 * 127.0.0.2, which it does not. Verify-full is the default: given `ssl: { ca }`, the chain and the
 * host name are checked; a wrong CA and a wrong host are a `ConnectError` after one attempt, naming
 * the problem and the option; a server without TLS is refused, never used in clear. No password
 * in any error or event.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { ConnectError, type Connector, type ConnectorEvents, createConnector, sql } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUX_MYSQL } from '../support/env.js';
import { adminConnection, closeQuietly, createAccount, randomName, rows, type TestAccount, threadsOf } from '../support/mysql.js';
import { type AuxMariadb, type Certificates, makeCertificates, startAuxMariadb } from '../support/tls.js';

let certs: Certificates;
let server: AuxMariadb;
let admin: Connection;
/** A user that may connect only over TLS. */
let account: { user: string; password: string; database: string };
const connectors: Connector[] = [];

beforeAll(async () => {
  certs = await makeCertificates();
  server = await startAuxMariadb({ tlsDir: certs.dir, bind: ['127.0.0.1', '127.0.0.2'] });
  admin = await adminConnection(server);
  const name = randomName('cf_tls');
  account = { user: name, password: `pw_${randomBytes(9).toString('hex')}`, database: name };
  await admin.query(`CREATE DATABASE \`${name}\``);
  await admin.query(`CREATE USER '${name}'@'%' IDENTIFIED BY '${account.password}' REQUIRE SSL`);
  await admin.query(`GRANT ALL ON \`${name}\`.* TO '${name}'@'%'`);
});

afterEach(async () => {
  await Promise.all(connectors.splice(0).map((db) => db.quit()));
});

afterAll(async () => {
  if (admin) await closeQuietly(admin);
  await server?.purge();
  await certs?.remove();
});

function connector(connection: { host?: string; port?: number; user?: string; password?: string; ssl?: Record<string, unknown> }) {
  const db = createConnector({
    connection: { host: '127.0.0.1', port: server.port, user: account.user, password: account.password, database: account.database, ...connection },
    maxRetries: 5,
  });
  connectors.push(db);
  const errors: Array<ConnectorEvents['error']> = [];
  db.on('error', (event) => errors.push(event));
  return { db, errors };
}

function shown(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    parts.push(current.message, String(current.stack), JSON.stringify(current), inspect(current, { depth: 10, showHidden: true }));
  }
  return parts.join('\n');
}

describe('the connector over TLS', () => {
  it('the server serves TLS with the test certificates', async () => {
    const [row] = await rows<{ Value: string }>(admin, "SHOW VARIABLES LIKE 'have_ssl'");
    expect(row?.Value).toBe('YES');
  });

  it.each(['127.0.0.1', 'localhost'])('a REQUIRE SSL user connects with `ssl: { ca }` (host %s), over an encrypted session', async (host) => {
    const { db, errors } = connector({ host, ssl: { ca: certs.ca } });
    const [version] = await db.query<{ Value: string }>(sql`SHOW SESSION STATUS LIKE 'Ssl_version'`);
    expect(version?.Value).toMatch(/^TLSv1\.[23]$/);
    await db.execute(sql.raw('CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY)'));
    await db.execute(sql`INSERT INTO t (id) VALUES (${1}) ON DUPLICATE KEY UPDATE id = id`);
    expect(errors).toEqual([]);
  });

  it('the same user without `ssl` is refused by the server (REQUIRE SSL is real)', async () => {
    const { db } = connector({});
    const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ errno: 1045 });
  });
});

describe('verify-full by default', () => {
  it.each([
    ['a CA that did not sign the certificate', () => ({ ca: certs.otherCa }), 'SELF_SIGNED_CERT_IN_CHAIN', /`ssl\.ca`/],
    ["no CA but Node's default store", () => ({}), 'SELF_SIGNED_CERT_IN_CHAIN', /`ssl\.ca`/],
    ['a host the certificate does not list (127.0.0.2)', () => ({ ca: certs.ca }), 'ERR_TLS_CERT_ALTNAME_INVALID', /`ssl\.verifyIdentity: false`/],
  ] as const)('%s: a ConnectError after one attempt, naming the problem and the option, without the password', async (what, ssl, code, option) => {
    const { db, errors } = connector({ host: what.includes('127.0.0.2') ? '127.0.0.2' : '127.0.0.1', ssl: ssl() });
    const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ code: 'E_CONNECT_FAILED', driverCode: code, attempts: 1 });
    expect((error as Error).message).toMatch(/^Could not connect to MySQL over TLS: /);
    expect((error as Error).message).toContain(code);
    expect((error as Error).message).toMatch(option);
    expect(db.stats()).toMatchObject({ connects: 0, retries: 0, connectErrors: 1 });
    expect(errors.map((event) => event.error)).toEqual([error]);
    expect(shown(error) + inspect(errors, { depth: 10 })).not.toContain(account.password);
    // The credentials never reached the server: no session of the user was opened.
    expect(await threadsOf(admin, account.user)).toEqual([]);
  });

  it('`ssl.verifyIdentity: false` is the explicit opt-out of the host check: 127.0.0.2 then connects (the chain is still checked)', async () => {
    const { db } = connector({ host: '127.0.0.2', ssl: { ca: certs.ca, verifyIdentity: false } });
    expect(await db.query(sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
    const wrongCa = connector({ host: '127.0.0.2', ssl: { ca: certs.otherCa, verifyIdentity: false } });
    expect(await wrongCa.db.query(sql`SELECT 1`).catch((e: unknown) => e)).toMatchObject({ driverCode: 'SELF_SIGNED_CERT_IN_CHAIN' });
  });
});

describe('never a silent downgrade', () => {
  let plain: Connection;
  let plainAccount: TestAccount;

  beforeAll(async () => {
    plain = await adminConnection(AUX_MYSQL);
    plainAccount = await createAccount(plain, AUX_MYSQL);
  });

  afterAll(async () => {
    await plainAccount?.drop();
    if (plain) await closeQuietly(plain);
  });

  it('a connector given `ssl` refuses a server without TLS instead of connecting in clear', async () => {
    const [row] = await rows<{ Value: string }>(plain, "SHOW VARIABLES LIKE 'have_ssl'");
    expect(row?.Value).not.toBe('YES'); // the throwaway server of global setup serves no TLS
    const db = createConnector({ connection: { ...plainAccount.connection, ssl: { ca: certs.ca } }, maxRetries: 5 });
    connectors.push(db);
    const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ code: 'E_CONNECT_FAILED', driverCode: 'HANDSHAKE_NO_SSL_SUPPORT', attempts: 1 });
    expect((error as Error).message).toMatch(/offers no TLS \(HANDSHAKE_NO_SSL_SUPPORT\); the connector never falls back to a clear connection/);
    expect(shown(error)).not.toContain(plainAccount.password);
    expect(await threadsOf(plain, plainAccount.user)).toEqual([]);
    // Without `ssl` the same account connects: it was the refusal to go clear, not the account.
    const clear = createConnector({ connection: plainAccount.connection });
    connectors.push(clear);
    expect(await clear.query(sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
  });
});
