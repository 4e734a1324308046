/**
 * `cachefront reap`: the connector's zombie reaper from the command line, with its safety rules —
 * only the account's own user, only `Sleep`, idle at least `--older-than`, each re-checked at kill
 * time, `KILL` or (`--rds-kill`) `CALL mysql.rds_kill`. A dry run by default: it lists what it would
 * kill; `--yes` kills, then lists what was killed.
 */
import { createConnector } from '@cachefront/mysql';
import type { MysqlTarget } from './connections.js';

export interface ReapCommandOptions {
  readonly mysql: MysqlTarget;
  readonly olderThanMs: number;
  readonly yes: boolean;
  readonly rdsKill: boolean;
}

export interface ReapReport {
  readonly dryRun: boolean;
  readonly thresholdMs: number;
  readonly limit: number;
  readonly used: number;
  readonly candidates: ReadonlyArray<{ readonly id: number; readonly idleMs: number }>;
  readonly killed: readonly number[];
}

export async function runReap(options: ReapCommandOptions): Promise<ReapReport> {
  const { mysql } = options;
  const connector = createConnector({
    connection: { host: mysql.host, port: mysql.port, user: mysql.user, password: mysql.password, ...(mysql.database ? { database: mysql.database } : {}) },
    killMethod: options.rdsKill ? 'rds_kill' : 'kill',
  });
  try {
    const result = await connector.reap({ olderThanMs: options.olderThanMs, dryRun: !options.yes });
    return { dryRun: !options.yes, ...result };
  } finally {
    await connector.quit();
  }
}

export function reapText(report: ReapReport): string {
  const lines = [
    `${report.used} connections of this user (limit ${report.limit}); sleeping at least ${Math.round(report.thresholdMs / 1000)} s: ${report.candidates.length}`,
  ];
  if (report.dryRun) {
    for (const c of report.candidates) lines.push(`  would kill thread ${c.id} (idle ${Math.round(c.idleMs / 1000)} s)`);
    if (report.candidates.length > 0) lines.push('A dry run: nothing was killed. Run again with --yes to kill them.');
  } else {
    for (const id of report.killed) lines.push(`  killed thread ${id}`);
    lines.push(
      `${report.killed.length} killed${report.killed.length < report.candidates.length ? ` (${report.candidates.length - report.killed.length} were gone or woke up by kill time)` : ''}.`,
    );
  }
  return `${lines.join('\n')}\n`;
}
