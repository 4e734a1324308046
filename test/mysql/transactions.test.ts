/**
 * Transactions on the shared server: later statements use earlier results, a throw rolls back and
 * surfaces as it was thrown, isolation level and read-only mode reach the server, and using the
 * connector inside its own transaction is refused instead of deadlocking.
 */
import { type Connector, createConnector, QueryError, StatementError, sql, type Transaction } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MYSQL } from '../support/env.js';
import { adminConnection, createAccount, rawConnection, rows, type TestAccount } from '../support/mysql.js';
import { waitFor } from '../support/wait-for.js';

let admin: Connection;
let account: TestAccount;
let db: Connector;

beforeAll(async () => {
  admin = await adminConnection(MYSQL);
  account = await createAccount(admin, MYSQL);
  const table = (name: string) => `\`${account.database}\`.${name}`;
  await admin.query(`CREATE TABLE ${table('orders')} (id INT AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(64) NOT NULL) ENGINE=InnoDB`);
  await admin.query(
    `CREATE TABLE ${table('order_line')} (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT NOT NULL, sku VARCHAR(32) NOT NULL, FOREIGN KEY (order_id) REFERENCES ${table('orders')} (id)) ENGINE=InnoDB`,
  );
});

beforeEach(() => {
  db = createConnector({ connection: account.connection });
});

afterEach(async () => {
  await db.quit();
});

afterAll(async () => {
  await account?.drop();
  await admin?.end();
});

async function adminRows<T>(text: string, values: unknown[] = []): Promise<T[]> {
  return rows<T>(admin, text.replaceAll('$db', `\`${account.database}\``), values);
}

async function ownId(tx: Transaction): Promise<number> {
  const [row] = await tx.query<{ id: number }>(sql`SELECT CONNECTION_ID() AS id`);
  return Number(row?.id);
}

interface InnodbTrx {
  readonly level: string;
  readonly readOnly: boolean;
}

/**
 * Waits until information_schema.INNODB_TRX (read by root) shows this thread's transaction as
 * expected. The table is a cache that InnoDB refreshes only when it was last read more than 100 ms
 * ago: a read may show the thread's previous transaction, and polling faster than that would keep
 * it stale forever. (On MariaDB, @@tx_isolation shows the session default, not the level SET
 * TRANSACTION gave the current transaction, so it cannot tell.)
 */
async function expectInnodbTrx(threadId: number, expected: InnodbTrx): Promise<void> {
  let last: InnodbTrx | undefined;
  try {
    await waitFor(
      async () => {
        const [row] = await adminRows<{ level: string; readOnly: number }>(
          'SELECT trx_isolation_level AS level, trx_is_read_only AS readOnly FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?',
          [threadId],
        );
        last = row && { level: row.level, readOnly: Number(row.readOnly) === 1 };
        return last?.level === expected.level && last.readOnly === expected.readOnly;
      },
      { timeoutMs: 2000, intervalMs: 150, message: `INNODB_TRX to show ${JSON.stringify(expected)}` },
    );
  } catch {
    expect(last).toEqual(expected);
  }
}

