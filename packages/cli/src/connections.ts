/**
 * Where the command connects: `--mysql mysql://user:pass@host:port/db` or `MYSQL_URL`, `--redis
 * redis://…` or `REDIS_URL`. A URL is parsed once into what the clients take; the password is kept
 * only there, and everything printed names a server by `describe()`, which has none.
 */

export interface MysqlTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string | undefined;
  /** `user@host:port/db`: for output, never the password. */
  readonly label: string;
}

export interface RedisTarget {
  /** The URL as given, for ioredis (it may hold a password). */
  readonly url: string;
  /** `redis://host:port/db` without credentials: for output. */
  readonly label: string;
}

/** A flag or environment value that is not a usable URL: exit code 2, with a message that holds no secret. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function mysqlTarget(value: string | undefined): MysqlTarget | undefined {
  if (value === undefined || value === '') return undefined;
  const url = parse(value, 'MySQL', ['mysql:', 'mariadb:']);
  const user = decodeURIComponent(url.username);
  if (user === '') throw new UsageError('The MySQL URL names no user: mysql://user:password@host:port/database.');
  const port = url.port === '' ? 3306 : Number(url.port);
  const database = url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : undefined;
  return {
    host: url.hostname,
    port,
    user,
    password: decodeURIComponent(url.password),
    database,
    label: `${user}@${url.hostname}:${port}${database ? `/${database}` : ''}`,
  };
}

export function redisTarget(value: string | undefined): RedisTarget | undefined {
  if (value === undefined || value === '') return undefined;
  const url = parse(value, 'Redis', ['redis:', 'rediss:']);
  return { url: value, label: `${url.protocol}//${url.hostname}:${url.port === '' ? 6379 : url.port}${url.pathname.length > 1 ? url.pathname : ''}` };
}

/** Parses a URL of one of `protocols`; the error never repeats the value (it may hold a password). */
function parse(value: string, what: string, protocols: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`The ${what} URL could not be read; expected ${protocols[0]}//user:password@host:port/…`);
  }
  if (!protocols.includes(url.protocol)) throw new UsageError(`The ${what} URL must start with ${protocols.map((p) => `${p}//`).join(' or ')}.`);
  if (url.hostname === '') throw new UsageError(`The ${what} URL names no host.`);
  return url;
}

/** Removes every occurrence of the targets' passwords from text that is about to be printed. */
export function redact(text: string, targets: ReadonlyArray<{ readonly password?: string; readonly url?: string } | undefined>): string {
  let out = text;
  for (const target of targets) {
    const password = target?.password ?? (target?.url ? decodeURIComponent(new URL(target.url).password) : '');
    if (password === '') continue;
    // As given in the URL (percent-encoded) and as the server takes it.
    for (const secret of [encodeURIComponent(password), password]) out = out.split(secret).join('***');
  }
  return out;
}
