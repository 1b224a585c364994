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
  const t = tokenize(sql.trim());
  let p = 0;
  const peek = (): Token | undefined => t[p];
  const isKw = (kw: string): boolean => peek()?.kind === 'ident' && peek()?.text.toLowerCase() === kw;
  const expectKw = (kw: string): void => {
    if (!isKw(kw)) throw new SqlError(`line 1: mismatched input '${peek()?.text ?? '<EOF>'}'. Expecting: '${kw.toUpperCase()}'`);
    p++;
  };
  const expectPunct = (c: string): void => {
    if (peek()?.text !== c) throw new SqlError(`line 1: mismatched input '${peek()?.text ?? '<EOF>'}'. Expecting: '${c}'`);
    p++;
  };
  const ident = (): string => {
    const tok = peek();
    if (tok?.kind !== 'ident') throw new SqlError(`line 1: mismatched input '${tok?.text ?? '<EOF>'}'. Expecting: <identifier>`);
    p++;
    const parts = tok.text.split('.');
    return (parts[parts.length - 1] ?? tok.text).toLowerCase();
  };
  const alias = (fallback: string): string => {
    if (isKw('as')) {
      p++;
      return ident();
    }
    return fallback;
  };

  expectKw('select');
  const items: SelectItem[] = [];
  let unnamed = 0;
  do {
    if (items.length > 0) p++;
    if (peek()?.text === '*') {
      p++;
      items.push({ kind: 'star' });
    } else if (isKw('count')) {
      p++;
      expectPunct('(');
      expectPunct('*');
      expectPunct(')');
      items.push({ kind: 'count', alias: alias(`_col${unnamed++}`) });
    } else if (isKw('date') && t[p + 1]?.text === '(') {
      p += 2;
      let zone: string | undefined;
      let field: string;
      if (isKw('at_timezone') && t[p + 1]?.text === '(') {
        p += 2;
        field = ident();
        expectPunct(',');
        const z = peek();
        if (z?.kind !== 'string') throw new SqlError(`line 1: mismatched input '${z?.text ?? '<EOF>'}'. Expecting: <string>`);
        zone = z.text;
        p++;
        expectPunct(')');
      } else field = ident();
      expectPunct(')');
      items.push({ kind: 'date', field, alias: alias(`_col${unnamed++}`), zone });
    } else {
      const field = ident();
      items.push({ kind: 'column', field, alias: alias(field) });
    }
  } while (peek()?.text === ',');
  expectKw('from');
  const table = ident();
  const where: Condition[] = [];
  if (isKw('where')) {
    p++;
    do {
      if (where.length > 0) p++;
      const field = ident();
      const opTok = peek();
      if (opTok?.kind !== 'op') throw new SqlError(`line 1: mismatched input '${opTok?.text ?? '<EOF>'}'. Expecting: <operator>`);
      p++;
      const op = (opTok.text === '<>' ? '!=' : opTok.text) as Condition['op'];
      let literal: Value;
      let literalText: string | undefined;
      const lit = peek();
      if (lit?.kind === 'string') literal = lit.text;
      else if (lit?.kind === 'number') literal = Number(lit.text);
      else if (lit?.kind === 'ident' && ['true', 'false'].includes(lit.text.toLowerCase())) literal = lit.text.toLowerCase() === 'true';
      else if (lit?.kind === 'ident' && ['timestamp', 'date'].includes(lit.text.toLowerCase()) && t[p + 1]?.kind === 'string') {
        p++;
        literalText = t[p]?.text;
        literal = literalText ?? null;
      } else throw new SqlError(`line 1: mismatched input '${lit?.text ?? '<EOF>'}'. Expecting: <literal>`);
      p++;
      where.push({ field, op, literal, literalText });
    } while (isKw('and'));
  }
  let groupBy = false;
  if (isKw('group')) {
    p++;
    expectKw('by');
    groupBy = true;
    // Grouping follows the non-aggregate select items; the listed expressions are only skipped over.
    while (peek() !== undefined && !isKw('order') && !isKw('limit')) p++;
  }
  let orderBy: SqlPlan['orderBy'];
  if (isKw('order')) {
    p++;
    expectKw('by');
    // An ordinal (`order by 1`) is kept as `#1`; aggregates sort their output by alias or ordinal.
    const n = peek();
    const field = n?.kind === 'number' ? `#${(p++, n.text)}` : ident();
    let desc = false;
    if (isKw('asc')) p++;
    else if (isKw('desc')) {
      p++;
      desc = true;
    }
    orderBy = { field, desc };
  }
  let limit: number | undefined;
  if (isKw('limit')) {
    p++;
    const n = peek();
    if (n?.kind !== 'number') throw new SqlError(`line 1: mismatched input '${n?.text ?? '<EOF>'}'. Expecting: <integer>`);
    limit = Number(n.text);
    p++;
  }
  if (p < t.length) throw new SqlError(`line 1: extraneous input '${t[p]?.text ?? ''}'`);
  if (!groupBy && items.some((i) => i.kind === 'count') && items.some((i) => i.kind !== 'count')) {
    throw new SqlError("'count(*)' must be an aggregate expression or appear in GROUP BY clause");
  }
  return { table, items, where, groupBy, orderBy, limit };
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

