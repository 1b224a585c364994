// The little ZOQL the configuration needs to understand itself: a top-level clause scanner (string literals,
// quoted aliases and parentheses skipped), the FROM object of a query, whether it is a select. The planner builds
// on the same scanner.

type Keyword = 'select' | 'from' | 'where' | 'group by' | 'having' | 'order by' | 'limit';

export interface Clause {
  keyword: Keyword;
  /** Index of the keyword's first character. */
  start: number;
  /** Index just after the keyword. */
  end: number;
}

const KEYWORD = /^(select|from|where|group\s+by|having|order\s+by|limit)(?![A-Za-z0-9_])/i;

export function scanClauses(query: string): Clause[] {
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

export const IDENT = /^\s*([A-Za-z][A-Za-z0-9_]*)/;

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
