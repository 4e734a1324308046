import { describe, expect, it } from 'vitest';
import { durationMs } from './cli.js';
import { mysqlTarget, redact, redisTarget, UsageError } from './connections.js';

describe('connections and flags', () => {
  it('reads a MySQL URL, and labels it without the password', () => {
    const target = mysqlTarget('mysql://app:s%3Acret@db.internal:3307/shop');
    expect(target).toMatchObject({ host: 'db.internal', port: 3307, user: 'app', password: 's:cret', database: 'shop', label: 'app@db.internal:3307/shop' });
    expect(redisTarget('rediss://:hunter2@cache:6380/1')?.label).toBe('rediss://cache:6380/1');
  });

  it('refuses a bad URL with a message that never repeats it', () => {
    for (const bad of ['mysql://:topsecret@', 'http://u:topsecret@h/', 'not a url topsecret', 'mysql://:topsecret@host/']) {
      let error: unknown;
      try {
        mysqlTarget(bad);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).not.toContain('topsecret');
    }
  });

  it('redacts the passwords, raw and percent-encoded, from anything printed', () => {
    const mysql = mysqlTarget('mysql://app:p%40ss@db/shop');
    const redis = redisTarget('redis://:r3dis@cache:6379');
    expect(redact('p@ss p%40ss r3dis fine', [mysql, redis])).toBe('*** *** *** fine');
  });

  it('reads durations', () => {
    expect(durationMs('15m', '--x')).toBe(900_000);
    expect(durationMs('900', '--x')).toBe(900_000);
    expect(durationMs('1500ms', '--x')).toBe(1500);
    expect(() => durationMs('soon', '--x')).toThrow(UsageError);
  });
});
