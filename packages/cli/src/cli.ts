/**
 * The `cachefront` command line: `doctor`, `reap` and `watch`, `--help` on each. Exit codes: 0 nothing to
 * change (or done), 1 the doctor has recommendations, 2 it could not run (bad flags, a server it
 * could not reach or read). Nothing it prints holds a password: every line goes through `redact`.
 */

import { parseArgs } from 'node:util';
import { mysqlTarget, redact, redisTarget, UsageError } from './connections.js';
import { runDoctor, UnreachableError } from './doctor/doctor.js';
import { toJson, toText } from './doctor/report.js';
import type { Io } from './io.js';
import { reapText, runReap } from './reap.js';
import { styleFor } from './style.js';
import { openSampler, watchLoop } from './watch.js';

const HELP = `Usage: cachefront <command> [options]

Commands:
  doctor   read the live MySQL and Redis: limits, timeouts, threads, zombies, memory policy,
           cachefront's namespaces; print what to change, with the numbers and the statement
  reap     kill this account's sleeping connections older than --older-than (a dry run unless --yes)
  watch    a live view of connections by user and state against the limit, and Redis' hit ratio

Connections (every command): --mysql mysql://user:pass@host:port/db (or MYSQL_URL),
                             --redis redis://… (or REDIS_URL). Passwords are never printed.
Run cachefront <command> --help for its options.
`;

const DOCTOR_HELP = `Usage: cachefront doctor [--mysql URL] [--redis URL] [options]

  --zombie-idle DURATION  a sleeping connection idle this long is a zombie; default 15m
  --scan-keys N           read at most N Redis keys when looking for namespaces; default 100000
  --timeout DURATION      connect timeout per server; default 5s
  --json                  one JSON object: { version, servers, limits, usage, findings, recommendations }

Exit codes: 0 nothing to change, 1 recommendations, 2 could not run.
`;

const REAP_HELP = `Usage: cachefront reap [--mysql URL] --older-than DURATION [--yes] [--rds-kill] [--json]

Kills sleeping connections of the account's own user idle at least --older-than (default 10m),
never another user's, each re-checked just before its KILL. Without --yes it only lists them.

  --rds-kill   CALL mysql.rds_kill(id) instead of KILL id (RDS without CONNECTION_ADMIN)
  --json       the report as JSON
`;

const WATCH_HELP = `Usage: cachefront watch [--mysql URL] [--redis URL] [--interval DURATION] [--count N]

Every --interval (default 1s): the connections by user and state against max_connections, and
Redis' hit ratio (keyspace hits over reads in the interval), evictions and clients. On a terminal
it redraws the screen and q quits; otherwise one line per interval. --count N stops after N.
`;

/** `10m`, `900s`, `1500ms`, `1h`, or a number of seconds, in ms. */
export function durationMs(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag} takes a duration: 900s, 15m, 1h, 1500ms.`);
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(match[1]) * scale);
}

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  const secrets: Array<{ password?: string; url?: string } | undefined> = [];
  const print = (text: string) => io.stdout.write(redact(text, secrets));
  const fail = (text: string) => io.stderr.write(redact(`cachefront: ${text}\n`, secrets));
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      print(HELP);
      return command === undefined ? 2 : 0;
    }
    if (command !== 'doctor' && command !== 'reap' && command !== 'watch')
      throw new UsageError(`unknown command ${JSON.stringify(command)}; run cachefront --help.`);
    const { values } = parseArgs({
      args: [...rest],
      options: {
        mysql: { type: 'string' },
        redis: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        'zombie-idle': { type: 'string', default: '15m' },
        'scan-keys': { type: 'string', default: '100000' },
        timeout: { type: 'string', default: '5s' },
        'older-than': { type: 'string', default: '10m' },
        yes: { type: 'boolean', default: false },
        'rds-kill': { type: 'boolean', default: false },
        interval: { type: 'string', default: '1s' },
        count: { type: 'string' },
      },
      strict: true,
    });
    if (values.help) {
      print(command === 'doctor' ? DOCTOR_HELP : command === 'reap' ? REAP_HELP : WATCH_HELP);
      return 0;
    }
    const mysql = mysqlTarget(values.mysql ?? io.env['MYSQL_URL']);
    const redis = redisTarget(values.redis ?? io.env['REDIS_URL']);
    secrets.push(mysql, redis);
    if (command === 'watch') {
      if (!mysql && !redis) throw new UsageError('Nothing to watch: give --mysql (or MYSQL_URL) and/or --redis (or REDIS_URL).');
      const count = values.count === undefined ? undefined : Number(values.count);
      if (count !== undefined && !(Number.isInteger(count) && count >= 1)) throw new UsageError('--count takes a whole number ≥ 1.');
      const sampler = await openSampler(mysql, redis, durationMs(values.timeout, '--timeout')).catch((error: unknown) => {
        throw new UnreachableError(`could not connect (${String((error as { code?: unknown }).code ?? 'unknown')}): check --mysql and --redis`);
      });
      await watchLoop(sampler, io, print, durationMs(values.interval, '--interval'), count);
      return 0;
    }
    if (command === 'reap') {
      if (!mysql) throw new UsageError('reap needs --mysql (or MYSQL_URL).');
      const report = await runReap({ mysql, olderThanMs: durationMs(values['older-than'], '--older-than'), yes: values.yes, rdsKill: values['rds-kill'] });
      print(values.json ? `${JSON.stringify(report, null, 2)}\n` : reapText(report));
      return 0;
    }
    const scanKeys = Number(values['scan-keys']);
    if (!Number.isInteger(scanKeys) || scanKeys < 1) throw new UsageError('--scan-keys takes a whole number ≥ 1.');
    const { facts, judgement } = await runDoctor({
      mysql,
      redis,
      zombieThresholdS: Math.round(durationMs(values['zombie-idle'], '--zombie-idle') / 1000),
      scanKeys,
      connectTimeoutMs: durationMs(values.timeout, '--timeout'),
    });
    print(values.json ? `${JSON.stringify(toJson(facts, judgement), null, 2)}\n` : toText(facts, judgement, styleFor(io.stdout, io.env)));
    return judgement.recommendations.length > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof UnreachableError) {
      fail(error.message);
      return 2;
    }
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      fail(`${error.message}; run cachefront ${command ?? ''} --help.`);
      return 2;
    }
    const code = (error as { code?: unknown }).code;
    fail(`${command ?? ''} failed${typeof code === 'string' ? ` (${code})` : ''}: ${error instanceof Error ? error.message : 'unknown error'}`);
    return 2;
  }
}
