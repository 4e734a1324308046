/**
 * IAM database authentication with `iamAuthConnection()`, proven locally: a real
 * `@aws-sdk/rds-signer` Signer with static fake credentials signs a token on this machine (no
 * network) and the helper hands it on untouched; and a stand-in for RDS (test/support/iam.ts) makes
 * each issued token the password of a MariaDB user and expires it after its TTL. On a MariaDB of
 * the test's own serving TLS (the helper requires TLS: the token travels as a clear-text password),
 * a token is cached across physical connects, a new one is asked for after expiry, and the
 * connector reconnects with it transparently. No token in any error or event.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { Signer } from '@aws-sdk/rds-signer';
import { ConnectError, type Connector, type ConnectorEvents, createConnector, iamAuthConnection, sql } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tokenIssuer } from '../support/iam.js';
import { adminConnection, closeQuietly, kill, randomName, rawConnection, waitForThreadGone } from '../support/mysql.js';
import { type AuxMariadb, type Certificates, makeCertificates, startAuxMariadb } from '../support/tls.js';

const MINUTE = 60_000;
const TTL = 15 * MINUTE;

let certs: Certificates;
let server: AuxMariadb;
let admin: Connection;
let user: string;
const connectors: Connector[] = [];

beforeAll(async () => {
  certs = await makeCertificates();
  server = await startAuxMariadb({ tlsDir: certs.dir });
  admin = await adminConnection(server);
});

beforeEach(async () => {
  user = randomName('cf_iam');
  await admin.query(`CREATE DATABASE \`${user}\``);
  await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY ? REQUIRE SSL`, [`unset_${randomBytes(12).toString('hex')}`]);
  await admin.query(`GRANT SELECT ON \`${user}\`.* TO '${user}'@'%'`);
});

afterEach(async () => {
  await Promise.all(connectors.splice(0).map((db) => db.quit()));
  await admin.query(`DROP USER IF EXISTS '${user}'@'%'`);
  await admin.query(`DROP DATABASE IF EXISTS \`${user}\``);
});

afterAll(async () => {
  if (admin) await closeQuietly(admin);
  await server?.purge();
  await certs?.remove();
});

/** The throwaway server as `iamAuthConnection` takes it, for the test's user. */
const endpoint = () => ({ host: server.host, port: server.port, user, database: user, ssl: { ca: certs.ca } });

function track(db: Connector): Connector {
  connectors.push(db);
  return db;
}

async function threadId(db: Connector): Promise<number> {
  const [row] = await db.query<{ id: number }>(sql`SELECT CONNECTION_ID() AS id`);
  return Number(row?.id);
}

/** Kills the connector's session from outside, as the reaper or an idle timeout would, and waits until it is gone. */
async function killSession(id: number): Promise<void> {
  await kill(admin, id);
  await waitForThreadGone(admin, id);
}

const fakeCredentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

describe('with a real @aws-sdk/rds-signer Signer', () => {
  it('a Signer with static fake credentials signs locally, and the helper hands its token on as the password', async () => {
    const signer = new Signer({ hostname: server.host, port: server.port, username: user, region: 'eu-west-1', credentials: fakeCredentials });
    const connection = iamAuthConnection({ ...endpoint(), token: signer });
    const { password, ...rest } = await connection();
    expect(password).toMatch(new RegExp(`^127\\.0\\.0\\.1:${server.port}/\\?Action=connect&DBUser=${user}&`));
    expect(password).toContain('X-Amz-Algorithm=AWS4-HMAC-SHA256');
    expect(password).toContain('X-Amz-Expires=900');
    expect(password).toMatch(/X-Amz-Signature=[0-9a-f]{64}/);
    expect(rest).toMatchObject({ host: server.host, port: server.port, user, ssl: { ca: certs.ca }, driverOptions: { enableCleartextPlugin: true } });
  });

  it("a Signer's token, made the user's password by the stand-in, gets the connector in over TLS", async () => {
    const signer = new Signer({ hostname: server.host, port: server.port, username: user, region: 'eu-west-1', credentials: fakeCredentials });
    const issuer = tokenIssuer({ admin, user, ttlMs: TTL, generate: () => signer.getAuthToken() });
    const db = track(
      createConnector({
        connection: iamAuthConnection({
          ...endpoint(),
          token: issuer.issue,
          now: issuer.now,
        }),
      }),
    );
    const [row] = await db.query<{ who: string; tls: string }>(
      sql`SELECT CURRENT_USER() AS who, (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_version') AS tls`,
    );
    expect(row).toEqual({ who: `${user}@%`, tls: expect.stringMatching(/^TLSv1\.[23]$/) });
    expect(issuer.issued).toHaveLength(1);
    expect(issuer.issued[0]).toContain('X-Amz-Signature=');
  });
});

