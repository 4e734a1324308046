import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StatementError } from './errors.js';
import { dateLiteral, formatStatement, literal, quoteString } from './format.js';

const bothModes = [false, true] as const;

/** What the server reads back from a literal written by quoteString, in each mode (a model of its lexer). */
function readBack(quoted: string, noBackslashEscapes: boolean): { value: string; rest: string } {
  let value = '';
  let i = 1;
  const escapes: Record<string, string> = { '0': '\0', n: '\n', r: '\r', Z: '\x1a', '\\': '\\', "'": "'", t: '\t', b: '\b' };
  while (i < quoted.length) {
    const char = quoted[i] as string;
    if (char === "'" && quoted[i + 1] === "'") {
      value += "'";
      i += 2;
    } else if (char === "'") {
      return { value, rest: quoted.slice(i + 1) };
    } else if (char === '\\' && !noBackslashEscapes) {
      const next = quoted[i + 1] as string;
      value += escapes[next] ?? next;
      i += 2;
    } else {
      value += char;
      i += 1;
    }
  }
  throw new Error('unterminated literal');
}

describe('quoteString', () => {
  it.each(bothModes)('is one literal that reads back exactly (NO_BACKSLASH_ESCAPES %s)', (mode) => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("'", '\\', '"', '\0', '\n', '\r', '\x1a', 'a', ' ', '-') }), (text) => {
        expect(readBack(quoteString(text, { noBackslashEscapes: mode }), mode)).toEqual({ value: text, rest: '' });
      }),
    );
  });

  it('written for backslash escapes, stays one literal for a server that has NO_BACKSLASH_ESCAPES', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("'", '\\', 'a', ' ') }), (text) => {
        expect(readBack(quoteString(text, { noBackslashEscapes: false }), true).rest).toBe('');
      }),
    );
  });

  it('is the same in both modes for a string without a backslash, so only those need the mode', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("'", '"', 'a', ' ', '-', '%', '\0', '\n', '\r', '\x1a', '\t') }), (text) => {
        expect(quoteString(text, { noBackslashEscapes: false })).toBe(quoteString(text, { noBackslashEscapes: true }));
      }),
    );
  });

  it("never writes the \\' that NO_BACKSLASH_ESCAPES reads as the end of a literal", () => {
    expect(quoteString("\\' OR 1=1 -- ", { noBackslashEscapes: false })).toBe("'\\\\'' OR 1=1 -- '");
    expect(quoteString("\\' OR 1=1 -- ", { noBackslashEscapes: true })).toBe("'\\'' OR 1=1 -- '");
  });
});

describe('literal', () => {
  const options = { noBackslashEscapes: false, timezone: 'Z' };

  it('writes scalars in a form both modes read the same way', () => {
    expect(literal(null, options)).toBe('NULL');
    expect(literal(42, options)).toBe('42');
    expect(literal(-0, options)).toBe('0');
    expect(literal(1e21, options)).toBe('1e+21');
    expect(literal(12345678901234567890n, options)).toBe('12345678901234567890');
    expect(literal(true, options)).toBe('TRUE');
    expect(literal(Buffer.from("a'\\"), options)).toBe("X'61275c'");
    expect(literal(new Uint8Array([0, 255]), options)).toBe("X'00ff'");
  });

  it('writes Dates in the session time zone, to the millisecond', () => {
    const date = new Date('2026-12-01T10:52:03.045Z');
    expect(dateLiteral(date, 'Z')).toBe("'2026-12-01 10:52:03.045'");
    expect(dateLiteral(date, '+02:00')).toBe("'2026-12-01 12:52:03.045'");
    expect(dateLiteral(date, '-0530')).toBe("'2026-12-01 05:22:03.045'");
    expect(() => dateLiteral(date, 'Europe/Paris')).toThrow(StatementError);
  });
});

describe('formatStatement', () => {
  const options = { noBackslashEscapes: true, timezone: 'Z' };

  it('fills placeholders in order, and a ? inside a value is never a placeholder', () => {
    expect(formatStatement('SELECT ? AS a, ? AS b', ['why?', 2], options)).toBe("SELECT 'why?' AS a, 2 AS b");
  });

  it('refuses a count of values that does not match the placeholders', () => {
    expect(() => formatStatement('SELECT ?, ?', [1], options)).toThrow(StatementError);
    expect(() => formatStatement('SELECT ?', [1, 2], options)).toThrow(StatementError);
  });
});
