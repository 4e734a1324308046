import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/mariadb-aux.sh', import.meta.url));

/**
 * The benchmark's own throwaway MariaDB (scripts/mariadb-aux.sh): its global settings can be
 * changed freely, and nothing else shares it.
 */
export async function startAuxServer(port: number): Promise<void> {
  await run('bash', [SCRIPT, 'start', String(port)]);
}

export async function stopAuxServer(port: number): Promise<void> {
  await run('bash', [SCRIPT, 'stop', String(port)]);
}
