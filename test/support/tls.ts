/**
 * Throwaway TLS material and servers for the security tests: certificates made at test time by
 * scripts/tls-certs.sh (never committed) in a directory of the test's own, a redis-server that
 * speaks only TLS (scripts/redis-aux.sh), and a MariaDB that serves TLS (scripts/mariadb-aux.sh),
 * each on a port the system has just handed out as free, each removed by the test afterwards.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './net.js';

const run = promisify(execFile);
const script = (name: string) => fileURLToPath(new URL(`../../scripts/${name}`, import.meta.url));

export interface Certificates {
  readonly dir: string;
  /** The CA that signed the servers' certificate (localhost, 127.0.0.1). */
  readonly ca: Buffer;
  /** A CA that signed nothing the servers present. */
  readonly otherCa: Buffer;
  readonly path: (file: string) => string;
  remove(): Promise<void>;
}

/** Makes a fresh set of certificates in a temporary directory of its own. */
export async function makeCertificates(): Promise<Certificates> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cachefront-tls-'));
  await run('bash', [script('tls-certs.sh'), dir]);
  const file = (name: string) => path.join(dir, name);
  const [ca, otherCa] = await Promise.all([readFile(file('ca.crt')), readFile(file('other-ca.crt'))]);
  return {
    dir,
    ca,
    otherCa,
    path: file,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface AuxMariadb {
  readonly host: string;
  readonly port: number;
  readonly user: 'root';
  readonly password: '';
  /** Stops the server and removes its directory. */
  purge(): Promise<void>;
}

export interface AuxMariadbOptions {
  /** Serve TLS with the certificates in this directory. */
  readonly tlsDir?: string;
  /** The addresses to listen on. @default ['127.0.0.1'] */
  readonly bind?: readonly string[];
}

/** A MariaDB of the test's own (its own port and directory), started by scripts/mariadb-aux.sh. */
export async function startAuxMariadb(options: AuxMariadbOptions = {}): Promise<AuxMariadb> {
  const port = await freePort();
  const root = await mkdtemp(path.join(tmpdir(), 'cachefront-mariadb-'));
  const env = {
    ...process.env,
    CACHEFRONT_AUX_DIR: root,
    CACHEFRONT_MARIADB_BIND: (options.bind ?? ['127.0.0.1']).join(','),
    ...(options.tlsDir ? { CACHEFRONT_MARIADB_TLS_DIR: options.tlsDir } : {}),
  };
  const purge = async () => {
    await run('bash', [script('mariadb-aux.sh'), 'purge', String(port)], { env });
    await rm(root, { recursive: true, force: true });
  };
  try {
    await run('bash', [script('mariadb-aux.sh'), 'start', String(port)], { env });
  } catch (error) {
    await purge().catch(() => undefined);
    throw error;
  }
  return { host: '127.0.0.1', port, user: 'root', password: '', purge };
}
