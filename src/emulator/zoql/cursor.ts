// A position in the token list with the accept/expect helpers a recursive-descent parser needs.
import type { Token } from './tokenizer.ts';
import { syntaxError } from './tokenizer.ts';

export class TokenCursor {
  index = 0;

  constructor(private readonly tokens: Token[]) {}

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)] as Token;
  }

  next(): Token {
    const token = this.peek();
    if (this.index < this.tokens.length - 1) this.index++;
    return token;
  }

  isKeyword(word: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.kind === 'ident' && token.text.toLowerCase() === word;
  }

  acceptKeyword(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.next();
    return true;
  }

  expectKeyword(word: string): void {
    if (!this.acceptKeyword(word)) throw syntaxError(`expected ${word.toUpperCase()} ${this.where()}`);
  }

  isPunct(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.kind === 'punct' && token.text === text;
  }

  acceptPunct(text: string): boolean {
    if (!this.isPunct(text)) return false;
    this.next();
    return true;
  }

  expectPunct(text: string): void {
    if (!this.acceptPunct(text)) throw syntaxError(`expected "${text}" ${this.where()}`);
  }

  /** The current position for error messages. */
  where(): string {
    const token = this.peek();
    return token.kind === 'eof' ? 'at end of query' : `at "${token.text}" (position ${token.pos})`;
  }

  expectIdent(what: string): string {
    const token = this.peek();
    if (token.kind !== 'ident') throw syntaxError(`expected ${what} ${this.where()}`);
    this.next();
    return token.text;
  }
}
