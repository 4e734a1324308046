/**
 * IAM database authentication (RDS, Aurora): the password is a signed token that expires after 15
 * minutes. `iamAuthConnection()` returns a `connection` function — the connector calls it before
 * every physical connect — that hands out a cached token and asks for a new one only when the
 * cached one is about to expire. Nothing here depends on the AWS SDK: a `Signer` of
 * `@aws-sdk/rds-signer` fits the `token` option as it is, and so does any function returning one.
 */
import { ConnectError, OptionsError } from './errors.js';
import type { ConnectionInput } from './options.js';

/** What gives a token: `@aws-sdk/rds-signer`'s `Signer`, or a function (`() => signer.getAuthToken()`). */
export type AuthTokenSource = { getAuthToken(): Promise<string> } | (() => string | Promise<string>);

export interface IamAuthOptions {
  /** The database endpoint, as the token was signed for (the RDS instance, cluster or proxy endpoint). */
  host: string;
  /** @default 3306 */
  port?: number;
  /** The database user created `IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'`. */
  user: string;
  /** @default undefined (no default database) */
  database?: string | undefined;
  /**
   * TLS options; required, since the token travels as a clear-text password (MySQL's
   * `mysql_clear_password`): on RDS `{ ca }` with the RDS CA bundle. Verified in full by default.
   */
  ssl: string | Record<string, unknown>;
  /** Where tokens come from. Called only when the cached token is within `refreshMarginMs` of expiry. */
  token: AuthTokenSource;
  /** How long a token is valid after it was asked for. @default 900000 (15 minutes, as RDS signs them) */
  tokenTtlMs?: number;
  /** Ask for a new token this long before the cached one expires. @default 60000 */
  refreshMarginMs?: number;
  /** Other connection settings (timezone, decimalNumbers, driverOptions, ...), passed through. @default {} */
  connection?: Omit<ConnectionInput, 'host' | 'port' | 'user' | 'password' | 'database' | 'ssl'>;
  /** Clock, injectable for tests. @default Date.now */
  now?: () => number;
}

export const DEFAULT_IAM_OPTIONS = Object.freeze({
  port: 3306,
  tokenTtlMs: 15 * 60 * 1000,
  refreshMarginMs: 60 * 1000,
} as const);

/**
 * A `connection` function for IAM authentication. A token is asked for on a physical connect only
 * when the cached one is within `refreshMarginMs` of expiry; concurrent connects share one request;
 * a failed request is not cached (the next connect asks again), and while the cached token has not
 * actually expired it is still used. The token never appears in an error or an event.
 */
export function iamAuthConnection(options: IamAuthOptions): () => Promise<ConnectionInput> {
  if (typeof options !== 'object' || options === null) throw new OptionsError('iamAuthConnection() needs an options object.');
  const { host, user, database, ssl, connection = {} } = options;
  const port = options.port ?? DEFAULT_IAM_OPTIONS.port;
  const tokenTtlMs = options.tokenTtlMs ?? DEFAULT_IAM_OPTIONS.tokenTtlMs;
  const refreshMarginMs = options.refreshMarginMs ?? DEFAULT_IAM_OPTIONS.refreshMarginMs;
  const now = options.now ?? Date.now;
  if (typeof host !== 'string' || host.length === 0) throw new OptionsError('`host` is required: the endpoint the token is signed for.');
  if (typeof user !== 'string' || user.length === 0) throw new OptionsError('`user` is required: the IAM database user.');
  if (ssl === undefined || ssl === null) {
    throw new OptionsError('`ssl` is required for IAM authentication: the token is sent as a clear-text password (on RDS `{ ca }` with the RDS CA bundle).');
  }
  const source = options.token;
  const ask: () => string | Promise<string> =
    typeof source === 'function' ? source : typeof source?.getAuthToken === 'function' ? () => source.getAuthToken() : invalidSource();
  if (!(Number.isFinite(tokenTtlMs) && tokenTtlMs > 0)) throw new OptionsError(`\`tokenTtlMs\` must be a number > 0; got ${String(tokenTtlMs)}.`);
  if (!(Number.isFinite(refreshMarginMs) && refreshMarginMs >= 0 && refreshMarginMs < tokenTtlMs)) {
    throw new OptionsError('`refreshMarginMs` must be ≥ 0 and below `tokenTtlMs`.');
  }

  let cached: { readonly token: string; readonly expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const request = (): Promise<string> => {
    const askedAt = now();
    return Promise.resolve()
      .then(ask)
      .then(
        (token: unknown) => {
          if (typeof token !== 'string' || token.length === 0) throw new OptionsError('The IAM `token` source returned no token (a non-empty string).');
          cached = { token, expiresAt: askedAt + tokenTtlMs };
          return token;
        },
        (error: unknown) => {
          throw new ConnectError('Could not get an IAM auth token; check the `token` source (its credentials, region and endpoint).', {
            cause: error,
            attempts: 0,
          });
        },
      );
  };

  const current = async (): Promise<string> => {
    const at = now();
    if (cached && at < cached.expiresAt - refreshMarginMs) return cached.token;
    if (!pending) {
      pending = request().finally(() => {
        pending = undefined;
      });
    }
    try {
      return await pending;
    } catch (error) {
      // A refresh that failed while the cached token is still valid: use it, and ask again next time.
      if (cached && now() < cached.expiresAt) return cached.token;
      throw error;
    }
  };

  return async () => ({
    ...connection,
    host,
    port,
    user,
    database,
    ssl,
    password: await current(),
    // RDS checks the token with mysql_clear_password, which mysql2 sends only when told to (TLS is required above).
    driverOptions: { ...connection.driverOptions, enableCleartextPlugin: true },
  });
}

function invalidSource(): never {
  throw new OptionsError('`token` must be a function returning a token, or an object with getAuthToken() (an @aws-sdk/rds-signer Signer).');
}
