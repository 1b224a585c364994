// WHERE: AND/OR/NOT over comparisons, IS [NOT] NULL and LIKE, compiled into predicates with SQL's three-valued
// logic. Literals are checked against the field's type here, so a mismatch is a 90005 at submit, not wrong rows.
import type { CompileOptions, Value } from '../model.ts';
import type { TokenCursor } from './cursor.ts';
import { dayRange, parseTemporal, SPACE_DATETIME_RE } from './literals.ts';
import type { TemporalLiteral } from './literals.ts';
import type { FieldRef, Getter, Predicate } from './row-context.ts';
import { parseFieldRef } from './scope.ts';
import type { Scope } from './scope.ts';
import { syntaxError } from './tokenizer.ts';
import type { Op } from './values.ts';
import { againstDay, applyOp, compareDecimal, compareStrings, DECIMAL_RE, NUMERIC, OPERATORS, STRINGY } from './values.ts';

export function parseWhere(cursor: TokenCursor, scope: Scope, options: CompileOptions): Predicate {
  return new WhereParser(cursor, scope, options).parseOr();
}

class WhereParser {
  constructor(
    private readonly cursor: TokenCursor,
    private readonly scope: Scope,
    private readonly options: CompileOptions,
  ) {}

  parseOr(): Predicate {
    let left = this.parseAnd();
    while (this.cursor.acceptKeyword('or')) {
      const a = left;
      const b = this.parseAnd();
      left = (rc) => {
        const x = a(rc);
        if (x === true) return true;
        const y = b(rc);
        if (y === true) return true;
        return x === null || y === null ? null : false;
      };
    }
    return left;
  }

  private parseAnd(): Predicate {
    let left = this.parseNot();
    while (this.cursor.acceptKeyword('and')) {
      const a = left;
      const b = this.parseNot();
      left = (rc) => {
        const x = a(rc);
        if (x === false) return false;
        const y = b(rc);
        if (y === false) return false;
        return x === null || y === null ? null : true;
      };
    }
    return left;
  }

  private parseNot(): Predicate {
    if (this.cursor.acceptKeyword('not')) {
      const inner = this.parseNot();
      return (rc) => {
        const x = inner(rc);
        return x === null ? null : !x;
      };
    }
    if (this.cursor.acceptPunct('(')) {
      const inner = this.parseOr();
      this.cursor.expectPunct(')');
      return inner;
    }
    return this.parseCondition();
  }

  private parseCondition(): Predicate {
    const cursor = this.cursor;
    if (cursor.peek().kind === 'ident' && cursor.isPunct('(', 1)) {
      throw syntaxError(`functions are not allowed in WHERE ${cursor.where()}`);
    }
    const ref = parseFieldRef(cursor, this.scope);
    if (cursor.acceptKeyword('is')) {
      const negate = cursor.acceptKeyword('not');
      cursor.expectKeyword('null');
      return nullTest(ref.get, negate);
    }
    if (cursor.acceptKeyword('like')) {
      const pattern = cursor.next();
      if (pattern.kind !== 'string') throw syntaxError(`LIKE needs a quoted pattern ${cursor.where()}`);
      return like(ref, pattern.text);
    }
    const opToken = cursor.next();
    if (opToken.kind !== 'punct' || !OPERATORS.includes(opToken.text)) {
      throw syntaxError(`expected a comparison operator after ${ref.header}, got "${opToken.text || 'end of query'}"`);
    }
    return this.comparison(ref, opToken.text as Op);
  }

  /** The right-hand side of `ref op ...`: a word (null, true, false), another field, a number or a string. */
  private comparison(ref: FieldRef, op: Op): Predicate {
    const cursor = this.cursor;
    const token = cursor.peek();
    if (token.kind === 'ident' && token.text.toLowerCase() === 'timestamp' && cursor.peek(1).kind === 'string') {
      throw syntaxError('TIMESTAMP literals are not supported; use a quoted ISO 8601 literal');
    }
    if (token.kind === 'ident' && ['null', 'true', 'false'].includes(token.text.toLowerCase())) {
      cursor.next();
      return wordComparison(ref, op, token.text.toLowerCase());
    }
    if (token.kind === 'ident') return fieldToField(ref, op, parseFieldRef(cursor, this.scope), this.options.defaultZone);
    if (token.kind === 'number' || (token.kind === 'punct' && (token.text === '-' || token.text === '+'))) {
      return numberComparison(ref, op, this.signedNumber());
    }
    if (token.kind === 'string') {
      cursor.next();
      return this.stringComparison(ref, op, token.text);
    }
    throw syntaxError(`expected a value after ${op} ${cursor.where()}`);
  }

  private signedNumber(): string {
    const token = this.cursor.peek();
    const sign = token.kind === 'punct' ? this.cursor.next().text : '';
    const number = this.cursor.next();
    if (number.kind !== 'number') throw syntaxError(`expected a number after "${sign}"`);
    return `${sign === '-' ? '-' : ''}${number.text}`;
  }

