// Export ZOQL for the emulator (reference §8.1-8.5): a tokenizer, a recursive-descent parser that resolves names
// against the tenant schema as it goes, and a lazy evaluator over a snapshot. What the emulator does not
// understand is rejected with 90005 rather than guessed at, so a client bug surfaces as an error, not as wrong data.
// One quirk is reproduced on purpose behind a flag: Zuora silently drops a predicate whose literal is a
// space-separated datetime ('2026-08-01 00:00:00'), returning the whole table (§8.3).

import type {
  CompileOptions,
  CompiledQuery,
  FieldDef,
  FieldType,
  ObjectDef,
  OutputColumn,
  Snapshot,
  StoredRow,
  Tenant,
  Value,
} from './model.ts';
import { ZoqlError } from './model.ts';
import { relationLabel } from './schema.ts';
import { assertZone, dateInZone, wallTimeToEpoch } from './time-zone.ts';

const DAY_MS = 86_400_000;
/** Zuora keeps deleted records for 30 days (reference §6.6). */
export const DELETED_RETENTION_MS = 30 * DAY_MS;

const SYNTAX = 'There is a syntax error in one of the queries in the AQuA input';
const NO_SOURCE = 'The requested data source could not be found';

function syntaxError(detail: string): ZoqlError {
  return new ZoqlError('90005', `${SYNTAX}: ${detail}`);
}

// ---------------------------------------------------------------------------------------------- tokenizer

type TokenKind = 'ident' | 'number' | 'string' | 'quoted' | 'punct' | 'eof';

