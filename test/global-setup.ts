import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { AUX_MYSQL } from './support/env.js';

const script = fileURLToPath(new URL('../scripts/mariadb-aux.sh', import.meta.url));

/** Starts the throwaway MariaDB for the integration project, and stops it afterwards. */
export function setup(): () => void {
  execFileSync('bash', [script, 'start', String(AUX_MYSQL.port)], { stdio: 'inherit' });
  return () => {
    execFileSync('bash', [script, 'stop', String(AUX_MYSQL.port)], { stdio: 'inherit' });
  };
}
