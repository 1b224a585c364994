// The small SQL subset the emulated Data Query API understands (pure: text -> plan, plan + snapshot -> rows):
//   select count(*) [, date(updateddate) | date(at_timezone(updateddate, 'UTC')) [as d]] from <table> [where ...]
//     [group by ...] [order by <alias> | <ordinal>]
//   select id from <table> where id > '<x>' order by id limit N
//   select <cols> | * from <table> [where a op literal [and ...]] [order by col [asc|desc]] [limit N]
import type { FieldDef, ObjectDef, Snapshot, StoredRow, Tenant, Value } from './model.ts';
import { parseWallTime } from './time.ts';

export class SqlError extends Error {}

type Token = { kind: 'ident' | 'string' | 'number' | 'op' | 'punct'; text: string };

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s+|(<>|!=|<=|>=|=|<|>)|([(),*;])|'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_$.]*|"[^"]+")/y;
  let i = 0;
  while (i < sql.length) {
    re.lastIndex = i;
    const m = re.exec(sql);
    if (m === null) throw new SqlError(`line 1:${i + 1}: mismatched input '${sql.slice(i, i + 10)}'`);
    i = re.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: 'op', text: m[1] });
    else if (m[2] !== undefined) tokens.push({ kind: 'punct', text: m[2] });
    else if (m[3] !== undefined) tokens.push({ kind: 'string', text: m[3].replace(/''/g, "'") });
    else if (m[4] !== undefined) tokens.push({ kind: 'number', text: m[4] });
    else if (m[5] !== undefined) tokens.push({ kind: 'ident', text: m[5].replace(/^"|"$/g, '') });
  }
  return tokens.filter((t) => !(t.kind === 'punct' && t.text === ';'));
}

export type SelectItem =
  | { kind: 'count'; alias: string }
  /** `date(col)`: the calendar date in the tenant zone, or in `zone` for `date(at_timezone(col, 'zone'))`. */
  | { kind: 'date'; field: string; alias: string; zone: string | undefined }
  | { kind: 'column'; field: string; alias: string }
  | { kind: 'star' };

export interface Condition {
  field: string;
  op: '=' | '!=' | '<' | '<=' | '>' | '>=';
  literal: Value;
  /** `timestamp '...'` or `date '...'` literal text, resolved against the column type at run time. */
  literalText: string | undefined;
}

export interface SqlPlan {
  table: string;
  items: SelectItem[];
  where: Condition[];
  groupBy: boolean;
  orderBy: { field: string; desc: boolean } | undefined;
  limit: number | undefined;
}

export function parseSql(sql: string): SqlPlan {
  return new SqlParser(tokenize(sql.trim())).parse();
}

/** Trino-style messages: `line 1: mismatched input 'x'. Expecting: ...`. */
function mismatched(token: Token | undefined, expecting: string): SqlError {
  return new SqlError(`line 1: mismatched input '${token?.text ?? '<EOF>'}'. Expecting: ${expecting}`);
}

class SqlParser {
  private p = 0;

  constructor(private readonly t: Token[]) {}

  parse(): SqlPlan {
    this.expectKw('select');
    const items = this.selectItems();
    this.expectKw('from');
    const table = this.ident();
    const where = this.acceptKw('where') ? this.conditions() : [];
    const groupBy = this.groupBy();
    const orderBy = this.orderBy();
    const limit = this.limit();
    if (this.p < this.t.length) throw new SqlError(`line 1: extraneous input '${this.t[this.p]?.text ?? ''}'`);
    if (!groupBy && items.some((i) => i.kind === 'count') && items.some((i) => i.kind !== 'count')) {
      throw new SqlError("'count(*)' must be an aggregate expression or appear in GROUP BY clause");
    }
    return { table, items, where, groupBy, orderBy, limit };
  }

  private peek(offset = 0): Token | undefined {
    return this.t[this.p + offset];
  }

  private isKw(kw: string): boolean {
    const token = this.peek();
    return token?.kind === 'ident' && token.text.toLowerCase() === kw;
  }

  private acceptKw(kw: string): boolean {
    if (!this.isKw(kw)) return false;
    this.p++;
    return true;
  }

  private expectKw(kw: string): void {
    if (!this.acceptKw(kw)) throw mismatched(this.peek(), `'${kw.toUpperCase()}'`);
  }

  private expectPunct(c: string): void {
    if (this.peek()?.text !== c) throw mismatched(this.peek(), `'${c}'`);
    this.p++;
  }