describe('transaction()', () => {
  it('lets later statements use earlier results (the order id in its lines) and commits them together', async () => {
    const customer = 'order-with-lines';
    const orderId = await db.transaction(async (tx) => {
      const order = await tx.execute(sql`INSERT INTO orders (customer) VALUES (${customer})`);
      for (const sku of ['A-1', 'B-2', 'C-3']) await tx.execute(sql`INSERT INTO order_line (order_id, sku) VALUES (${order.insertId}, ${sku})`);
      const [check] = await tx.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM order_line WHERE order_id = ${order.insertId}`);
      expect(Number(check?.n)).toBe(3);
      return order.insertId;
    });

    expect(orderId).toBeGreaterThan(0);
    const lines = await adminRows<{ sku: string }>(
      'SELECT l.sku FROM $db.order_line l JOIN $db.orders o ON o.id = l.order_id WHERE o.id = ? AND o.customer = ? ORDER BY l.sku',
      [orderId, customer],
    );
    expect(lines.map((line) => line.sku)).toEqual(['A-1', 'B-2', 'C-3']);
    expect(db.stats().transactions).toBe(1);
  });

  it('rolls back when the callback throws, and rethrows the very same error', async () => {
    class OutOfStock extends Error {}
    const thrown = new OutOfStock('sku C-3 is out of stock');
    const customer = 'rolled-back';

    const error = await db
      .transaction(async (tx) => {
        const order = await tx.execute(sql`INSERT INTO orders (customer) VALUES (${customer})`);
        await tx.execute(sql`INSERT INTO order_line (order_id, sku) VALUES (${order.insertId}, ${'A-1'})`);
        throw thrown;
      })
      .catch((e: unknown) => e);

    expect(error).toBe(thrown);
    expect(await adminRows('SELECT id FROM $db.orders WHERE customer = ?', [customer])).toEqual([]);
    expect(db.stats().transactions).toBe(0);
    // The connection is clean afterwards: no transaction left open on it.
    expect(await db.query(sql`SELECT @@in_transaction AS open`)).toEqual([{ open: 0 }]);
  });

  it('honours isolationLevel: READ COMMITTED sees a concurrent commit, REPEATABLE READ does not, SERIALIZABLE blocks it', async () => {
    const writer = await rawConnection(account.connection);
    try {
      await writer.query('SET SESSION innodb_lock_wait_timeout = 1');
      const run = async (isolationLevel: 'read committed' | 'repeatable read' | 'serializable') =>
        db.transaction(
          async (tx) => {
            const count = async () => Number((await tx.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM orders`))[0]?.n);
            const before = await count();
            await expectInnodbTrx(await ownId(tx), { level: isolationLevel.toUpperCase(), readOnly: false });
            const write = await writer.query('INSERT INTO orders (customer) VALUES (?)', [`concurrent-${isolationLevel}`]).then(
              () => 'committed',
              (error: { errno?: number }) => (error.errno === 1205 ? 'blocked' : error),
            );
            return { write, delta: (await count()) - before };
          },
          { isolationLevel },
        );

      expect(await run('read committed')).toEqual({ write: 'committed', delta: 1 });
      expect(await run('repeatable read')).toEqual({ write: 'committed', delta: 0 });
      // SERIALIZABLE turns the plain SELECT into a locking read: the concurrent INSERT waits, then gives up.
      expect(await run('serializable')).toEqual({ write: 'blocked', delta: 0 });
      // The level was for those transactions only: the session default is untouched.
      expect(await db.query(sql`SELECT @@tx_isolation AS level`)).toEqual([{ level: 'REPEATABLE-READ' }]);
    } finally {
      await writer.end();
    }
  });

  it('honours readOnly: a write fails with QueryError and the transaction is read-only in InnoDB', async () => {
    const error = await db
      .transaction(
        async (tx) => {
          await tx.query(sql`SELECT COUNT(*) FROM orders`);
          await expectInnodbTrx(await ownId(tx), { level: 'REPEATABLE READ', readOnly: true });
          await tx.execute(sql`INSERT INTO orders (customer) VALUES (${'read-only'})`);
        },
        { readOnly: true },
      )
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(QueryError);
    expect((error as QueryError).errno).toBe(1792);
    expect((error as QueryError).sqlState).toBe('25006');
    expect(await adminRows('SELECT id FROM $db.orders WHERE customer = ?', ['read-only'])).toEqual([]);

    await db.transaction(
      async (tx) => {
        await tx.execute(sql`INSERT INTO orders (customer) VALUES (${'read-write'})`);
      },
      { readOnly: false },
    );
    expect(await adminRows('SELECT id FROM $db.orders WHERE customer = ?', ['read-write'])).toHaveLength(1);
  });

  it('refuses the connector itself inside its own transaction (StatementError, no deadlock)', async () => {
    const refused: unknown[] = [];
    await db.transaction(async (tx) => {
      await tx.execute(sql`INSERT INTO orders (customer) VALUES (${'nested'})`);
      refused.push(await db.query(sql`SELECT 1`).catch((e: unknown) => e));
      refused.push(await db.execute(sql`INSERT INTO orders (customer) VALUES (${'nested-outside'})`).catch((e: unknown) => e));
      refused.push(await db.transaction(async () => 1).catch((e: unknown) => e));
    });

    expect(refused).toHaveLength(3);
    for (const error of refused) {
      expect(error).toBeInstanceOf(StatementError);
      expect((error as StatementError).code).toBe('E_INVALID_STATEMENT');
    }
    expect(await adminRows('SELECT customer FROM $db.orders WHERE customer LIKE ?', ['nested%'])).toEqual([{ customer: 'nested' }]);

    // Left uncaught, it rolls the transaction back and surfaces as is.
    const error = await db
      .transaction(async (tx) => {
        await tx.execute(sql`INSERT INTO orders (customer) VALUES (${'nested-uncaught'})`);
        await db.query(sql`SELECT 1`);
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StatementError);
    expect(await adminRows('SELECT id FROM $db.orders WHERE customer = ?', ['nested-uncaught'])).toEqual([]);
  });

  it('refuses a transaction handle used after the transaction ended', async () => {
    let escaped: Transaction | undefined;
    await db.transaction(async (tx) => {
      escaped = tx;
    });
    await expect(escaped?.query(sql`SELECT 1`)).rejects.toBeInstanceOf(StatementError);
  });
});
