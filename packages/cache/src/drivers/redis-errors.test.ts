import { describe, expect, it } from 'vitest';
import { classifyRedisError, REDIS_ERROR_TABLE } from './redis-errors.js';

/** An error shaped as Node or ioredis makes it. */
const nodeError = (code: string, message = 'boom') => Object.assign(new Error(message), { code });
/** ioredis' ReplyError: the server's reply as message, the command (with its arguments) attached. */
const reply = (message: string, args: unknown[] = []) => Object.assign(new Error(message), { name: 'ReplyError', command: { name: 'hello', args } });

describe('classifyRedisError', () => {
  it.each([
    [nodeError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate'), 'tls', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    [nodeError('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'), 'tls', 'SELF_SIGNED_CERT_IN_CHAIN'],
    [nodeError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), 'tls', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
    [nodeError('UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), 'tls', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'],
    [nodeError('CERT_HAS_EXPIRED', 'certificate has expired'), 'tls', 'CERT_HAS_EXPIRED'],
    [nodeError('CERT_NOT_YET_VALID'), 'tls', 'CERT_NOT_YET_VALID'],
    [nodeError('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"), 'tls', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    [nodeError('ERR_TLS_HANDSHAKE_TIMEOUT'), 'tls', 'ERR_TLS_HANDSHAKE_TIMEOUT'],
    [nodeError('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), 'tls', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'],
    [nodeError('ERR_SSL_WRONG_VERSION_NUMBER'), 'tls', 'ERR_SSL_WRONG_VERSION_NUMBER'],
    [reply('WRONGPASS invalid username-password pair or user is disabled.'), 'auth', 'WRONGPASS'],
    [reply('NOAUTH Authentication required.'), 'auth', 'NOAUTH'],
    [reply("NOPERM this user has no permissions to run the 'evalsha' command"), 'auth', 'NOPERM'],
    [reply('NOPERM this user has no permissions to access one of the keys used as arguments'), 'auth', 'NOPERM'],
    [reply('ERR invalid password'), 'auth', 'WRONGPASS'],
    [reply("ERR The user executing the script can't run this command or subcommand script: 06f2, on @user_script:1."), 'auth', 'NOPERM'],
    [reply("ERR The user executing the script can't access at least one of the keys mentioned in the command arguments script: 06f2"), 'auth', 'NOPERM'],
    [reply("ERR ACL failure in script: User app has no permissions to run the 'set' command script: 8a2f, on @user_script:4."), 'auth', 'NOPERM'],
    [nodeError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6390'), 'network', 'ECONNREFUSED'],
    [nodeError('ECONNRESET', 'read ECONNRESET'), 'network', 'ECONNRESET'],
    [nodeError('ETIMEDOUT'), 'network', 'ETIMEDOUT'],
    [nodeError('ENOTFOUND'), 'network', 'ENOTFOUND'],
    [nodeError('EPROTO'), 'network', 'EPROTO'],
    [reply('OOM command not allowed when used memory > maxmemory.'), 'server', 'OOM'],
    [reply('READONLY You can not write against a read only replica.'), 'server', 'READONLY'],
    [reply('ERR Error running script'), 'server', 'ERR'],
  ] as const)('%s is %s (%s)', (error, kind, code) => {
    expect(classifyRedisError(error)).toEqual({ kind, code });
  });

  it('says nothing of errors that are consequences of the connection, not causes', () => {
    expect(classifyRedisError(new Error('Connection is closed.'))).toBeUndefined();
    expect(classifyRedisError(Object.assign(new Error('Reached the max retries per request limit'), { name: 'MaxRetriesPerRequestError' }))).toBeUndefined();
    expect(classifyRedisError(undefined)).toBeUndefined();
    expect(classifyRedisError('ECONNREFUSED')).toBeUndefined();
  });

  it("classifies a cluster's failure by its last node's error", () => {
    const error = Object.assign(new Error('Failed to refresh slots cache.'), {
      name: 'ClusterAllFailedError',
      lastNodeError: nodeError('SELF_SIGNED_CERT_IN_CHAIN'),
    });
    expect(classifyRedisError(error)).toEqual({ kind: 'tls', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
  });

  it('keeps only codes: never a word of a message, an argument or a password', () => {
    const secret = 'hunter2-secret';
    const problem = classifyRedisError(reply('WRONGPASS invalid username-password pair', ['3', 'AUTH', 'app', secret]));
    expect(JSON.stringify(problem)).not.toContain(secret);
    expect(classifyRedisError(nodeError(`ECONNREFUSED ${secret}`))).toBeUndefined();
    expect(classifyRedisError(reply(`${secret} said no`))).toEqual({ kind: 'server', code: undefined });
  });

  it('has every code of the table in one kind, and classifies it as that kind', () => {
    const all = [...REDIS_ERROR_TABLE.tls.codes, ...REDIS_ERROR_TABLE.network.codes, ...REDIS_ERROR_TABLE.auth.replies];
    expect(new Set(all).size).toBe(all.length);
    for (const code of REDIS_ERROR_TABLE.tls.codes) expect(classifyRedisError(nodeError(code))?.kind).toBe('tls');
    for (const code of REDIS_ERROR_TABLE.network.codes) expect(classifyRedisError(nodeError(code))?.kind).toBe('network');
    for (const word of REDIS_ERROR_TABLE.auth.replies) expect(classifyRedisError(reply(`${word} no`))?.kind).toBe('auth');
  });
});
