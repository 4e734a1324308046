/**
 * The burst: 150 simulated Lambda containers against max_connections 40 (aux server, a dedicated
 * non-root user), each with its own connector (maxConnections 1). Three waves; in each, every
 * container runs a few invocations (a read, sometimes a write, then end(), as the handler wrapper
 * does). At the end of each wave the platform reclaims some containers: their connector is dropped
 * without quit(), so the connection it kept stays open on the server as a zombie. New containers
 * replace them in the next wave.
 *
 * Proves: zero failed invocations (1040s are absorbed by backoff, zombies of earlier waves are
 * reaped by later containers' end()), no write lost or applied twice, and the user never holds more
 * than max_connections (sampled every ~20 ms from a root session).
 */
import { type Connector, type ConnectorEvents, createConnector, seededRandom, sql } from '@cachefront/mysql';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUX_MYSQL } from '../support/env.js';
import { adminConnection, createAccount, killThreadsOf, lowerMaxConnections, rows, type TestAccount, threadsOf } from '../support/mysql.js';

const CONTAINERS = 150;
const MAX_CONNECTIONS = 40;
const WAVES = 3;
const INVOCATIONS_PER_WAVE = 3;
const EXPIRING_PER_WAVE = 30;
const WRITE_SHARE = 0.4;

let admin: Connection;
let sampler: Connection;
let account: TestAccount;
let restore: (() => Promise<void>) | undefined;

beforeAll(async () => {
  // Both root sessions open before the limit is lowered (they count toward it, like any thread).
  admin = await adminConnection(AUX_MYSQL);
  sampler = await adminConnection(AUX_MYSQL);
  account = await createAccount(admin, AUX_MYSQL);
  await admin.query(`CREATE TABLE \`${account.database}\`.hit (id INT AUTO_INCREMENT PRIMARY KEY, container INT NOT NULL, wave INT NOT NULL) ENGINE=InnoDB`);
  const lowered = await lowerMaxConnections(admin, MAX_CONNECTIONS);
  restore = lowered.restore;
  expect(lowered.effective).toBe(MAX_CONNECTIONS);
});

afterAll(async () => {
  try {
    await restore?.();
  } finally {
    await account?.drop();
    await sampler?.end();
    await admin?.end();
  }
});

interface Container {
  readonly id: number;
  readonly db: Connector;
}

interface Failure {
  readonly container: number;
  readonly wave: number;
  readonly error: unknown;
}

describe('the burst', () => {
  it('150 containers, max_connections 40, three waves with expiring containers: no failed invocation, never above the limit', async () => {
    const random = seededRandom(20_261_126);
    let nextId = 0;
    const everyConnector: Connector[] = [];
    const killErrors: ConnectorEvents['killError'][] = [];
    const newContainer = (): Container => {
      const db = createConnector({
        connection: account.connection,
        maxConnections: 1,
        // Small thresholds so zombies of an earlier wave are reaped within the run.
        zombieMinTimeoutMs: 1000,
        zombieMaxTimeoutMs: 10_000,
        // Only the invocation's deadline bounds the retries.
        maxRetries: 100_000,
        acquireTimeoutMs: 30_000,
      });
      db.on('killError', (event) => killErrors.push(event));
      everyConnector.push(db);
      nextId += 1;
      return { id: nextId, db };
    };

    // Sample the user's connections from root every ~20 ms while the burst runs.
    let running = true;
    let peak = 0;
    let samples = 0;
    const sampling = (async () => {
      while (running) {
        const [row] = await rows<{ n: number }>(sampler, 'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [account.user]);
        peak = Math.max(peak, Number(row?.n));
        samples += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    const failures: Failure[] = [];
    let invocations = 0;
    let writes = 0;
    let zombiesLeft = 0;
    const started = Date.now();
    let containers = Array.from({ length: CONTAINERS }, newContainer);
    try {
      for (let wave = 1; wave <= WAVES; wave += 1) {
        await Promise.all(
          containers.map(async (container) => {
            for (let i = 0; i < INVOCATIONS_PER_WAVE; i += 1) {
              // The first invocation after a pause only reads: a write right after a long idle can race
              // a reaper that saw the connection asleep just before it woke (its KILL then lands
              // mid-write: an honest ConnectionLostError with mayHaveApplied). Not what this measures.
              const write = i > 0 && random() < WRITE_SHARE;
              invocations += 1;
              try {
                container.db.setDeadline(Date.now() + 30_000);
                await container.db.query(sql`SELECT COUNT(*) AS n FROM hit WHERE container = ${container.id}`);
                if (write) {
                  await container.db.execute(sql`INSERT INTO hit (container, wave) VALUES (${container.id}, ${wave})`);
                  writes += 1;
                }
                await container.db.end();
              } catch (error) {
                failures.push({ container: container.id, wave, error });
              }
            }
          }),
        );
        // The platform reclaims idle containers, those still holding a connection first: their
        // connector is dropped without quit(), and the connection stays open on the server.
        const byConnection = containers
          .map((container) => ({ container, order: (container.db.stats().openConnections > 0 ? 0 : 1) + random() }))
          .sort((a, b) => a.order - b.order)
          .slice(0, EXPIRING_PER_WAVE)
          .map(({ container }) => container);
        const expired = new Set(byConnection);
        zombiesLeft += byConnection.filter((container) => container.db.stats().openConnections > 0).length;
        containers = containers.filter((container) => !expired.has(container));
        while (containers.length < CONTAINERS) containers.push(newContainer());
      }
    } finally {
      running = false;
      await sampling;
    }
    const elapsed = Date.now() - started;

    const stats = everyConnector.map((db) => db.stats());
    const total = (key: 'retries' | 'kills' | 'reconnects' | 'killErrors') => stats.reduce((sum, s) => sum + s[key], 0);
    const summary = {
      elapsed,
      invocations,
      writes,
      zombiesLeft,
      peak,
      samples,
      retries: total('retries'),
      kills: total('kills'),
      reconnects: total('reconnects'),
    };
    console.log('burst:', JSON.stringify(summary));

    expect(failures.map((f) => `wave ${f.wave} container ${f.container}: ${String(f.error)}`)).toEqual([]);
    expect(invocations).toBe(WAVES * CONTAINERS * INVOCATIONS_PER_WAVE);
    // Every write landed once: none lost, none applied twice.
    const [count] = await rows<{ n: number }>(admin, `SELECT COUNT(*) AS n FROM \`${account.database}\`.hit`);
    expect(Number(count?.n)).toBe(writes);
    // The budget held, and the burst really pressed against it.
    expect(peak).toBeLessThanOrEqual(MAX_CONNECTIONS);
    expect(peak).toBeGreaterThanOrEqual(MAX_CONNECTIONS - 10);
    expect(samples).toBeGreaterThan(10);
    expect(summary.retries).toBeGreaterThan(0);
    // Expired containers left zombies, and later containers' end() reaped them.
    expect(zombiesLeft).toBeGreaterThan(0);
    expect(summary.kills).toBeGreaterThan(0);
    expect(killErrors).toEqual([]);
    expect(total('killErrors')).toBe(0);
    expect(elapsed).toBeLessThan(60_000);

    // Clean up: quit the live containers, KILL what the expired ones left behind.
    await Promise.all(containers.map((container) => container.db.quit()));
    await killThreadsOf(admin, account.user);
    expect(await threadsOf(admin, account.user)).toEqual([]);
  }, 120_000);
});
