/** Where the test servers are. Host and port come from the environment, with this machine's defaults. */
export const MYSQL = {
  host: process.env['CACHEFRONT_MYSQL_HOST'] ?? '127.0.0.1',
  port: Number(process.env['CACHEFRONT_MYSQL_PORT'] ?? 3306),
  user: process.env['CACHEFRONT_MYSQL_USER'] ?? 'root',
  password: process.env['CACHEFRONT_MYSQL_PASSWORD'] ?? '',
};

/**
 * A throwaway MariaDB that global setup starts on its own port: tests that change global settings
 * (max_connections), restart the server or cut it off use this one, never the shared server.
 */
export const AUX_MYSQL = {
  host: '127.0.0.1',
  port: Number(process.env['CACHEFRONT_AUX_MYSQL_PORT'] ?? 3307),
  user: 'root',
  password: '',
};

/** The shared Redis the machine runs. Each test uses its own key prefix; nothing is flushed. */
export const REDIS_URL = process.env['CACHEFRONT_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