  /** A column or table name, lower-cased, without any qualifier (`owl.data.account` -> `account`). */
  private ident(): string {
    const tok = this.peek();
    if (tok?.kind !== 'ident') throw mismatched(tok, '<identifier>');
    this.p++;
    const parts = tok.text.split('.');
    return (parts[parts.length - 1] ?? tok.text).toLowerCase();
  }

  private alias(fallback: string): string {
    return this.acceptKw('as') ? this.ident() : fallback;
  }

  private selectItems(): SelectItem[] {
    const items: SelectItem[] = [];
    let unnamed = 0;
    const unnamedAlias = (): string => this.alias(`_col${unnamed++}`);
    do {
      items.push(this.selectItem(unnamedAlias));
    } while (this.acceptPunct(','));
    return items;
  }

  private acceptPunct(c: string): boolean {
    if (this.peek()?.text !== c) return false;
    this.p++;
    return true;
  }

  private selectItem(unnamedAlias: () => string): SelectItem {
    if (this.acceptPunct('*')) return { kind: 'star' };
    if (this.acceptKw('count')) {
      this.expectPunct('(');
      this.expectPunct('*');
      this.expectPunct(')');
      return { kind: 'count', alias: unnamedAlias() };
    }
    if (this.isKw('date') && this.peek(1)?.text === '(') {
      this.p += 2;
      const { field, zone } = this.dateArgument();
      this.expectPunct(')');
      return { kind: 'date', field, alias: unnamedAlias(), zone };
    }
    const field = this.ident();
    return { kind: 'column', field, alias: this.alias(field) };
  }

  /** The argument of `date(...)`: a column, or `at_timezone(column, 'zone')`. */
  private dateArgument(): { field: string; zone: string | undefined } {
    if (!(this.isKw('at_timezone') && this.peek(1)?.text === '(')) return { field: this.ident(), zone: undefined };
    this.p += 2;
    const field = this.ident();
    this.expectPunct(',');
    const z = this.peek();
    if (z?.kind !== 'string') throw mismatched(z, '<string>');
    this.p++;
    this.expectPunct(')');
    return { field, zone: z.text };
  }

  /** `a op literal [and b op literal ...]`. */
  private conditions(): Condition[] {
    const where: Condition[] = [];
    do {
      const field = this.ident();
      const opTok = this.peek();
      if (opTok?.kind !== 'op') throw mismatched(opTok, '<operator>');
      this.p++;
      const op = (opTok.text === '<>' ? '!=' : opTok.text) as Condition['op'];
      where.push({ field, op, ...this.literal() });
    } while (this.acceptKw('and'));
    return where;
  }

  private literal(): Pick<Condition, 'literal' | 'literalText'> {
    const lit = this.peek();
    let literal: Value;
    let literalText: string | undefined;
    const word = lit?.kind === 'ident' ? lit.text.toLowerCase() : undefined;
    if (lit?.kind === 'string') literal = lit.text;
    else if (lit?.kind === 'number') literal = Number(lit.text);
    else if (word === 'true' || word === 'false') literal = word === 'true';
    else if ((word === 'timestamp' || word === 'date') && this.peek(1)?.kind === 'string') {
      this.p++;
      literalText = this.peek()?.text;
      literal = literalText ?? null;
    } else throw mismatched(lit, '<literal>');
    this.p++;
    return { literal, literalText };
  }

  private groupBy(): boolean {
    if (!this.acceptKw('group')) return false;
    this.expectKw('by');
    // Grouping follows the non-aggregate select items; the listed expressions are only skipped over.
    while (this.peek() !== undefined && !this.isKw('order') && !this.isKw('limit')) this.p++;
    return true;
  }

  private orderBy(): SqlPlan['orderBy'] {
    if (!this.acceptKw('order')) return undefined;
    this.expectKw('by');
    // An ordinal (`order by 1`) is kept as `#1`; aggregates sort their output by alias or ordinal.
    const n = this.peek();
    const field = n?.kind === 'number' ? `#${(this.p++, n.text)}` : this.ident();
    const desc = !this.acceptKw('asc') && this.acceptKw('desc');
    return { field, desc };
  }

  private limit(): number | undefined {
    if (!this.acceptKw('limit')) return undefined;
    const n = this.peek();
    if (n?.kind !== 'number') throw mismatched(n, '<integer>');
    this.p++;
    return Number(n.text);
  }
}

