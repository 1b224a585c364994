// Export ZOQL text: the query per object, the UpdatedDate window for stateless backfills, and a small top-level
// clause scanner (string literals, quoted aliases and parentheses skipped) so user queries can be inspected.
import type { ObjectConfig } from '../config/types.ts';
import { ConfigError } from '../errors.ts';

type Keyword = 'select' | 'from' | 'where' | 'group by' | 'having' | 'order by' | 'limit';

interface Clause {
  keyword: Keyword;
  /** Index of the keyword's first character. */
  start: number;
  /** Index just after the keyword. */
  end: number;
}

const KEYWORD = /^(select|from|where|group\s+by|having|order\s+by|limit)(?![A-Za-z0-9_])/i;

function scanClauses(query: string): Clause[] {
  const clauses: Clause[] = [];
  let depth = 0;
  for (let i = 0; i < query.length; i++) {
    const ch = query.charAt(i);
    if (ch === "'" || ch === '"') {
      // Quotes are escaped by doubling, so skipping to the next quote and continuing handles both.
      const close = query.indexOf(ch, i + 1);
      i = close < 0 ? query.length : close;
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && /[A-Za-z]/.test(ch) && (i === 0 || !/[A-Za-z0-9_.]/.test(query.charAt(i - 1)))) {
      const match = KEYWORD.exec(query.slice(i));
      if (match) {
        const keyword = match[1]!.toLowerCase().replace(/\s+/, ' ') as Keyword;
        clauses.push({ keyword, start: i, end: i + match[0].length });
        i += match[0].length - 1;
      }
    }
  }
  return clauses;
}

const IDENT = /^\s*([A-Za-z][A-Za-z0-9_]*)/;
const FIELD_REF = /^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$/;

/** The data source (FROM object) of an Export ZOQL query, undefined when there is none. */
export function queryBaseObject(query: string): string | undefined {
  const from = scanClauses(query).find((clause) => clause.keyword === 'from');
  if (!from) return undefined;
  return IDENT.exec(query.slice(from.end))?.[1];
}

/** True when the query starts with `select` (case-insensitive). */
export function isSelectQuery(query: string): boolean {
  return /^\s*select(?![A-Za-z0-9_])/i.test(query);
}

/** The text an object's batch runs: `select a, b from X` for fields, the user's query trimmed (no `;`) otherwise. */
export function buildObjectQuery(object: ObjectConfig): string {
  if (object.query !== undefined) return object.query.trim().replace(/\s*;+\s*$/, '');
  if (!object.fields || object.fields.length === 0) {
    throw new ConfigError(`object ${object.name} has neither fields nor query`);
  }
  return `select ${object.fields.join(', ')} from ${object.name}`;
}

/** ISO with Z and whole seconds: Zuora silently ignores a space-separated literal (docs/aqua.md#literals). */
function literal(instant: Date): string {
  const ms = Math.floor(instant.getTime() / 1000) * 1000;
  if (!Number.isFinite(ms)) throw new RangeError(`invalid window bound ${String(instant)}`);
  return `'${new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')}'`;
}

/** The object's query restricted to `since <= UpdatedDate < until`, for stateless backfills. */
export function buildWindowQuery(object: ObjectConfig, since: Date, until: Date): string {
  const query = buildObjectQuery(object);
  const window = `UpdatedDate >= ${literal(since)} and UpdatedDate < ${literal(until)}`;
  const clauses = scanClauses(query);
  const from = clauses.find((clause) => clause.keyword === 'from');
  if (!from) throw new ConfigError(`the query of ${object.name} has no from clause: ${query}`);
  const where = clauses.find((clause) => clause.keyword === 'where' && clause.start > from.start);
  const after = where ?? from;
  const tail = clauses.find(
    (clause) => ['group by', 'having', 'order by', 'limit'].includes(clause.keyword) && clause.start > after.start,
  );
  const whereEnd = tail ? tail.start : query.length;
  const rest = tail ? ` ${query.slice(tail.start).trim()}` : '';
  if (where) {
    const condition = query.slice(where.end, whereEnd).trim();
    return `${query.slice(0, where.start).trimEnd()} where (${condition}) and (${window})${rest}`;
  }
  return `${query.slice(0, whereEnd).trimEnd()} where ${window}${rest}`;
}

/** Splits on top-level commas; undefined when the list holds anything but plain field references. */
function plainSelectItems(list: string): string[] | undefined {
  if (/[*()'"]/.test(list)) return undefined;
  const items = list.split(',').map((item) => item.trim());
  return items.every((item) => FIELD_REF.test(item)) ? items : undefined;
}

/**
 * The CSV header Zuora should write for the object (deleted column excluded), as `Object.Field` names. Undefined
 * for queries whose header cannot be predicted (`*`, functions, aliases).
 */
export function expectedHeaders(object: ObjectConfig): string[] | undefined {
  let base = object.name;
  let items: string[] | undefined;
  if (object.query !== undefined) {
    const query = buildObjectQuery(object);
    const clauses = scanClauses(query);
    const select = clauses[0];
    const from = clauses.find((clause) => clause.keyword === 'from');
    if (!select || select.keyword !== 'select' || !from) return undefined;
    base = IDENT.exec(query.slice(from.end))?.[1] ?? object.name;
    items = plainSelectItems(query.slice(select.end, from.start));
  } else {
    items = object.fields;
  }
  return items?.map((item) => (item.includes('.') ? item : `${base}.${item}`));
}
