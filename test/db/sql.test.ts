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

  it.each([[''], ['a\0b']])('rejects %j', (name) => {
    expect(() => quoteIdent(name)).toThrow(TypeError);
  });
});
