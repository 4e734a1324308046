import { describe, expect, it } from 'vitest';
import { ConnectionLimitError, classifyDriverError, describeDriverError, driverErrorInfo, ERROR_TABLE, QueryError, RedactedDriverError } from './errors.js';

const driverError = (fields: { code?: string; errno?: number; sqlState?: string; message?: string }) =>
  Object.assign(new Error(fields.message ?? 'boom'), fields);

describe('classifyDriverError', () => {
  it.each([
    [{ code: 'ER_CON_COUNT_ERROR', errno: 1040 }, 'connect-retryable'],
    [{ code: 'ER_TOO_MANY_USER_CONNECTIONS', errno: 1203 }, 'connect-retryable'],
    [{ code: 'ER_USER_LIMIT_REACHED', errno: 1226 }, 'connect-retryable'],
    [{ code: 'ER_OUT_OF_RESOURCES', errno: 1041 }, 'connect-retryable'],
    [{ code: 'ETIMEDOUT' }, 'connect-retryable'],
    [{ errno: 9501 }, 'connect-retryable'],
    [{ code: 'PROTOCOL_CONNECTION_LOST' }, 'stale-socket'],
    [{ code: 'ECONNRESET' }, 'stale-socket'],
    [{ code: 'EPIPE' }, 'stale-socket'],
    [{ code: 'ER_CLIENT_INTERACTION_TIMEOUT', errno: 4031 }, 'stale-socket'],
    [{ errno: 4031 }, 'stale-socket'],
    [{ message: "Can't add new command when connection is in closed state" }, 'stale-socket'],
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