describe('the local stand-in: tokens that expire', () => {
  it('a token is reused for physical connects until it nears expiry; after expiry the connector reconnects transparently with a new one', async () => {
    const issuer = tokenIssuer({ admin, user, ttlMs: TTL });
    const db = track(
      createConnector({
        connection: iamAuthConnection({
          ...endpoint(),
          token: issuer.issue,
          tokenTtlMs: TTL,
          refreshMarginMs: MINUTE,
          now: issuer.now,
        }),
      }),
    );
    const errors: Array<ConnectorEvents['error']> = [];
    db.on('error', (event) => errors.push(event));

    const first = await threadId(db);
    expect(issuer.issued).toHaveLength(1);

    // Killed 5 minutes in: the reconnect uses the cached token.
    await issuer.advance(5 * MINUTE);
    await killSession(first);
    const second = await threadId(db);
    expect(second).not.toBe(first);
    expect(issuer.issued).toHaveLength(1);

    // Past the token's TTL: it no longer gets in, but an open session stays open (MySQL checks passwords at connect).
    await issuer.advance(10 * MINUTE);
    expect(await threadId(db)).toBe(second);
    expect(issuer.issued).toHaveLength(1);
    const stale = await rawConnection({ host: server.host, port: server.port, user, password: issuer.issued[0], ssl: { ca: certs.ca } }).catch(
      (e: unknown) => e,
    );
    expect(stale).toMatchObject({ errno: 1045 });

    // The next physical connect asks for a new token, and the read goes on as if nothing happened.
    await killSession(second);
    const third = await threadId(db);
    expect(third).not.toBe(second);
    expect(issuer.issued).toHaveLength(2);
    expect(db.stats()).toMatchObject({ connects: 3, errors: 0 });
    expect(errors).toEqual([]);
  });

  it('connectors that share one connection function (module scope) share its cached token', async () => {
    const issuer = tokenIssuer({ admin, user, ttlMs: TTL });
    const connection = iamAuthConnection({
      ...endpoint(),
      token: issuer.issue,
      now: issuer.now,
    });
    const a = track(createConnector({ connection }));
    await threadId(a);
    await a.quit();
    const b = track(createConnector({ connection }));
    await threadId(b);
    expect(issuer.issued).toHaveLength(1);
    // Concurrent first connects of several connectors: one token request.
    await issuer.advance(TTL);
    const many = Array.from({ length: 3 }, () => track(createConnector({ connection })));
    await Promise.all(many.map((db) => threadId(db)));
    expect(issuer.issued).toHaveLength(2);
  });

  it('a token the server does not take is a ConnectError (1045) after one attempt, and the token is in no error or event', async () => {
    const token = `tok_${randomBytes(24).toString('hex')}`;
    const db = track(
      createConnector({
        connection: iamAuthConnection({ ...endpoint(), token: async () => token }),
      }),
    );
    const errors: Array<ConnectorEvents['error']> = [];
    db.on('error', (event) => errors.push(event));
    const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ code: 'E_CONNECT_FAILED', errno: 1045, attempts: 1 });
    expect(errors.map((event) => event.error)).toEqual([error]);
    const everything = inspect(error, { depth: 10, showHidden: true }) + inspect(errors, { depth: 10, showHidden: true }) + JSON.stringify(error);
    expect(everything).not.toContain(token);
  });
});
