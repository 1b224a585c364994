// Export ZOQL text -> tokens. Strings are single-quoted, aliases double-quoted; a doubled quote escapes itself.
import { ZoqlError } from '../model.ts';

const SYNTAX = 'There is a syntax error in one of the queries in the AQuA input';

/** Zuora's answer to anything the emulator does not understand: 90005, never a guess. */
export function syntaxError(detail: string): ZoqlError {
  return new ZoqlError('90005', `${SYNTAX}: ${detail}`);
}

export type TokenKind = 'ident' | 'number' | 'string' | 'quoted' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  text: string;
  pos: number;
}

const PUNCTUATION = ['<=', '>=', '!=', '<>', '=', '<', '>', ',', '.', '*', '(', ')', ';', '-', '+'];

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < text.length) {
    const ch = text[pos] ?? '';
    if (/\s/.test(ch)) {
      pos++;
      continue;
    }
    const token = /[A-Za-z_]/.test(ch)
      ? identifier(text, pos)
      : /[0-9]/.test(ch)
        ? numberToken(text, pos)
        : ch === "'" || ch === '"'
          ? quotedToken(text, pos)
          : punctuation(text, pos);
    tokens.push(token.token);
    pos = token.end;
  }
  tokens.push({ kind: 'eof', text: '', pos: text.length });
  return tokens;
}

interface Scanned {
  token: Token;
  end: number;
}

function identifier(text: string, start: number): Scanned {
  let pos = start;
  while (pos < text.length && /[A-Za-z0-9_]/.test(text[pos] ?? '')) pos++;
  return { token: { kind: 'ident', text: text.slice(start, pos), pos: start }, end: pos };
}

function numberToken(text: string, start: number): Scanned {
  let pos = start;
  while (pos < text.length && /[0-9]/.test(text[pos] ?? '')) pos++;
  if (text[pos] === '.' && /[0-9]/.test(text[pos + 1] ?? '')) {
    pos++;
    while (pos < text.length && /[0-9]/.test(text[pos] ?? '')) pos++;
  }
  return { token: { kind: 'number', text: text.slice(start, pos), pos: start }, end: pos };
}

function quotedToken(text: string, start: number): Scanned {
  const quote = text[start] ?? '';
  let value = '';
  let pos = start + 1;
  for (;;) {
    if (pos >= text.length) throw syntaxError(`unterminated ${quote === "'" ? 'string' : 'alias'} at ${start}`);
    const c = text[pos] ?? '';
    if (c === quote) {
      if (text[pos + 1] === quote) {
        value += quote;
        pos += 2;
        continue;
      }
      pos++;
      break;
    }
    value += c;
    pos++;
  }
  return { token: { kind: quote === "'" ? 'string' : 'quoted', text: value, pos: start }, end: pos };
}

function punctuation(text: string, start: number): Scanned {
  const punct = PUNCTUATION.find((p) => text.startsWith(p, start));
  if (punct === undefined) throw syntaxError(`unexpected character "${text[start] ?? ''}" at ${start}`);
  return { token: { kind: 'punct', text: punct, pos: start }, end: start + punct.length };
}
