/**
 * A throwaway MariaDB primary and a replica of it (scripts/mariadb-replica.sh): GTID replication on
 * two free loopback ports, and a way to make the replica lag (its SQL thread stopped).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Server } from './mysql.js';
import { freePort } from './net.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../scripts/mariadb-replica.sh', import.meta.url));

export interface ReplicaPair {
  readonly primary: Server;
  readonly replica: Server;
  /** `true`: the replica stops applying what it receives (it falls behind); `false`: it catches up. */
  lag(on: boolean): Promise<void>;
  /** Stops both servers and removes their data. */
  stop(): Promise<void>;
}

export async function startReplicaPair(): Promise<ReplicaPair> {
  const ports = [String(await freePort()), String(await freePort())] as const;
  await run('bash', [script, 'start', ...ports]);
  const server = (port: string): Server => ({ host: '127.0.0.1', port: Number(port), user: 'root', password: '' });
  return {
    primary: server(ports[0]),
    replica: server(ports[1]),
    async lag(on) {
      await run('bash', [script, 'lag', ...ports, on ? 'on' : 'off']);
    },
    async stop() {
      await run('bash', [script, 'stop', ...ports]);
    },
  };
}