export interface OutputField {
  name: string;
  /** How to turn a row into this output value. */
  type: FieldDef['type'] | 'count';
}

export interface SqlResult {
  fields: OutputField[];
  rows: Iterable<Value[]>;
}

function field(object: ObjectDef, name: string): FieldDef {
  const f = object.fields.find((x) => x.name.toLowerCase() === name);
  if (f === undefined) throw new SqlError(`Column '${name}' cannot be resolved`);
  return f;
}

function compare(a: Value, b: Value): number {
  if (a === null || b === null) return Number.NaN;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' || typeof b === 'boolean') return a === b ? 0 : Number.NaN;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function coerceLiteral(f: FieldDef, c: Condition, zone: string): Value {
  if (c.literal === null) return null;
  switch (f.type) {
    case 'decimal':
    case 'integer':
      return Number(c.literal);
    case 'datetime': {
      if (typeof c.literal === 'number') return c.literal;
      const text = String(c.literal);
      // Trino takes a zone suffix as an offset or as `UTC` (what Python's `%Z` prints for a UTC datetime).
      const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$/i.exec(text);
      if (m === null) throw new SqlError(`Value cannot be cast to timestamp: ${text}`);
      const wall = `${m[1]} ${m[2] ?? '00:00:00'}`;
      if (m[3] === undefined) {
        const t = parseWallTime(wall, zone);
        if (t === undefined) throw new SqlError(`Value cannot be cast to timestamp: ${text}`);
        return t;
      }
      const offset = /^(?:z|utc)$/i.test(m[3]) ? 'Z' : m[3].replace(/^([+-]\d{2}):?(\d{2})$/, '$1:$2');
      const t = Date.parse(`${m[1]}T${m[2] ?? '00:00:00'}${offset}`);
      if (Number.isNaN(t)) throw new SqlError(`Value cannot be cast to timestamp: ${text}`);
      return t;
    }
    case 'boolean':
      return typeof c.literal === 'boolean' ? c.literal : String(c.literal).toLowerCase() === 'true';
    default:
      return String(c.literal);
  }
}

function numeric(f: FieldDef, v: Value): Value {
  return (f.type === 'decimal' || f.type === 'integer') && typeof v === 'string' ? Number(v) : v;
}

export interface ExecuteOptions {
  readDeleted: boolean;
  zone: string;
  dateOf: (ms: number) => string;
  /** Calendar date of a datetime in an explicit zone (at_timezone); throws SqlError for an unknown zone. */
  dateOfIn?: (ms: number, zone: string) => string;
  /** Deleted rows older than this (epoch ms) are gone: Zuora keeps deleted data 30 days. */
  deletedSince?: number;
}

type OutputItem = Exclude<SelectItem, { kind: 'star' }>;

/** The plan resolved against the table's fields: conditions with typed literals, output items and their fields. */
interface Resolved {
  object: ObjectDef;
  conds: { f: FieldDef; op: Condition['op']; literal: Value }[];
  items: OutputItem[];
  columns: { item: OutputItem; f: FieldDef | undefined }[];
  fields: OutputField[];
  aggregate: boolean;
}

/** Evaluates the plan against a snapshot. `dateOf` gives a datetime's calendar date in the tenant zone. */
export function executeSql(plan: SqlPlan, tenant: Tenant, snapshot: Snapshot, options: ExecuteOptions): SqlResult {
  const r = resolvePlan(plan, tenant, options);
  const orderField = plan.orderBy === undefined || r.aggregate ? undefined : field(r.object, plan.orderBy.field);
  if (options.dateOfIn !== undefined) {
    for (const i of r.items) if (i.kind === 'date' && i.zone !== undefined) options.dateOfIn(0, i.zone); // validates the zone
  }
  const matching = (): Iterable<StoredRow> => matchingRows(r, snapshot, options);
  const project = (row: StoredRow): Value[] => projectRow(r, row, options);
  let rows: Iterable<Value[]>;
  if (r.aggregate) {
    rows = aggregateRows(plan, r, matching(), project);
  } else if (orderField !== undefined) {
    const desc = plan.orderBy?.desc === true;
    const key = (row: StoredRow): Value => numeric(orderField, row.values[orderField.name] ?? null);
    const sorted = [...matching()].sort((a, b) => {
      const c = compare(key(a), key(b));
      return (Number.isNaN(c) ? 0 : c) * (desc ? -1 : 1);
    });
    rows = sorted.map(project);
  } else {
    rows = (function* () {
      for (const row of matching()) yield project(row);
    })();
  }
  if (plan.limit !== undefined) rows = take(rows, plan.limit);
  return { fields: r.fields, rows };
}