  private stringComparison(ref: FieldRef, op: Op, text: string): Predicate {
    const type = ref.field.type;
    const get = ref.get;
    if (SPACE_DATETIME_RE.test(text)) {
      // Zuora's trap (docs/aqua.md#literals): the predicate is dropped without an error, the whole table comes back.
      if (this.options.spaceLiteralTrap) return () => true;
      throw syntaxError(`'${text}' is a space-separated datetime literal; write 'YYYY-MM-DDThh:mm:ss' with an offset`);
    }
    if (type === 'datetime') return temporalComparison(get, op, parseTemporal(text, this.options.defaultZone));
    if (type === 'date') {
      const parsed = parseTemporal(text, this.options.defaultZone);
      if (parsed.kind !== 'day' || text.endsWith('Z')) {
        throw syntaxError(`${ref.header} is a date field: compare it with a 'YYYY-MM-DD' literal`);
      }
      return valuePredicate(get, (value) => applyOp(op, compareStrings(String(value), parsed.date)));
    }
    if (NUMERIC.has(type)) {
      if (!DECIMAL_RE.test(text)) throw syntaxError(`'${text}' is not a number (${ref.header} is ${type})`);
      return numberComparison(ref, op, text);
    }
    if (STRINGY.has(type)) return valuePredicate(get, (value) => applyOp(op, compareStrings(String(value), text)));
    throw syntaxError(`${ref.header} is a ${type} field and cannot be compared with '${text}'`);
  }
}

/** A predicate that is unknown (null) when the value is null, else `test(value)`. */
function valuePredicate(get: Getter, test: (value: Exclude<Value, null>) => boolean): Predicate {
  return (rc) => {
    const value = get(rc);
    return value === null ? null : test(value);
  };
}

function nullTest(get: Getter, negate: boolean): Predicate {
  return negate ? (rc) => get(rc) !== null : (rc) => get(rc) === null;
}

/** `= null`, `!= null`, `= true`, `!= false`... */
function wordComparison(ref: FieldRef, op: Op, word: string): Predicate {
  if (word === 'null') {
    if (op !== '=' && op !== '!=') throw syntaxError(`${op} null is not allowed; use IS [NOT] NULL`);
    return nullTest(ref.get, op === '!=');
  }
  if (ref.field.type !== 'boolean') throw syntaxError(`${ref.header} is not a boolean field`);
  if (op !== '=' && op !== '!=') throw syntaxError(`boolean fields only support = and !=`);
  const wanted = word === 'true';
  return valuePredicate(ref.get, (value) => applyOp(op, value === wanted ? 0 : 1));
}

function numberComparison(ref: FieldRef, op: Op, literal: string): Predicate {
  const type = ref.field.type;
  if (!NUMERIC.has(type)) throw syntaxError(`${ref.header} is a ${type} field and cannot be compared with ${literal}`);
  return valuePredicate(ref.get, (value) => applyOp(op, compareDecimal(String(value), literal)));
}

function like(ref: FieldRef, pattern: string): Predicate {
  if (!STRINGY.has(ref.field.type)) throw syntaxError(`LIKE is only allowed on text fields, not ${ref.header}`);
  const percents = pattern.split('%').length - 1;
  if (percents > 1 || (percents === 1 && !pattern.startsWith('%') && !pattern.endsWith('%'))) {
    throw syntaxError(`LIKE pattern '${pattern}' may contain one % only, at its start or end`);
  }
  const source = [...pattern]
    .map((c) => (c === '%' ? '.*' : c === '_' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  const regex = new RegExp(`^${source}$`, 'su');
  return valuePredicate(ref.get, (value) => regex.test(String(value)));
}

function temporalComparison(get: Getter, op: Op, literal: TemporalLiteral): Predicate {
  if (literal.kind === 'instant') {
    const ms = literal.ms;
    return valuePredicate(get, (value) => applyOp(op, Math.sign((value as number) - ms)));
  }
  const range = dayRange(literal.date, literal.zone);
  return valuePredicate(get, (value) => applyOp(op, againstDay(value as number, range)));
}

function fieldToField(left: FieldRef, op: Op, right: FieldRef, zone: string): Predicate {
  const compare = fieldComparator(left, op, right, zone);
  return (rc) => {
    const x = left.get(rc);
    const y = right.get(rc);
    return x === null || y === null ? null : applyOp(op, compare(x, y));
  };
}

type Comparator = (x: Exclude<Value, null>, y: Exclude<Value, null>) => number;

function fieldComparator(left: FieldRef, op: Op, right: FieldRef, zone: string): Comparator {
  const a = left.field.type;
  const b = right.field.type;
  if (NUMERIC.has(a) && NUMERIC.has(b)) return (x, y) => compareDecimal(String(x), String(y));
  if (STRINGY.has(a) && STRINGY.has(b)) return (x, y) => compareStrings(String(x), String(y));
  if (a === 'date' && b === 'date') return (x, y) => compareStrings(String(x), String(y));
  if (a === 'datetime' && b === 'datetime') return (x, y) => Math.sign((x as number) - (y as number));
  if (a === 'datetime' && b === 'date') return (x, y) => againstDay(x as number, dayRange(String(y), zone));
  if (a === 'date' && b === 'datetime') return (x, y) => -againstDay(y as number, dayRange(String(x), zone));
  if (a === 'boolean' && b === 'boolean' && (op === '=' || op === '!=')) return (x, y) => (x === y ? 0 : 1);
  throw syntaxError(`cannot compare ${left.header} (${a}) with ${right.header} (${b}) using ${op}`);
}
