/**
 * A local stand-in for RDS IAM authentication: a token issuer that makes every token it hands out
 * the password of a MariaDB user (ALTER USER ... IDENTIFIED BY), and lets it expire after `ttlMs`
 * on its clock — the password is then replaced by one nobody knows, so the token no longer gets in,
 * as an expired RDS token would not. The clock is the test's own: `advance()` moves it and applies
 * the expiry on the server, so no test waits 15 minutes, nor sleeps at all.
 */
import { randomBytes } from 'node:crypto';
import type { Connection } from 'mysql2/promise';

export interface TokenIssuerOptions {
  /** A root session on the server. */
  readonly admin: Connection;
  /** The user whose password the tokens become ('name'@'%'). */
  readonly user: string;
  /** How long a token gets in after it was issued. */
  readonly ttlMs: number;
  /** Makes the token (a real `Signer`'s getAuthToken, say). @default 24 random bytes, hex */
  readonly generate?: () => Promise<string>;
}

export interface TokenIssuer {
  /** The `token` source for `iamAuthConnection()`: a new token, in force on the server when it returns. */
  readonly issue: () => Promise<string>;
  /** The tokens issued so far, in order. */
  readonly issued: readonly string[];
  /** The issuer's clock (epoch ms), for `iamAuthConnection({ now })`. */
  readonly now: () => number;
  /** Moves the clock; a token whose TTL has passed stops working on the server. */
  advance(ms: number): Promise<void>;
}

export function tokenIssuer(options: TokenIssuerOptions): TokenIssuer {
  const { admin, user, ttlMs } = options;
  const generate = options.generate ?? (async () => `tok_${randomBytes(24).toString('hex')}`);
  let clock = Date.now();
  let current: { token: string; expiresAt: number } | undefined;
  const issued: string[] = [];
  const setPassword = (password: string) => admin.query(`ALTER USER '${user}'@'%' IDENTIFIED BY ?`, [password]);
  return {
    issued,
    now: () => clock,
    async issue() {
      const token = await generate();
      await setPassword(token);
      current = { token, expiresAt: clock + ttlMs };
      issued.push(token);
      return token;
    },
    async advance(ms) {
      clock += ms;
      if (current && clock >= current.expiresAt) {
        current = undefined;
        await setPassword(`expired_${randomBytes(24).toString('hex')}`);
      }
    },
  };
}
