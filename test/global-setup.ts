import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AUX_MYSQL } from './support/env.js';

const script = fileURLToPath(new URL('../scripts/mariadb-aux.sh', import.meta.url));
const cluster = fileURLToPath(new URL('../scripts/redis-cluster.sh', import.meta.url));

/**
 * Starts the throwaway MariaDB and the throwaway Redis Cluster for the integration project, and
 * stops them afterwards. Both are shared by concurrent runs: `acquire`/`release` register this
 * process, and the last run to release a server stops it.
 */
export function setup(): () => void {
  execFileSync('bash', [script, 'acquire', String(AUX_MYSQL.port), String(process.pid)], { stdio: 'inherit' });
  execFileSync('bash', [cluster, 'acquire', String(process.pid)], { stdio: 'inherit' });
  return () => {
    execFileSync('bash', [cluster, 'release', String(process.pid)], { stdio: 'inherit' });
    execFileSync('bash', [script, 'release', String(AUX_MYSQL.port), String(process.pid)], { stdio: 'inherit' });
  };
}
