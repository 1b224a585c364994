import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../../src/db/index.ts';

describe('quoteIdent', () => {
  it.each([
    ['account', '"account"'],
    ['Account', '"Account"'],
    ['my table', '"my table"'],
    ['a"b', '"a""b"'],
    ['""', '""""""'],
    ['select', '"select"'],
    ['é', '"é"'],
  ])('%s -> %s', (name, quoted) => {
    expect(quoteIdent(name)).toBe(quoted);
  });

  it.each([[''], ['a\0b'], ['x'.repeat(64)], ['é'.repeat(32)]])('rejects %j (a configuration error)', (name) => {
    expect(() => quoteIdent(name)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('takes 63 bytes, the most Postgres keeps', () => {
    expect(quoteIdent('x'.repeat(63))).toBe(`"${'x'.repeat(63)}"`);
  });
});
