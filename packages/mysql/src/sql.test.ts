import { describe, expect, it } from 'vitest';
import { StatementError } from './errors.js';
import { isSqlStatement, looksIdempotent, sql, statementVerb } from './sql.js';

describe('sql', () => {
  it('turns every interpolation into a placeholder and keeps the values apart', () => {
    const name = "Robert'); DROP TABLE students;--";
    const statement = sql`SELECT * FROM student WHERE name = ${name} AND age > ${7}`;
    expect(statement.text).toBe('SELECT * FROM student WHERE name = ? AND age > ?');
    expect(statement.values).toEqual([name, 7]);
    expect(isSqlStatement(statement)).toBe(true);
    expect(isSqlStatement({ text: 'SELECT 1', values: [] })).toBe(false);
  });

  it('splices nested fragments with their own values, in order', () => {
    const where = sql`category = ${'tools'} AND price < ${10}`;
    const statement = sql`SELECT id FROM product WHERE ${where} LIMIT ${5}`;
    expect(statement.text).toBe('SELECT id FROM product WHERE category = ? AND price < ? LIMIT ?');
    expect(statement.values).toEqual(['tools', 10, 5]);
  });

  it('builds lists, joins and identifiers', () => {
    const statement = sql`SELECT ${sql.id('p.name')} FROM ${sql.id('product')} WHERE id IN (${sql.list([1, 2, 3])})`;
    expect(statement.text).toBe('SELECT `p`.`name` FROM `product` WHERE id IN (?, ?, ?)');
    expect(statement.values).toEqual([1, 2, 3]);
    const joined = sql.join([sql`(${1}, ${'a'})`, sql`(${2}, ${'b'})`]);
    expect(joined.text).toBe('(?, ?), (?, ?)');
    expect(joined.values).toEqual([1, 'a', 2, 'b']);
  });

  it('refuses what would put untrusted text into SQL', () => {
    expect(() => sql.id('name; DROP TABLE x')).toThrow(StatementError);
    expect(() => sql.id('a`b')).toThrow(StatementError);
    expect(() => sql.list([])).toThrow(StatementError);
    expect(() => sql.raw('SELECT ? + ?', [1])).toThrow(/2 placeholders but 1 values/);
    expect(sql.raw('SELECT ? + ?', [1, 2]).values).toEqual([1, 2]);
  });

  it('is immutable', () => {
    const statement = sql`SELECT ${1}`;
    expect(Object.isFrozen(statement)).toBe(true);
    expect(Object.isFrozen(statement.values)).toBe(true);
  });
});

describe('looksIdempotent', () => {
  it.each([
    ['SELECT 1', true],
    ['  select * from t', true],
    ['/* hint */ SELECT a FROM t', true],
    ['(SELECT 1) UNION (SELECT 2)', true],
    ['SHOW TABLES', true],
    ['SELECT * FROM t WHERE id = 1 FOR UPDATE', false],
    ['SELECT * FROM t LOCK IN SHARE MODE', false],
    ['SELECT a INTO @x FROM t', false],
    ['INSERT INTO t VALUES (1)', false],
    ['UPDATE t SET a = 1', false],
    ['WITH x AS (SELECT 1) DELETE FROM t', false],
    ['CALL proc()', false],
  ])('%s → %s', (text, expected) => {
    expect(looksIdempotent(text)).toBe(expected);
  });

  it('names the verb only', () => {
    expect(statementVerb('  /* c */ insert into t values (?)')).toBe('INSERT');
    expect(statementVerb('')).toBe('UNKNOWN');
  });
});