/** Evaluates the plan against a snapshot. `dateOf` gives a datetime's calendar date in the tenant zone. */
export function executeSql(
  plan: SqlPlan,
  tenant: Tenant,
  snapshot: Snapshot,
  options: {
    readDeleted: boolean;
    zone: string;
    dateOf: (ms: number) => string;
    /** Calendar date of a datetime in an explicit zone (at_timezone); throws SqlError for an unknown zone. */
    dateOfIn?: (ms: number, zone: string) => string;
    /** Deleted rows older than this (epoch ms) are gone: Zuora keeps deleted data 30 days. */
    deletedSince?: number;
  },
): SqlResult {
  const object = tenant.object(plan.table);
  if (object === undefined) throw new SqlError(`Table owl.data.${plan.table} does not exist`);
  const conds = plan.where.map((c) => {
    const f = field(object, c.field);
    return { f, op: c.op, literal: coerceLiteral(f, c, options.zone) };
  });
  const items = plan.items.flatMap((i): Exclude<SelectItem, { kind: 'star' }>[] =>
    i.kind === 'star'
      ? object.fields.filter((f) => f.exportable).map((f) => ({ kind: 'column', field: f.name.toLowerCase(), alias: f.name.toLowerCase() }))
      : [i],
  );
  const resolved = items.map((i) => ({ item: i, f: i.kind === 'count' ? undefined : field(object, i.field) }));
  const fields: OutputField[] = resolved.map(({ item, f }) => ({
    name: item.alias,
    type: item.kind === 'count' ? 'count' : item.kind === 'date' ? 'date' : (f?.type ?? 'text'),
  }));
  const aggregate = items.some((i) => i.kind === 'count');
  const orderField = plan.orderBy === undefined || aggregate ? undefined : field(object, plan.orderBy.field);
  if (options.dateOfIn !== undefined) {
    for (const i of items) if (i.kind === 'date' && i.zone !== undefined) options.dateOfIn(0, i.zone); // validates the zone
  }

  function* matching(): Iterable<StoredRow> {
    for (const row of snapshot.scan(object!.name)) {
      const deleted = row.deletedAt !== undefined;
      if (deleted !== options.readDeleted) continue;
      if (deleted && options.deletedSince !== undefined && (row.deletedAt ?? 0) < options.deletedSince) continue;
      let ok = true;
      for (const c of conds) {
        const cmp = compare(numeric(c.f, row.values[c.f.name] ?? null), c.literal);
        const pass =
          c.op === '=' ? cmp === 0 : c.op === '!=' ? cmp !== 0 && !Number.isNaN(cmp) : c.op === '<' ? cmp < 0 : c.op === '<=' ? cmp <= 0 : c.op === '>' ? cmp > 0 : cmp >= 0;
        if (!pass) {
          ok = false;
          break;
        }
      }
      if (ok) yield row;
    }
  }
  const project = (row: StoredRow): Value[] =>
    resolved.map(({ item, f }) => {
      if (f === undefined) return null;
      const v = row.values[f.name] ?? null;
      if (item.kind === 'date') {
        if (typeof v !== 'number') return v;
        return item.zone === undefined || options.dateOfIn === undefined ? options.dateOf(v) : options.dateOfIn(v, item.zone);
      }
      return numeric(f, v);
    });

  let rows: Iterable<Value[]>;
  if (aggregate) {
    const groups = new Map<string, { key: Value[]; count: number }>();
    for (const row of matching()) {
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
    if (plan.orderBy !== undefined) {
      const by = plan.orderBy.field;
      const index = by.startsWith('#') ? Number(by.slice(1)) - 1 : fields.findIndex((f) => f.name === by);
      if (index < 0 || index >= fields.length) throw new SqlError(`Column '${by}' cannot be resolved`);
      const desc = plan.orderBy.desc;
      out.sort((a, b) => {
        const c = compare(a[index] ?? null, b[index] ?? null);
        return (Number.isNaN(c) ? 0 : c) * (desc ? -1 : 1);
      });
    }
    rows = out;
  } else if (orderField !== undefined) {
    const sorted = [...matching()].sort((a, b) => {
      const c = compare(numeric(orderField, a.values[orderField.name] ?? null), numeric(orderField, b.values[orderField.name] ?? null));
      return (Number.isNaN(c) ? 0 : c) * (plan.orderBy?.desc === true ? -1 : 1);
    });
    rows = sorted.map(project);
  } else {
    rows = (function* () {
      for (const row of matching()) yield project(row);
    })();
  }
  if (plan.limit !== undefined) rows = take(rows, plan.limit);
  return { fields, rows };
}

function* take<T>(rows: Iterable<T>, n: number): Iterable<T> {
  if (n <= 0) return;
  let i = 0;
  for (const r of rows) {
    yield r;
    if (++i >= n) return;
  }
}
