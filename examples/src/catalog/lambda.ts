/**
 * The Lambda entry point of the catalog (see examples/template.yaml). Everything here runs once per
 * container, at module load, and does no I/O: the first request reads the database secret, connects
 * to MySQL (on a cache miss or a write only) and to Redis.
 *
 * Environment:
 *   DB_HOST, DB_PORT (3306), DB_NAME       where the database is
 *   DB_SECRET_ARN                          Secrets Manager secret `{ "username", "password" }` (RDS-managed
 *                                          master secrets have this shape); read on connect, cached SECRET_TTL_MS
 *   DB_USER, DB_PASSWORD                   instead of a secret (local runs only: `sam local`, the simulator)
 *   DB_TLS                                 'false' turns TLS off (local); otherwise the RDS CA bundle is used
 *   DB_KILL_METHOD                         'rds_kill' on RDS (KILL needs a privilege the master user lacks there)
 *   DB_CONN_UTILIZATION                    share of the connection limit this function may hold (0.8)
 *   DB_RDS_PROXY                           'true' behind RDS Proxy (no reaping, connections kept)
 *   REDIS_URL                              `rediss://host:6379` (ElastiCache Serverless is TLS-only)
 *   REDIS_CLUSTER                          'true' for ElastiCache Serverless / cluster mode
 *   CACHE_NAMESPACE                        key prefix (`catalog`)
 */
import type { CacheOptions } from '@cachefront/cache';
import type { ConnectorOptions } from '@cachefront/mysql';
import { type CatalogConnection, createCatalogApp } from './app.js';

const env = process.env;

function required(name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`Environment variable ${name} is required.`);
  return value;
}

function numberFrom(name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`Environment variable ${name} must be a number.`);
  return n;
}

const SECRET_TTL_MS = numberFrom('SECRET_TTL_MS') ?? 5 * 60_000;
let secretCache: { value: { username: string; password: string }; expires: number } | undefined;

/**
 * Reads `{ username, password }` from Secrets Manager with the AWS SDK v3 the nodejs20.x runtime
 * ships (imported lazily, so it stays out of the bundle and out of local runs). Cached for a few
 * minutes: the connector asks again on every physical connect, and a rotated secret is picked up
 * once the cache expires.
 */
async function readSecret(arn: string): Promise<{ username: string; password: string }> {
  if (secretCache && secretCache.expires > Date.now()) return secretCache.value;
  interface SecretsManagerModule {
    SecretsManagerClient: new (config: Record<string, unknown>) => { send(command: unknown): Promise<{ SecretString?: string }> };
    GetSecretValueCommand: new (input: { SecretId: string }) => unknown;
  }
  const specifier = '@aws-sdk/client-secrets-manager';
  const sdk = (await import(specifier)) as SecretsManagerModule;
  const client = new sdk.SecretsManagerClient({});
  const output = await client.send(new sdk.GetSecretValueCommand({ SecretId: arn }));
  const parsed = JSON.parse(output.SecretString ?? '{}') as { username?: unknown; password?: unknown };
  if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
    // Never quote the secret: only say which field is missing.
    throw new Error('The database secret must be JSON with string fields "username" and "password".');
  }
  secretCache = { value: { username: parsed.username, password: parsed.password }, expires: Date.now() + SECRET_TTL_MS };
  return secretCache.value;
}

function connectionFromEnv(): CatalogConnection | (() => Promise<CatalogConnection>) {
  const base = {
    host: required('DB_HOST'),
    port: numberFrom('DB_PORT') ?? 3306,
    database: required('DB_NAME'),
    ...(env['DB_TLS'] === 'false' ? {} : { ssl: 'Amazon RDS' }),
  };
  const arn = env['DB_SECRET_ARN'];
  if (arn) {
    return async () => {
      const { username, password } = await readSecret(arn);
      return { ...base, user: username, password };
    };
  }
  return { ...base, user: required('DB_USER'), ...(env['DB_PASSWORD'] ? { password: env['DB_PASSWORD'] } : {}) };
}

function connectorFromEnv(): Partial<ConnectorOptions> {
  const utilization = numberFrom('DB_CONN_UTILIZATION');
  const kill = env['DB_KILL_METHOD'];
  if (kill !== undefined && kill !== 'kill' && kill !== 'rds_kill') throw new Error("DB_KILL_METHOD must be 'kill' or 'rds_kill'.");
  return {
    ...(utilization === undefined ? {} : { connUtilization: utilization }),
    ...(kill ? { killMethod: kill } : {}),
    ...(env['DB_RDS_PROXY'] === 'true' ? { rdsProxy: true } : {}),
  };
}

function cacheFromEnv(): Partial<CacheOptions> {
  const timeout = numberFrom('CACHE_COMMAND_TIMEOUT_MS');
  return timeout === undefined ? {} : { commandTimeoutMs: timeout };
}

/** Module scope: one app per container, reused by every invocation the container serves. */
export const app = createCatalogApp({
  connection: connectionFromEnv(),
  redis: required('REDIS_URL'),
  redisCluster: env['REDIS_CLUSTER'] === 'true',
  namespace: env['CACHE_NAMESPACE'] || 'catalog',
  connector: connectorFromEnv(),
  cache: cacheFromEnv(),
});

export const { getProduct, listCategory, updatePrice, placeOrder, maintenance } = app.handlers;

/** Invoked by hand after a deploy (`sam remote invoke MigrateFunction`): creates the tables and the outbox. */
export async function migrate(): Promise<{ migrated: true }> {
  try {
    await app.migrate();
    return { migrated: true };
  } finally {
    await app.connector.end();
  }
}