interface Token {
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
    const start = pos;
    if (/[A-Za-z_]/.test(ch)) {
      while (pos < text.length && /[A-Za-z0-9_]/.test(text[pos] ?? '')) pos++;
      tokens.push({ kind: 'ident', text: text.slice(start, pos), pos: start });
      continue;
    }
    if (/[0-9]/.test(ch)) {
      while (pos < text.length && /[0-9]/.test(text[pos] ?? '')) pos++;
      if (text[pos] === '.' && /[0-9]/.test(text[pos + 1] ?? '')) {
        pos++;
        while (pos < text.length && /[0-9]/.test(text[pos] ?? '')) pos++;
      }
      tokens.push({ kind: 'number', text: text.slice(start, pos), pos: start });
      continue;
    }
    if (ch === "'" || ch === '"') {
      let value = '';
      pos++;
      for (;;) {
        if (pos >= text.length) throw syntaxError(`unterminated ${ch === "'" ? 'string' : 'alias'} at ${start}`);
        const c = text[pos] ?? '';
        if (c === ch) {
          if (text[pos + 1] === ch) {
            value += ch;
            pos += 2;
            continue;
          }
          pos++;
          break;
        }
        value += c;
        pos++;
      }
      tokens.push({ kind: ch === "'" ? 'string' : 'quoted', text: value, pos: start });
      continue;
    }
    const punct = PUNCTUATION.find((p) => text.startsWith(p, pos));
    if (punct === undefined) throw syntaxError(`unexpected character "${ch}" at ${pos}`);
    tokens.push({ kind: 'punct', text: punct, pos: start });
    pos += punct.length;
  }
  tokens.push({ kind: 'eof', text: '', pos: text.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------- values

/** Exact comparison of decimal strings (never through a JS number: 20+ significant digits must survive). */
export function compareDecimal(a: string, b: string): number {
  const parse = (text: string) => {
    const negative = text.startsWith('-');
    const body = negative || text.startsWith('+') ? text.slice(1) : text;
    const [intRaw = '', fracRaw = ''] = body.split('.');
    const int = intRaw.replace(/^0+/, '');
    const frac = fracRaw.replace(/0+$/, '');
    const zero = int === '' && frac === '';
    return { negative: negative && !zero, int, frac };
  };
  const x = parse(a);
  const y = parse(b);
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

const DECIMAL_RE = /^[-+]?\d+(\.\d+)?$/;

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sort order for ORDER BY: nulls first, then by type. */
function compareValues(type: FieldType, a: Value, b: Value): number {
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

// ---------------------------------------------------------------------------------------------- literals

const SPACE_DATETIME_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(Z?)$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?$/;
const RELATIVE_RE = /^\s*(now|today)\b/i;

function validCalendar(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Whole-day range [start, end) of a calendar date in `zone`. */
function dayRange(date: string, zone: string): [number, number] {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  return [
    wallTimeToEpoch(zone, y, m, d),
    wallTimeToEpoch(zone, next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate()),
  ];
}

type TemporalLiteral = { kind: 'instant'; ms: number } | { kind: 'day'; date: string; zone: string };

function parseTemporal(text: string, defaultZone: string): TemporalLiteral {
  if (RELATIVE_RE.test(text)) {
    throw syntaxError(`relative date expression '${text}' is not supported by the emulator; use an ISO literal`);
  }
  const date = DATE_RE.exec(text);
  if (date !== null) {
    const [, y, m, d, z] = date;
    if (!validCalendar(Number(y), Number(m), Number(d))) throw syntaxError(`invalid date '${text}'`);
    return { kind: 'day', date: `${y}-${m}-${d}`, zone: z === 'Z' ? 'UTC' : defaultZone };
  }
  const match = DATETIME_RE.exec(text);
  if (match === null) {
    throw syntaxError(`'${text}' is not a date or datetime literal (use 'YYYY-MM-DDThh:mm:ss±hh:mm')`);
  }
  const [, ys, ms, ds, hs, mins, ss, zone] = match;
  const [y, mo, d, h, mi, s] = [ys, ms, ds, hs, mins, ss ?? '0'].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!validCalendar(y, mo, d) || h > 23 || mi > 59 || s > 59) throw syntaxError(`invalid datetime '${text}'`);
  if (zone === undefined) return { kind: 'instant', ms: wallTimeToEpoch(defaultZone, y, mo, d, h, mi, s) };
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  if (zone === 'Z') return { kind: 'instant', ms: utc };
  const sign = zone.startsWith('-') ? -1 : 1;
  const offset = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  return { kind: 'instant', ms: utc - offset * 60000 };
}

// ---------------------------------------------------------------------------------------------- evaluation

/** Per-row evaluation state: the base row and its joined rows, resolved lazily and at most once. */
interface RowContext {
  base: StoredRow;
  deleted: boolean;
  joined: (StoredRow | null | undefined)[];
  snapshot: Snapshot;
  /** Last parent looked up per join, shared by one rows() call: children of one parent come in runs. */
  lastJoin: JoinCache;
}

interface JoinCache {
  keys: (string | undefined)[];
  rows: (StoredRow | null)[];
}

interface Join {
  name: string;
  target: ObjectDef;
  via: string;
}

type Getter = (rc: RowContext) => Value;
/** Three-valued SQL logic: null = unknown (comparisons with null), excluded like false. */
type Predicate = (rc: RowContext) => boolean | null;

interface FieldRef {
  join: number | undefined;
  field: FieldDef;
  header: string;
  labelHeader: string;
  get: Getter;
}

type Op = '=' | '!=' | '<' | '>' | '<=' | '>=';

function applyOp(op: Op, cmp: number): boolean {
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
function againstDay(ms: number, range: [number, number]): number {
  return ms < range[0] ? -1 : ms >= range[1] ? 1 : 0;
}

const NUMERIC: ReadonlySet<FieldType> = new Set(['decimal', 'integer']);
const STRINGY: ReadonlySet<FieldType> = new Set(['text', 'picklist']);

// ---------------------------------------------------------------------------------------------- functions

const DATE_FUNCTIONS = new Set(['date', 'year', 'month', 'week', 'weekofyear', 'quarter']);
const AGGREGATES = new Set(['avg', 'count', 'max', 'min', 'sum']);

function ymd(value: Value, type: FieldType, zone: string): [number, number, number] | null {
  if (value === null) return null;
  const date = type === 'datetime' ? dateInZone(value as number, zone) : String(value);
  return date.split('-').map(Number) as [number, number, number];
}

/** MySQL WEEK mode 0: weeks start on Sunday, 0-53, week 1 starts at the year's first Sunday. */
function sundayWeek(y: number, m: number, d: number): number {
  const doy = (Date.UTC(y, m - 1, d) - Date.UTC(y, 0, 1)) / DAY_MS;
  const firstSunday = (7 - new Date(Date.UTC(y, 0, 1)).getUTCDay()) % 7;
  return doy < firstSunday ? 0 : Math.floor((doy - firstSunday) / 7) + 1;
}

function isoWeek(y: number, m: number, d: number): number {
  const date = new Date(Date.UTC(y, m - 1, d));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  return Math.ceil(((date.getTime() - yearStart) / DAY_MS + 1) / 7);
}

function applyFunction(name: string, parts: [number, number, number] | null): Value {
  if (parts === null) return null;
  const [y, m, d] = parts;
  switch (name) {
    case 'date':
      return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
    case 'year':
      return String(y);
    case 'month':
      return String(m);
    case 'quarter':
      return String(Math.floor((m - 1) / 3) + 1);
    case 'week':
      return String(sundayWeek(y, m, d));
    default:
      return String(isoWeek(y, m, d));
  }
}

// ---------------------------------------------------------------------------------------------- parser

interface SelectColumn extends OutputColumn {
  get: Getter;
}

interface OrderKey {
  get: Getter;
  type: FieldType;
  descending: boolean;
}

class Parser {
  private index = 0;
  private readonly joins: Join[] = [];
  private base: ObjectDef | undefined;

  constructor(
    private readonly tokens: Token[],
    private readonly tenant: Tenant,
    private readonly options: CompileOptions,
  ) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (this.index < this.tokens.length - 1) this.index++;
    return token;
  }

  private isKeyword(word: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.kind === 'ident' && token.text.toLowerCase() === word;
  }

  private acceptKeyword(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.next();
    return true;
  }

  private expectKeyword(word: string): void {
    if (!this.acceptKeyword(word)) throw syntaxError(`expected ${word.toUpperCase()} ${this.where()}`);
  }

  private isPunct(text: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token.kind === 'punct' && token.text === text;
  }

  private acceptPunct(text: string): boolean {
    if (!this.isPunct(text)) return false;
    this.next();
    return true;
  }

  private expectPunct(text: string): void {
    if (!this.acceptPunct(text)) throw syntaxError(`expected "${text}" ${this.where()}`);
  }

  private where(): string {
    const token = this.peek();
    return token.kind === 'eof' ? 'at end of query' : `at "${token.text}" (position ${token.pos})`;
  }

  private expectIdent(what: string): string {
    const token = this.peek();
    if (token.kind !== 'ident') throw syntaxError(`expected ${what} ${this.where()}`);
    this.next();
    return token.text;
  }

  private get baseObject(): ObjectDef {
    if (this.base === undefined) throw new Error('internal: base object used before FROM was parsed');
    return this.base;
  }

  // ----- name resolution

  private joinIndex(written: string): number {
    const base = this.baseObject;
    const name = Object.keys(base.related).find((rel) => rel.toLowerCase() === written.toLowerCase());
    if (name === undefined) throw new ZoqlError('90005', NO_SOURCE);
    const existing = this.joins.findIndex((join) => join.name === name);
    if (existing >= 0) return existing;
    const relation = base.related[name];
    const target = relation === undefined ? undefined : this.tenant.object(relation.object);
    if (relation === undefined || target === undefined) throw new ZoqlError('90005', NO_SOURCE);
    this.joins.push({ name, target, via: relation.via });
    return this.joins.length - 1;
  }

  private exportableField(object: ObjectDef, written: string, shown: string): FieldDef {
    const field = object.fields.find((f) => f.name.toLowerCase() === written.toLowerCase());
    if (field === undefined || !field.exportable) throw new ZoqlError('90005', `There is no field named ${shown}`);
    return field;
  }

  private fieldRef(first: string, second: string | undefined): FieldRef {
    const base = this.baseObject;
    if (second === undefined || first.toLowerCase() === base.name.toLowerCase()) {
      const written = second ?? first;
      const field = this.exportableField(base, written, written);
      const name = field.name;
      return {
        join: undefined,
        field,
        header: `${base.name}.${name}`,
        labelHeader: `${base.label}: ${field.label}`,
        get: (rc) => rc.base.values[name] ?? null,
      };
    }
    const join = this.joinIndex(first);
    const { name: relName, target } = this.joins[join] as Join;
    const field = this.exportableField(target, second, `${first}.${second}`);
    return this.joinedRef(join, relName, target, field);
  }

  private joinedRef(join: number, relName: string, target: ObjectDef, field: FieldDef): FieldRef {
    const name = field.name;
    const joins = this.joins;
    return {
      join,
      field,
      header: `${relName}.${name}`,
      labelHeader: `${relationLabel(relName, target)}: ${field.label}`,
      get: (rc) => {
        let row = rc.joined[join];
        if (row === undefined) {
          row = null;
          if (!rc.deleted) {
            const { target: object, via } = joins[join] as Join;
            const key = rc.base.values[via];
            if (typeof key === 'string') {
              if (rc.lastJoin.keys[join] === key) {
                row = rc.lastJoin.rows[join] ?? null;
              } else {
                const found = rc.snapshot.get(object.name, key);
                // A parent deleted as of the snapshot joins like a missing one.
                if (found !== undefined && found.deletedAt === undefined) row = found;
                rc.lastJoin.keys[join] = key;
                rc.lastJoin.rows[join] = row;
              }
            }
          }
          rc.joined[join] = row;
        }
        return row === null ? null : (row.values[name] ?? null);
      },
    };
  }

  private parseFieldRef(): FieldRef {
    const first = this.expectIdent('a field name');
    if (this.acceptPunct('.')) return this.fieldRef(first, this.expectIdent('a field name after "."'));
    return this.fieldRef(first, undefined);
  }

  // ----- query

  parse(): CompiledQuery {
    this.expectKeyword('select');
    if (this.isKeyword('distinct')) throw new ZoqlError('90020', 'Invalid Distinct column, without Count function.');
    // The select list names fields of the FROM object, so read it raw first and resolve it after FROM.
    const selectStart = this.index;
    this.skipSelectList();
    this.expectKeyword('from');
    const objectName = this.expectIdent('an object name after FROM');
    const base = this.tenant.object(objectName);
    if (base === undefined) throw new ZoqlError('90005', NO_SOURCE);
    this.base = base;
    const afterFrom = this.index;

    this.index = selectStart;
    const { columns, usesFunctions, usesAliases } = this.parseSelectList();
    this.index = afterFrom;

    let where: Predicate | undefined;
    if (this.acceptKeyword('where')) where = this.parseOr();
    if (this.isKeyword('group') || this.isKeyword('having')) {
      throw syntaxError('GROUP BY and HAVING are not supported by the emulator');
    }
    const order: OrderKey[] = [];
    if (this.acceptKeyword('order')) {
      this.expectKeyword('by');
      do {
        const ref = this.parseFieldRef();
        const descending = this.acceptKeyword('desc');
        if (!descending) this.acceptKeyword('asc');
        order.push({ get: ref.get, type: ref.field.type, descending });
      } while (this.acceptPunct(','));
    }
    let offset = 0;
    let limit = Number.POSITIVE_INFINITY;
    if (this.acceptKeyword('limit')) {
      const first = this.parseCount();
      if (this.acceptPunct(',')) {
        offset = first;
        limit = this.parseCount();
      } else {
        limit = first;
      }
    }
    this.acceptPunct(';');
    if (this.peek().kind !== 'eof') throw syntaxError(`unexpected ${this.where()}`);

    return buildQuery(base, columns, usesFunctions, usesAliases, where, order, offset, limit);
  }

  private parseCount(): number {
    const token = this.next();
    if (token.kind !== 'number' || token.text.includes('.')) {
      throw syntaxError(`LIMIT needs whole numbers, got "${token.text}"`);
    }
    return Number(token.text);
  }

  /** Skips to the FROM that ends the select list (parentheses may nest inside function calls). */
  private skipSelectList(): void {
    let depth = 0;
    for (;;) {
      const token = this.peek();
      if (token.kind === 'eof') throw syntaxError('expected FROM');
      if (depth === 0 && this.isKeyword('from')) return;
      if (this.isPunct('(')) depth++;
      if (this.isPunct(')')) depth--;
      this.next();
    }
  }

  private parseSelectList(): { columns: SelectColumn[]; usesFunctions: boolean; usesAliases: boolean } {
    const columns: SelectColumn[] = [];
    const aliases = new Set<string>();
    let usesFunctions = false;
    let usesAliases = false;
    do {
      if (this.acceptPunct('*')) {
        columns.push(...this.ownColumns(this.baseObject, undefined));
        continue;
      }
      if (this.isKeyword('from')) throw syntaxError(`expected a column ${this.where()}`);
      const first = this.expectIdent('a column');
      if (this.isPunct('.') && this.isPunct('*', 1)) {
        this.next();
        this.next();
        if (first.toLowerCase() === this.baseObject.name.toLowerCase()) {
          columns.push(...this.ownColumns(this.baseObject, undefined));
        } else {
          const join = this.joinIndex(first);
          columns.push(...this.ownColumns((this.joins[join] as Join).target, join));
        }
        continue;
      }
      let column: SelectColumn;
      if (this.acceptPunct('(')) {
        column = this.functionColumn(first);
        usesFunctions = true;
      } else {
        const second = this.acceptPunct('.') ? this.expectIdent('a field name after "."') : undefined;
        const ref = this.fieldRef(first, second);
        column = { header: ref.header, labelHeader: ref.labelHeader, type: ref.field.type, get: ref.get };
      }
      if (this.acceptKeyword('as')) {
        const alias = this.next();
        if (alias.kind !== 'quoted') throw syntaxError(`an alias must be double-quoted ("name") ${this.where()}`);
        // An alias equal to the full column name is ignored (reference §8.1).
        if (alias.text.toLowerCase() !== column.header.toLowerCase()) {
          if (aliases.has(alias.text.toLowerCase())) {
            throw new ZoqlError('90005', `Duplicate column aliases ${alias.text} were defined.`);
          }
          aliases.add(alias.text.toLowerCase());
          column = { ...column, header: alias.text, labelHeader: alias.text };
          usesAliases = true;
        }
      }
      columns.push(column);
    } while (this.acceptPunct(','));
    if (!this.isKeyword('from')) throw syntaxError(`expected "," or FROM ${this.where()}`);
    return { columns, usesFunctions, usesAliases };
  }

  /** `*` and `Rel.*`: the object's exportable fields, foreign keys excluded (they are selected as joins). */
  private ownColumns(object: ObjectDef, join: number | undefined): SelectColumn[] {
    return object.fields
      .filter((f) => f.exportable && f.references === undefined)
      .map((field) => {
        const ref =
          join === undefined
            ? this.fieldRef(field.name, undefined)
            : this.joinedRef(join, (this.joins[join] as Join).name, object, field);
        return { header: ref.header, labelHeader: ref.labelHeader, type: field.type, get: ref.get };
      });
  }

  private functionColumn(written: string): SelectColumn {
    const name = written.toLowerCase();
    if (AGGREGATES.has(name)) {
      throw syntaxError(`aggregate function ${written.toUpperCase()} is not supported by the emulator`);
    }
    if (!DATE_FUNCTIONS.has(name)) throw syntaxError(`unknown function ${written}`);
    const ref = this.parseFieldRef();
    this.expectPunct(')');
    if (ref.field.type !== 'date' && ref.field.type !== 'datetime') {
      throw syntaxError(`${written.toUpperCase()}() needs a date or datetime field, got ${ref.header}`);
    }
    const zone = this.options.defaultZone;
    const type = ref.field.type;
    const upper = name.toUpperCase();
    return {
      header: `${upper}(${ref.header})`,
      labelHeader: `${upper}(${ref.labelHeader})`,
      type: name === 'date' ? 'date' : 'integer',
      get: (rc) => applyFunction(name, ymd(ref.get(rc), type, zone)),
    };
  }

  // ----- WHERE

  private parseOr(): Predicate {
    let left = this.parseAnd();
    while (this.acceptKeyword('or')) {
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
    while (this.acceptKeyword('and')) {
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
    if (this.acceptKeyword('not')) {
      const inner = this.parseNot();
      return (rc) => {
        const x = inner(rc);
        return x === null ? null : !x;
      };
    }
    if (this.acceptPunct('(')) {
      const inner = this.parseOr();
      this.expectPunct(')');
      return inner;
    }
    return this.parseCondition();
  }

  private parseCondition(): Predicate {
    if (this.peek().kind === 'ident' && this.isPunct('(', 1)) {
      throw syntaxError(`functions are not allowed in WHERE ${this.where()}`);
    }
    const ref = this.parseFieldRef();
    if (this.acceptKeyword('is')) {
      const negate = this.acceptKeyword('not');
      this.expectKeyword('null');
      return nullTest(ref.get, negate);
    }
    if (this.acceptKeyword('like')) {
      const pattern = this.next();
      if (pattern.kind !== 'string') throw syntaxError(`LIKE needs a quoted pattern ${this.where()}`);
      return this.like(ref, pattern.text);
    }
    const opToken = this.next();
    if (opToken.kind !== 'punct' || !['=', '!=', '<', '>', '<=', '>='].includes(opToken.text)) {
      throw syntaxError(`expected a comparison operator after ${ref.header}, got "${opToken.text || 'end of query'}"`);
    }
    const op = opToken.text as Op;
    return this.comparison(ref, op);
  }

  private like(ref: FieldRef, pattern: string): Predicate {
    if (!STRINGY.has(ref.field.type)) throw syntaxError(`LIKE is only allowed on text fields, not ${ref.header}`);
    const percents = pattern.split('%').length - 1;
    if (percents > 1 || (percents === 1 && !pattern.startsWith('%') && !pattern.endsWith('%'))) {
      throw syntaxError(`LIKE pattern '${pattern}' may contain one % only, at its start or end`);
    }
    const source = [...pattern]
      .map((c) => (c === '%' ? '.*' : c === '_' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    const regex = new RegExp(`^${source}$`, 'su');
    const get = ref.get;
    return (rc) => {
      const value = get(rc);
      return value === null ? null : regex.test(String(value));
    };
  }

  private comparison(ref: FieldRef, op: Op): Predicate {
    const token = this.peek();
    const type = ref.field.type;
    const get = ref.get;
    if (token.kind === 'ident' && token.text.toLowerCase() === 'timestamp' && this.peek(1).kind === 'string') {
      throw syntaxError('TIMESTAMP literals are not supported; use a quoted ISO 8601 literal');
    }
    if (token.kind === 'ident' && ['null', 'true', 'false'].includes(token.text.toLowerCase())) {
      this.next();
      const word = token.text.toLowerCase();
      if (word === 'null') {
        if (op !== '=' && op !== '!=') throw syntaxError(`${op} null is not allowed; use IS [NOT] NULL`);
        return nullTest(get, op === '!=');
      }
      if (type !== 'boolean') throw syntaxError(`${ref.header} is not a boolean field`);
      if (op !== '=' && op !== '!=') throw syntaxError(`boolean fields only support = and !=`);
      const wanted = word === 'true';
      return (rc) => {
        const value = get(rc);
        return value === null ? null : applyOp(op, value === wanted ? 0 : 1);
      };
    }
    if (token.kind === 'ident') {
      const other = this.parseFieldRef();
      return this.fieldToField(ref, op, other);
    }
    let numberText: string | undefined;
    if (token.kind === 'number' || (token.kind === 'punct' && (token.text === '-' || token.text === '+'))) {
      const sign = token.kind === 'punct' ? this.next().text : '';
      const number = this.next();
      if (number.kind !== 'number') throw syntaxError(`expected a number after "${sign}"`);
      numberText = `${sign === '-' ? '-' : ''}${number.text}`;
    } else if (token.kind === 'string') {
      this.next();
      const text = token.text;
      if (SPACE_DATETIME_RE.test(text)) {
        // Zuora's trap (§8.3): the predicate is dropped without an error and the whole table comes back.
        if (this.options.spaceLiteralTrap) return () => true;
        throw syntaxError(
          `'${text}' is a space-separated datetime literal; write 'YYYY-MM-DDThh:mm:ss' with an offset`,
        );
      }
      if (type === 'datetime') return this.temporalComparison(get, op, parseTemporal(text, this.options.defaultZone));
      if (type === 'date') {
        const parsed = parseTemporal(text, this.options.defaultZone);
        if (parsed.kind !== 'day' || text.endsWith('Z')) {
          throw syntaxError(`${ref.header} is a date field: compare it with a 'YYYY-MM-DD' literal`);
        }
        return (rc) => {
          const value = get(rc);
          return value === null ? null : applyOp(op, compareStrings(String(value), parsed.date));
        };
      }
      if (NUMERIC.has(type)) {
        if (!DECIMAL_RE.test(text)) throw syntaxError(`'${text}' is not a number (${ref.header} is ${type})`);
        numberText = text;
      } else if (STRINGY.has(type)) {
        return (rc) => {
          const value = get(rc);
          return value === null ? null : applyOp(op, compareStrings(String(value), text));
        };
      } else {
        throw syntaxError(`${ref.header} is a ${type} field and cannot be compared with '${text}'`);
      }
    } else {
      throw syntaxError(`expected a value after ${op} ${this.where()}`);
    }
    if (!NUMERIC.has(type)) {
      throw syntaxError(`${ref.header} is a ${type} field and cannot be compared with ${numberText}`);
    }
    const literal = numberText;
    return (rc) => {
      const value = get(rc);
      return value === null ? null : applyOp(op, compareDecimal(String(value), literal));
    };
  }

  private temporalComparison(get: Getter, op: Op, literal: TemporalLiteral): Predicate {
    if (literal.kind === 'instant') {
      const ms = literal.ms;
      return (rc) => {
        const value = get(rc);
        return value === null ? null : applyOp(op, Math.sign((value as number) - ms));
      };
    }
    const range = dayRange(literal.date, literal.zone);
    return (rc) => {
      const value = get(rc);
      return value === null ? null : applyOp(op, againstDay(value as number, range));
    };
  }

  private fieldToField(left: FieldRef, op: Op, right: FieldRef): Predicate {
    const a = left.field.type;
    const b = right.field.type;
    const zone = this.options.defaultZone;
    let compare: (x: Value, y: Value) => number;
    if (NUMERIC.has(a) && NUMERIC.has(b)) compare = (x, y) => compareDecimal(String(x), String(y));
    else if (STRINGY.has(a) && STRINGY.has(b)) compare = (x, y) => compareStrings(String(x), String(y));
    else if (a === 'date' && b === 'date') compare = (x, y) => compareStrings(String(x), String(y));
    else if (a === 'datetime' && b === 'datetime') compare = (x, y) => Math.sign((x as number) - (y as number));
    else if (a === 'datetime' && b === 'date') compare = (x, y) => againstDay(x as number, dayRange(String(y), zone));
    else if (a === 'date' && b === 'datetime') compare = (x, y) => -againstDay(y as number, dayRange(String(x), zone));
    else if (a === 'boolean' && b === 'boolean' && (op === '=' || op === '!=')) compare = (x, y) => (x === y ? 0 : 1);
    else throw syntaxError(`cannot compare ${left.header} (${a}) with ${right.header} (${b}) using ${op}`);
    return (rc) => {
      const x = left.get(rc);
      const y = right.get(rc);
      return x === null || y === null ? null : applyOp(op, compare(x, y));
    };
  }
}

function nullTest(get: Getter, negate: boolean): Predicate {
  return negate ? (rc) => get(rc) !== null : (rc) => get(rc) === null;
}

// ---------------------------------------------------------------------------------------------- execution

function buildQuery(
  base: ObjectDef,
  selected: SelectColumn[],
  usesFunctions: boolean,
  usesAliases: boolean,
  where: Predicate | undefined,
  order: OrderKey[],
  offset: number,
  limit: number,
): CompiledQuery {
  const getters = selected.map((column) => column.get);
  const columns: OutputColumn[] = selected.map(({ header, labelHeader, type }) => ({ header, labelHeader, type }));

  function context(snapshot: Snapshot, row: StoredRow, lastJoin: JoinCache): RowContext {
    return { base: row, deleted: row.deletedAt !== undefined, joined: [], snapshot, lastJoin };
  }

  function* matching(
    snapshot: Snapshot,
    options: { window?: { since: number; until: number }; includeDeleted: boolean },
  ): Generator<RowContext> {
    const oldestDeletion = snapshot.at - DELETED_RETENTION_MS;
    const window = options.window;
    const lastJoin: JoinCache = { keys: [], rows: [] };
    for (const row of snapshot.scan(base.name)) {
      if (row.deletedAt !== undefined && (!options.includeDeleted || row.deletedAt < oldestDeletion)) continue;
      if (window !== undefined && (row.updatedAt < window.since || row.updatedAt >= window.until)) continue;
      const rc = context(snapshot, row, lastJoin);
      if (where !== undefined && where(rc) !== true) continue;
      yield rc;
    }
  }

  /** ORDER BY needs every match before the first row: keep only ids and sort keys, never whole rows. */
  function* sorted(snapshot: Snapshot, source: Iterable<RowContext>): Generator<RowContext> {
    const ids: string[] = [];
    const keys: Value[][] = order.map(() => []);
    const lastJoin: JoinCache = { keys: [], rows: [] };
    for (const rc of source) {
      ids.push(rc.base.values.Id as string);
      order.forEach((key, k) => (keys[k] as Value[]).push(key.get(rc)));
    }
    const permutation = Array.from(ids.keys());
    permutation.sort((x, y) => {
      for (let k = 0; k < order.length; k++) {
        const key = order[k] as OrderKey;
        const column = keys[k] as Value[];
        const cmp = compareValues(key.type, column[x] ?? null, column[y] ?? null);
        if (cmp !== 0) return key.descending ? -cmp : cmp;
      }
      return x - y;
    });
    for (const position of permutation) {
      const row = snapshot.get(base.name, ids[position] as string);
      if (row === undefined) throw new Error(`internal: ${base.name} ${ids[position]} vanished from its snapshot`);
      yield context(snapshot, row, lastJoin);
    }
  }

  return {
    baseObject: base.name,
    columns,
    usesFunctions,
    usesAliases,
    *rows(snapshot, options) {
      const source = matching(snapshot, options);
      const ordered = order.length > 0 ? sorted(snapshot, source) : source;
      let skipped = 0;
      let emitted = 0;
      if (emitted >= limit) return;
      for (const rc of ordered) {
        if (skipped < offset) {
          skipped++;
          continue;
        }
        yield { values: getters.map((get) => get(rc)), deleted: rc.deleted };
        emitted++;
        if (emitted >= limit) return;
      }
    },
  };
}

/**
 * Compiles one Export ZOQL query against the tenant's schema. Throws ZoqlError('90005') for anything outside the
 * supported subset, an unknown object or relationship, or a field that is unknown or not exportable.
 */
export function compileQuery(text: string, tenant: Tenant, options: CompileOptions): CompiledQuery {
  assertZone(options.defaultZone);
  if (text.length > 20_000) throw syntaxError('the query is longer than 20,000 characters');
  return new Parser(tokenize(text), tenant, options).parse();
}
