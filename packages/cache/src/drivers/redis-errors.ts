/**
 * The one table for what Redis, ioredis and Node report, classified into the kinds of
 * `StoreProblem`. Pure (no ioredis import), so the table is unit-tested as a table. Only codes are
 * read: the first word of a Redis reply, the `code` of a Node or ioredis error. Messages are never
 * kept — ioredis' errors also carry the command's arguments (keys, values, and for AUTH / HELLO
 * the password), so nothing of an error but its code leaves the driver.
 */
import type { StoreProblem } from './driver.js';

export const REDIS_ERROR_TABLE = {
  /** The TLS handshake failed, or the server's certificate was refused (chain, expiry, host name). */
  tls: {
    codes: [
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE', // the chain does not reach a trusted CA (`tls.ca`)
      'UNABLE_TO_GET_ISSUER_CERT',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'SELF_SIGNED_CERT_IN_CHAIN', // signed by a CA that is not trusted
      'DEPTH_ZERO_SELF_SIGNED_CERT', // a self-signed leaf
      'CERT_HAS_EXPIRED',
      'CERT_NOT_YET_VALID',
      'CERT_REVOKED',
      'CERT_UNTRUSTED',
      'CERT_REJECTED',
      'CERT_SIGNATURE_FAILURE',
      'CERT_CHAIN_TOO_LONG',
      'INVALID_CA',
      'INVALID_PURPOSE',
      'PATH_LENGTH_EXCEEDED',
      'HOSTNAME_MISMATCH',
      'ERR_TLS_CERT_ALTNAME_INVALID', // the certificate does not name the host (or `tls.servername`)
    ],
    /** Node's TLS errors (`ERR_TLS_HANDSHAKE_TIMEOUT`) and OpenSSL's (`ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED`). */
    prefixes: ['ERR_TLS_', 'ERR_SSL_'],
  },
  /** The first word of a Redis reply: the login was refused, or the user may not run a command or touch a key. */
  auth: {
    replies: ['WRONGPASS', 'NOAUTH', 'NOPERM'],
    /**
     * A command or key refused inside a Lua script comes back as a plain ERR (Redis 7.0, then 7.2+):
     * reported as NOPERM. And a bad password before Redis 6, as WRONGPASS.
     */
    errPrefixes: {
      "ERR The user executing the script can't": 'NOPERM',
      'ERR ACL failure in script': 'NOPERM',
      'ERR invalid password': 'WRONGPASS',
    },
  },
  /** The socket could not be opened or was lost. */
  network: {
    codes: ['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'],
  },
} as const;

const TLS_CODES: ReadonlySet<string> = new Set(REDIS_ERROR_TABLE.tls.codes);
const AUTH_REPLIES: ReadonlySet<string> = new Set(REDIS_ERROR_TABLE.auth.replies);
const NETWORK_CODES: ReadonlySet<string> = new Set(REDIS_ERROR_TABLE.network.codes);

/** A code is kept only when it looks like one: never a fragment of a message. */
const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;

/**
 * The kind and code of an error, or undefined when it says nothing by itself (ioredis' "Connection
 * is closed.", a flushed offline queue: consequences of the connection's state, not causes).
 * Redis replies other than the auth ones are `server` errors.
 */
export function classifyRedisError(error: unknown): StoreProblem | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const record = error as { code?: unknown; name?: unknown; message?: unknown; lastNodeError?: unknown };
  // A cluster that could not reach any node reports the last node's error.
  if (record.lastNodeError !== undefined) {
    const inner = classifyRedisError(record.lastNodeError);
    if (inner) return inner;
  }
  const code = typeof record.code === 'string' && CODE.test(record.code) ? record.code : undefined;
  if (code !== undefined) {
    if (TLS_CODES.has(code) || REDIS_ERROR_TABLE.tls.prefixes.some((prefix) => code.startsWith(prefix))) return { kind: 'tls', code };
    if (NETWORK_CODES.has(code)) return { kind: 'network', code };
  }
  if (record.name === 'ReplyError' && typeof record.message === 'string') {
    const word = record.message.split(' ', 1)[0] ?? '';
    const reply = CODE.test(word) ? word : undefined;
    if (reply !== undefined && AUTH_REPLIES.has(reply)) return { kind: 'auth', code: reply };
    if (reply === 'ERR') {
      const message = record.message;
      for (const [prefix, as] of Object.entries(REDIS_ERROR_TABLE.auth.errPrefixes)) if (message.startsWith(prefix)) return { kind: 'auth', code: as };
    }
    return { kind: 'server', code: reply };
  }
  // Any other system error of the socket (EPROTO, ...).
  if (code !== undefined && /^E[A-Z]+$/.test(code)) return { kind: 'network', code };
  return undefined;
}

/** The code of any error, when it has one that looks like a code. */
export function errorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && CODE.test(code) ? code : undefined;
}
