import { CachefrontError } from '@cachefront/common';
import { describe, expect, it } from 'vitest';
import { classifyDriverError, classifyMysql2Error, ERROR_TABLE } from './driver/mysql2/error-table.js';
import {
  CachefrontMysqlError,
  ConnectError,
  ConnectionLimitError,
  ConnectionLostError,
  ConnectorClosedError,
  DeadlineError,
  errors,
  OptionsError,
  QueryError,
  StatementError,
  TransactionError,
} from './errors.js';
import { describeDriverError, driverErrorInfo, RedactedDriverError } from './redaction.js';

const driverError = (fields: { code?: string; errno?: number; sqlState?: string; message?: string }) =>
  Object.assign(new Error(fields.message ?? 'boom'), fields);

describe('classifyDriverError', () => {
  it.each([
    [{ code: 'ER_CON_COUNT_ERROR', errno: 1040 }, 'limit'],
    [{ code: 'ER_TOO_MANY_USER_CONNECTIONS', errno: 1203 }, 'limit'],
    [{ code: 'ER_USER_LIMIT_REACHED', errno: 1226 }, 'limit'],
    [{ code: 'ER_OUT_OF_RESOURCES', errno: 1041 }, 'limit'],
    [{ code: 'ETIMEDOUT' }, 'connect-retryable'],
    [{ code: 'ECONNREFUSED' }, 'connect-retryable'],
    [{ errno: 9501 }, 'limit'],
    [{ code: 'PROTOCOL_CONNECTION_LOST' }, 'stale-socket'],
    [{ code: 'ECONNRESET' }, 'stale-socket'],
    [{ code: 'EPIPE' }, 'stale-socket'],
    [{ code: 'ER_CLIENT_INTERACTION_TIMEOUT', errno: 4031 }, 'stale-socket'],
    [{ errno: 4031 }, 'stale-socket'],
    [{ message: "Can't add new command when connection is in closed state" }, 'never-sent'],
    [{ code: 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR' }, 'never-sent'],
    [{ code: 'PROTOCOL_ENQUEUE_AFTER_QUIT' }, 'never-sent'],
    [{ code: 'ER_LOCK_DEADLOCK', errno: 1213 }, 'statement-retryable'],
    [{ code: 'ER_DUP_ENTRY', errno: 1062 }, 'fatal'],
    [{ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 }, 'fatal'],
    [{}, 'fatal'],
  ] as const)('%o is %s', (fields, expected) => {
    expect(classifyDriverError(driverError(fields))).toBe(expected);
  });

  it('classifies non-errors as fatal', () => {
    expect(classifyDriverError('text')).toBe('fatal');
    expect(classifyDriverError(null)).toBe('fatal');
  });

  it('has no code in two classes', () => {
    const all = Object.values(ERROR_TABLE).flatMap((entry) => [...entry.codes, ...entry.errnos.map(String)]);
    expect(new Set(all).size).toBe(all.length);
  });

  it('tells the facts the connector acts on, so it never reads an errno itself', () => {
    const facts = (fields: Parameters<typeof driverError>[0]) => {
      const { connectionCount, threadGone, unknownColumn } = classifyMysql2Error(driverError(fields));
      return { connectionCount, threadGone, unknownColumn };
    };
    // Only a refusal that counts connections says the server is full; 1041 and RDS Proxy's 9501 are limits of another kind.
    expect(facts({ code: 'ER_CON_COUNT_ERROR', errno: 1040 })).toEqual({ connectionCount: true, threadGone: false, unknownColumn: false });
    expect(facts({ code: 'ER_TOO_MANY_USER_CONNECTIONS', errno: 1203 }).connectionCount).toBe(true);
    expect(facts({ code: 'ER_USER_LIMIT_REACHED', errno: 1226 }).connectionCount).toBe(true);
    expect(facts({ code: 'ER_OUT_OF_RESOURCES', errno: 1041 }).connectionCount).toBe(false);
    expect(facts({ errno: 9501 }).connectionCount).toBe(false);
    expect(facts({ code: 'ER_NO_SUCH_THREAD', errno: 1094 })).toEqual({ connectionCount: false, threadGone: true, unknownColumn: false });
    expect(facts({ code: 'ER_KILL_DENIED_ERROR', errno: 1095 }).threadGone).toBe(true);
    expect(facts({ code: 'ER_BAD_FIELD_ERROR', errno: 1054 })).toEqual({ connectionCount: false, threadGone: false, unknownColumn: true });
    expect(classifyMysql2Error(driverError({ code: 'ER_DUP_ENTRY', errno: 1062, sqlState: '23000' })).info).toEqual({
      code: 'ER_DUP_ENTRY',
      errno: 1062,
      sqlState: '23000',
    });
  });

  it("does not know the connector's own timeouts: the code it used to invent is no class", () => {
    expect(classifyDriverError(driverError({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' }))).toBe('fatal');
  });
});

describe('error codes', () => {
  it('maps every code to its class; every error is a CachefrontError; the options error has a code no other package uses', () => {
    const samples: { [C in keyof typeof errors]: InstanceType<(typeof errors)[C]> } = {
      E_CONNECTION_LIMIT: new ConnectionLimitError('x', { attempts: 1 }),
      E_CONNECT_FAILED: new ConnectError('x', { attempts: 1 }),
      E_CONNECTION_LOST: new ConnectionLostError('x', { mayHaveApplied: false }),
      E_QUERY_FAILED: new QueryError('x', { retryable: false }),
      E_TRANSACTION_FAILED: new TransactionError('x', { mayHaveCommitted: false }),
      E_DEADLINE_EXCEEDED: new DeadlineError('x', { mayHaveApplied: false }),
      E_CONNECTOR_CLOSED: new ConnectorClosedError(),
      E_INVALID_CONNECTOR_OPTIONS: new OptionsError('x'),
      E_INVALID_STATEMENT: new StatementError('x'),
    };
    for (const [code, error] of Object.entries(samples)) {
      expect(error.code).toBe(code);
      expect(error).toBeInstanceOf(errors[code as keyof typeof errors]);
      expect(error).toBeInstanceOf(CachefrontMysqlError);
      expect(error).toBeInstanceOf(CachefrontError);
    }
    expect(new OptionsError('x')).toMatchObject({ code: 'E_INVALID_CONNECTOR_OPTIONS', name: 'OptionsError' });
  });
});

describe('redaction', () => {
  it('describes an error from its codes alone, never from the server text', () => {
    const original = driverError({ code: 'ER_DUP_ENTRY', errno: 1062, sqlState: '23000', message: "Duplicate entry 'alice@example.com' for key 'email'" });
    expect(new RedactedDriverError(original).message).toBe('a duplicate value for a unique key (ER_DUP_ENTRY, errno 1062, SQLSTATE 23000)');
    expect(describeDriverError({ code: 'ECONNRESET', errno: undefined, sqlState: undefined })).toBe('the connection was reset (ECONNRESET)');
    expect(describeDriverError({ code: undefined, errno: 65_000, sqlState: 'HY000' })).toBe('the server reported an error (errno 65000, SQLSTATE HY000)');
    expect(describeDriverError({ code: undefined, errno: undefined, sqlState: undefined })).toBe('the driver reported an error');
  });

  it('shows no code that is not shaped like one (a code is never free text)', () => {
    const info = driverErrorInfo(driverError({ code: "secret' value", errno: 1.5, sqlState: 'not a state', message: 'x' }));
    expect(info).toEqual({ code: undefined, errno: undefined, sqlState: undefined });
  });

  it('keeps codes and drops the SQL a driver error carries', () => {
    const original = Object.assign(new Error("Duplicate entry 'secret-token' for key 'PRIMARY'"), {
      code: 'ER_DUP_ENTRY',
      errno: 1062,
      sqlState: '23000',
      sql: "INSERT INTO t VALUES ('secret-token')",
    });
    const error = new QueryError('MySQL rejected the statement (ER_DUP_ENTRY).', {
      cause: original,
      driver: { code: 'ER_DUP_ENTRY', errno: 1062, sqlState: '23000' },
      retryable: false,
    });
    expect(error.code).toBe('E_QUERY_FAILED');
    expect(error.errno).toBe(1062);
    expect(error.sqlState).toBe('23000');
    expect(error.cause).toBeInstanceOf(RedactedDriverError);
    const everything =
      JSON.stringify({ ...error, cause: { ...(error.cause as object), message: (error.cause as Error).message } }) + error.message + String(error.stack);
    expect(everything).not.toContain('secret-token');
    expect((error.cause as RedactedDriverError).errno).toBe(1062);
  });

  it('keeps the attempts of a limit error', () => {
    const error = new ConnectionLimitError('limit', { driver: { code: 'ER_CON_COUNT_ERROR', errno: 1040, sqlState: '08004' }, attempts: 7 });
    expect(error).toMatchObject({ code: 'E_CONNECTION_LIMIT', errno: 1040, sqlState: '08004', driverCode: 'ER_CON_COUNT_ERROR', attempts: 7 });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConnectionLimitError');
  });
});
