// Comparing stored values: exact decimals, strings, ORDER BY order, and instants against whole days.
import type { FieldType, Value } from '../model.ts';

/** Exact comparison of decimal strings (never through a JS number: 20+ significant digits must survive). */
export function compareDecimal(a: string, b: string): number {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  if (x.negative !== y.negative) return x.negative ? -1 : 1;
  const sign = x.negative ? -1 : 1;
  if (x.int.length !== y.int.length) return sign * (x.int.length < y.int.length ? -1 : 1);
  if (x.int !== y.int) return sign * (x.int < y.int ? -1 : 1);
  const width = Math.max(x.frac.length, y.frac.length);
  const fx = x.frac.padEnd(width, '0');
  const fy = y.frac.padEnd(width, '0');
  if (fx === fy) return 0;
  return sign * (fx < fy ? -1 : 1);
}

function parseDecimal(text: string): { negative: boolean; int: string; frac: string } {
  const negative = text.startsWith('-');
  const body = negative || text.startsWith('+') ? text.slice(1) : text;
  const [intRaw = '', fracRaw = ''] = body.split('.');
  const int = intRaw.replace(/^0+/, '');
  const frac = fracRaw.replace(/0+$/, '');
  const zero = int === '' && frac === '';
  return { negative: negative && !zero, int, frac };
}

export const DECIMAL_RE = /^[-+]?\d+(\.\d+)?$/;

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sort order for ORDER BY: nulls first, then by type. */
export function compareValues(type: FieldType, a: Value, b: Value): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  switch (type) {
    case 'decimal':
    case 'integer':
      return compareDecimal(String(a), String(b));
    case 'datetime':
      return (a as number) - (b as number);
    case 'boolean':
      return Number(a) - Number(b);
    default:
      return compareStrings(String(a), String(b));
  }
}

export type Op = '=' | '!=' | '<' | '>' | '<=' | '>=';
export const OPERATORS: readonly string[] = ['=', '!=', '<', '>', '<=', '>='];

export function applyOp(op: Op, cmp: number): boolean {
  switch (op) {
    case '=':
      return cmp === 0;
    case '!=':
      return cmp !== 0;
    case '<':
      return cmp < 0;
    case '>':
      return cmp > 0;
    case '<=':
      return cmp <= 0;
    case '>=':
      return cmp >= 0;
  }
}

/** Where an instant falls against a whole day: -1 before it, 0 inside, 1 after (date-vs-datetime semantics). */
export function againstDay(ms: number, range: [number, number]): number {
  return ms < range[0] ? -1 : ms >= range[1] ? 1 : 0;
}

export const NUMERIC: ReadonlySet<FieldType> = new Set(['decimal', 'integer']);
export const STRINGY: ReadonlySet<FieldType> = new Set(['text', 'picklist']);