function resolvePlan(plan: SqlPlan, tenant: Tenant, options: ExecuteOptions): Resolved {
  const object = tenant.object(plan.table);
  if (object === undefined) throw new SqlError(`Table owl.data.${plan.table} does not exist`);
  const conds = plan.where.map((c) => {
    const f = field(object, c.field);
    return { f, op: c.op, literal: coerceLiteral(f, c, options.zone) };
  });
  const items = plan.items.flatMap((i): OutputItem[] =>
    i.kind === 'star'
      ? object.fields.filter((f) => f.exportable).map((f) => ({ kind: 'column', field: f.name.toLowerCase(), alias: f.name.toLowerCase() }))
      : [i],
  );
  const columns = items.map((i) => ({ item: i, f: i.kind === 'count' ? undefined : field(object, i.field) }));
  const fields: OutputField[] = columns.map(({ item, f }) => ({
    name: item.alias,
    type: item.kind === 'count' ? 'count' : item.kind === 'date' ? 'date' : (f?.type ?? 'text'),
  }));
  const aggregate = items.some((i) => i.kind === 'count');
  return { object, conds, items, columns, fields, aggregate };
}

function* matchingRows(r: Resolved, snapshot: Snapshot, options: ExecuteOptions): Iterable<StoredRow> {
  for (const row of snapshot.scan(r.object.name)) {
    const deleted = row.deletedAt !== undefined;
    if (deleted !== options.readDeleted) continue;
    if (deleted && options.deletedSince !== undefined && (row.deletedAt ?? 0) < options.deletedSince) continue;
    if (r.conds.every((c) => passes(c.op, compare(numeric(c.f, row.values[c.f.name] ?? null), c.literal)))) yield row;
  }
}

function passes(op: Condition['op'], cmp: number): boolean {
  return op === '=' ? cmp === 0 : op === '!=' ? cmp !== 0 && !Number.isNaN(cmp) : op === '<' ? cmp < 0 : op === '<=' ? cmp <= 0 : op === '>' ? cmp > 0 : cmp >= 0;
}

function projectRow(r: Resolved, row: StoredRow, options: ExecuteOptions): Value[] {
  return r.columns.map(({ item, f }) => {
    if (f === undefined) return null;
    const v = row.values[f.name] ?? null;
    if (item.kind === 'date') {
      if (typeof v !== 'number') return v;
      return item.zone === undefined || options.dateOfIn === undefined ? options.dateOf(v) : options.dateOfIn(v, item.zone);
    }
    return numeric(f, v);
  });
}

/** count(*) per group of the other select items (one group of zero rows without GROUP BY), then ORDER BY. */
function aggregateRows(plan: SqlPlan, r: Resolved, rows: Iterable<StoredRow>, project: (row: StoredRow) => Value[]): Value[][] {
  const { items, fields } = r;
  const groups = new Map<string, { key: Value[]; count: number }>();
  for (const row of rows) {
    const values = project(row);
    const key = values.filter((_, i) => items[i]?.kind !== 'count');
    const k = JSON.stringify(key);
    const g = groups.get(k) ?? { key, count: 0 };
    g.count++;
    groups.set(k, g);
  }
  if (groups.size === 0 && !plan.groupBy) groups.set('[]', { key: [], count: 0 });
  const out = [...groups.values()].map((g) => {
    let k = 0;
    return items.map((i) => (i.kind === 'count' ? g.count : (g.key[k++] ?? null)));
  });
  if (plan.orderBy === undefined) return out;
  const by = plan.orderBy.field;
  const index = by.startsWith('#') ? Number(by.slice(1)) - 1 : fields.findIndex((f) => f.name === by);
  if (index < 0 || index >= fields.length) throw new SqlError(`Column '${by}' cannot be resolved`);
  const desc = plan.orderBy.desc;
  return out.sort((a, b) => {
    const c = compare(a[index] ?? null, b[index] ?? null);
    return (Number.isNaN(c) ? 0 : c) * (desc ? -1 : 1);
  });
}

function* take<T>(rows: Iterable<T>, n: number): Iterable<T> {
  if (n <= 0) return;
  let i = 0;
  for (const r of rows) {
    yield r;
    if (++i >= n) return;
  }
}
