/**
 * The project's primary + replica (scripts/mariadb-replica.sh), the ground the read-replica work
 * stands on: rows written on the primary reach the replica by GTID; with its SQL thread stopped the
 * replica lags, and `MASTER_GTID_WAIT` on the primary's position times out until it catches up;
 * the replica refuses writes.
 */
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminConnection, closeQuietly, rows } from '../support/mysql.js';
import { type ReplicaPair, startReplicaPair } from '../support/replica.js';

describe('a primary and its replica', () => {
  let pair: ReplicaPair;
  let primary: Connection;
  let replica: Connection;
  beforeAll(async () => {
    pair = await startReplicaPair();
    primary = await adminConnection(pair.primary);
    replica = await adminConnection(pair.replica);
    await primary.query('CREATE TABLE test.item (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)');
  });
  afterAll(async () => {
    await closeQuietly(primary);
    await closeQuietly(replica);
    await pair.stop();
  });

  const position = async () => (await rows<{ pos: string }>(primary, 'SELECT @@GLOBAL.gtid_binlog_pos AS pos'))[0]?.pos ?? '';
  const waitFor = async (pos: string, seconds: number) =>
    Number((await rows<{ r: number }>(replica, 'SELECT MASTER_GTID_WAIT(?, ?) AS r', [pos, seconds]))[0]?.r);
  const names = async () => (await rows<{ name: string }>(replica, 'SELECT name FROM test.item ORDER BY id')).map((r) => r.name);

  it('replicates a write by GTID, and the replica has applied it once MASTER_GTID_WAIT returns 0', async () => {
    await primary.query("INSERT INTO test.item VALUES (1, 'hammer')");
    expect(await waitFor(await position(), 10)).toBe(0);
    expect(await names()).toEqual(['hammer']);
  });

  it('lags with its SQL thread stopped: the old row, and a bounded wait that times out (-1), until it catches up', async () => {
    await pair.lag(true);
    try {
      await primary.query("UPDATE test.item SET name = 'saw' WHERE id = 1");
      const pos = await position();
      expect(await waitFor(pos, 0.3)).toBe(-1);
      expect(await names()).toEqual(['hammer']);
    } finally {
      await pair.lag(false);
    }
    expect(await waitFor(await position(), 10)).toBe(0);
    expect(await names()).toEqual(['saw']);
  });

  it('refuses writes on the replica (read-only)', async () => {
    const user = `cf_ro_${Date.now()}`;
    await primary.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw'`);
    await primary.query(`GRANT INSERT ON test.* TO '${user}'@'%'`);
    expect(await waitFor(await position(), 10)).toBe(0);
    const writer = await adminConnection({ ...pair.replica, user, password: 'pw' });
    try {
      const error = await writer.query("INSERT INTO test.item VALUES (2, 'glue')").catch((e: unknown) => e);
      expect((error as { errno?: number }).errno).toBe(1290);
    } finally {
      await closeQuietly(writer);
    }
  });
});
