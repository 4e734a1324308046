/**
 * Replication positions (GTIDs), as a write records them and a fill on a replica waits for them.
 *
 *   MariaDB   `@@gtid_binlog_pos` = `domain-server-seq` per replication domain: `0-1-42,1-2-7`.
 *             Within a domain the sequence numbers only grow, so a position is covered by another
 *             that has, in each of its domains, a sequence number at least as high.
 *   MySQL     `@@gtid_executed` = a GTID set, `uuid:1-42:50,uuid2:1-7`. Sets are merged by listing
 *             them together; no coverage is computed, so every wait asks the replica.
 */
import type { Connector } from './connector.js';
import { sql } from './sql.js';

export type Flavor = 'mariadb' | 'mysql';

/** The server's flavor, asked once per connector (its first position query). */
const flavors = new WeakMap<Connector, Promise<Flavor>>();

export function flavorOf(connector: Connector): Promise<Flavor> {
  let flavor = flavors.get(connector);
  if (!flavor) {
    flavor = connector
      .query<{ version: string }>(sql`SELECT VERSION() AS version`)
      .then(([row]) => (/mariadb/i.test(row?.version ?? '') ? 'mariadb' : 'mysql'));
    // A failed ask is asked again next time.
    flavor.catch(() => flavors.delete(connector));
    flavors.set(connector, flavor);
  }
  return flavor;
}

/** The writer's position now: after a write's COMMIT, it includes that write. Whitespace (MySQL puts newlines in sets) is dropped. */
export async function currentPosition(connector: Connector): Promise<string | undefined> {
  const flavor = await flavorOf(connector);
  const [row] = await connector.query<{ position: string | null }>(
    flavor === 'mariadb' ? sql`SELECT @@GLOBAL.gtid_binlog_pos AS position` : sql`SELECT @@GLOBAL.gtid_executed AS position`,
  );
  const position = (row?.position ?? '').replace(/\s+/g, '');
  return position === '' ? undefined : position;
}

/**
 * Waits on `connector` (a replica) until it has applied `position`, at most `timeoutMs`; true once
 * applied, false on timeout. The caller has merged the positions it needs into one (`merge`).
 */
export async function waitForPosition(connector: Connector, position: string, timeoutMs: number): Promise<boolean> {
  const seconds = Math.max(0, timeoutMs) / 1000;
  const flavor = await flavorOf(connector);
  const [row] = await connector.query<{ r: number | string | null }>(
    flavor === 'mariadb' ? sql`SELECT MASTER_GTID_WAIT(${position}, ${seconds}) AS r` : sql`SELECT WAIT_FOR_EXECUTED_GTID_SET(${position}, ${seconds}) AS r`,
  );
  // MariaDB: 0 applied, -1 timed out. MySQL: 0 applied, 1 timed out. NULL: not a replica's answer.
  return Number(row?.r) === 0;
}

/** A MariaDB position, parsed: the highest sequence number per domain, with its server id. */
type Domains = Map<string, { server: string; seq: bigint }>;

const MARIADB_GTID = /^(\d+)-(\d+)-(\d+)$/;

function parseMariadb(position: string): Domains | undefined {
  const domains: Domains = new Map();
  for (const gtid of position.split(',')) {
    const match = MARIADB_GTID.exec(gtid);
    if (!match) return undefined;
    const [, domain = '', server = '', seq = '0'] = match;
    const seen = domains.get(domain);
    if (!seen || BigInt(seq) > seen.seq) domains.set(domain, { server, seq: BigInt(seq) });
  }
  return domains;
}

const formatMariadb = (domains: Domains): string => [...domains].map(([domain, { server, seq }]) => `${domain}-${server}-${seq}`).join(',');

/** One position that needs all of `positions`: per domain the highest (MariaDB), or the sets listed together (MySQL). */
export function merge(positions: readonly string[]): string {
  const parsed = positions.map(parseMariadb);
  if (parsed.some((domains) => domains === undefined)) return [...new Set(positions)].join(',');
  return formatMariadb(mergeDomains(parsed as Domains[]));
}

function mergeDomains(list: readonly Domains[]): Domains {
  const out: Domains = new Map();
  for (const domains of list) {
    for (const [domain, gtid] of domains) {
      const seen = out.get(domain);
      if (!seen || gtid.seq > seen.seq) out.set(domain, gtid);
    }
  }
  return out;
}

/**
 * What one replica is known to have applied, from its waits that returned: a wait for a position it
 * covers needs no round trip. MariaDB positions only; MySQL sets are always asked.
 */
export class AppliedPositions {
  #domains: Domains = new Map();

  /** Whether the replica is known to have applied `position`. */
  covers(position: string): boolean {
    const wanted = parseMariadb(position);
    if (!wanted) return false;
    for (const [domain, { seq }] of wanted) {
      const applied = this.#domains.get(domain);
      if (!applied || applied.seq < seq) return false;
    }
    return true;
  }

  /** Records that the replica has applied `position`. */
  record(position: string): void {
    const applied = parseMariadb(position);
    if (applied) this.#domains = mergeDomains([this.#domains, applied]);
  }
}
