import { describe, expect, it } from 'vitest';
import { createConnector } from './connector.js';
import { classifyDriverError, classifyMysql2Error, ERROR_TABLE } from './driver/mysql2/error-table.js';
import { verifyFull } from './driver/mysql2/mysql2-driver.js';
import { ConnectError } from './errors.js';
import { sql } from './sql.js';
import { FakeServer, serverError } from './testing/fake-server.js';
import { tlsAdvice, tlsCodeOf } from './tls.js';

const driverError = (code: string, message = 'boom', errno?: number) => Object.assign(new Error(message), { code, errno, fatal: true });

describe('TLS errors in the classification table', () => {
  it.each([
    'HANDSHAKE_SSL_ERROR',
    'HANDSHAKE_NO_SSL_SUPPORT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'CERT_HAS_EXPIRED',
    'ERR_TLS_CERT_ALTNAME_INVALID',
  ])('%s is tls', (code) => {
    expect(classifyDriverError(driverError(code))).toBe('tls');
  });

  it('a server that requires secure transport (3159) is tls', () => {
    expect(classifyDriverError(driverError('ER_SECURE_TRANSPORT_REQUIRED', 'Connections using insecure transport are prohibited', 3159))).toBe('tls');
    expect(classifyDriverError({ errno: 3159 })).toBe('tls');
  });

  it('every tls code is in no other class', () => {
    const others = Object.entries(ERROR_TABLE)
      .filter(([cls]) => cls !== 'tls')
      .flatMap(([, entry]) => entry.codes as readonly string[]);
    for (const code of ERROR_TABLE.tls.codes) expect(others).not.toContain(code);
  });
});

describe('tlsCodeOf: the code mysql2 overwrote, read back from Node\u2019s message', () => {
  it.each([
    ['self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'],
    ['self signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'],
    ['self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    ['unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    ['unable to get local issuer certificate', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'],
    ['certificate has expired', 'CERT_HAS_EXPIRED'],
    ['certificate is not yet valid', 'CERT_NOT_YET_VALID'],
    ["Hostname/IP does not match certificate's altnames: IP: 127.0.0.2 is not in the cert's list: 127.0.0.1", 'ERR_TLS_CERT_ALTNAME_INVALID'],
  ])('%s → %s', (message, code) => {
    expect(tlsCodeOf(message)).toBe(code);
  });

  it('knows nothing of other messages', () => {
    expect(tlsCodeOf('wrong version number')).toBeUndefined();
  });
});

describe('tlsAdvice names the problem the driver found, and the option', () => {
  it.each([
    ['SELF_SIGNED_CERT_IN_CHAIN', undefined, /not signed by a CA in `ssl\.ca` \(SELF_SIGNED_CERT_IN_CHAIN\).*RDS/],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', undefined, /`ssl\.ca`/],
    ['ERR_TLS_CERT_ALTNAME_INVALID', undefined, /does not name the host.*`ssl\.verifyIdentity: false`/],
    ['CERT_HAS_EXPIRED', undefined, /expired/],
    ['HANDSHAKE_NO_SSL_SUPPORT', undefined, /offers no TLS.*never falls back to a clear connection/],
    ['HANDSHAKE_SSL_ERROR', undefined, /handshake failed/],
    ['ER_SECURE_TRANSPORT_REQUIRED', 3159, /accepts only TLS.*`connection\.ssl`/],
  ] as const)('%s', (code, errno, pattern) => {
    const { kind, tls } = classifyMysql2Error(driverError(code, 'boom', errno));
    expect(kind).toBe('tls');
    expect(tls).toBeDefined();
    expect(tlsAdvice(tls ?? 'handshake', code)).toMatch(pattern);
  });
});

describe('verifyFull: the host name is checked unless the caller said no', () => {
  it('turns verifyIdentity on, and leaves an explicit false alone', () => {
    expect(verifyFull({ ca: 'pem' })).toEqual({ ca: 'pem', verifyIdentity: true });
    expect(verifyFull({ ca: 'pem', verifyIdentity: false })).toEqual({ ca: 'pem', verifyIdentity: false });
    expect(verifyFull({})).toEqual({ verifyIdentity: true });
    expect(verifyFull(undefined)).toBeUndefined();
  });

  it("does so for mysql2's named profiles too ('Amazon RDS')", () => {
    const options = verifyFull('Amazon RDS');
    expect(options?.['verifyIdentity']).toBe(true);
    expect(Array.isArray(options?.['ca'])).toBe(true);
  });

  it("hands out one object per caller's object, and a new one once it changed (mysql2 caches TLS sessions by object)", () => {
    const ssl: Record<string, unknown> = { ca: 'pem-1' };
    const first = verifyFull(ssl);
    expect(verifyFull(ssl)).toBe(first);
    ssl['ca'] = 'pem-2';
    const second = verifyFull(ssl);
    expect(second).not.toBe(first);
    expect(second).toEqual({ ca: 'pem-2', verifyIdentity: true });
    expect(ssl).toEqual({ ca: 'pem-2' }); // the caller's object is never changed
  });
});

describe('a TLS failure on connect', () => {
  it('is a ConnectError after one attempt, never retried, naming the problem, without the password', async () => {
    const fake = new FakeServer({ now: Date.now });
    const sleeps: number[] = [];
    const db = createConnector({
      connection: { user: 'app', password: 'hunter2-secret', ssl: { ca: 'pem' } },
      driver: fake,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    fake.refuseConnects.push(serverError('HANDSHAKE_NO_SSL_SUPPORT', undefined, 'Server does not support secure connection'));
    const error = await db.query(sql`SELECT 1`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect(error).toMatchObject({ code: 'E_CONNECT_FAILED', driverCode: 'HANDSHAKE_NO_SSL_SUPPORT', attempts: 1 });
    expect((error as Error).message).toMatch(/over TLS: `connection\.ssl` is set but the server offers no TLS/);
    expect(sleeps).toEqual([]);
    expect(fake.connectConfigs).toHaveLength(1);
    expect(JSON.stringify(error) + String(error) + String((error as Error).cause)).not.toContain('hunter2');
  });
});
