// The query as a whole: SELECT ... FROM ... [WHERE] [ORDER BY] [LIMIT]. The select list names fields of the FROM
// object, so it is skipped first and resolved once FROM is known.
import type { CompileOptions, ObjectDef, Tenant } from '../model.ts';
import { ZoqlError } from '../model.ts';
import { TokenCursor } from './cursor.ts';
import type { OrderKey, Predicate } from './row-context.ts';
import { NO_SOURCE, parseFieldRef, Scope } from './scope.ts';
import { parseSelectList, skipSelectList } from './select.ts';
import type { SelectList } from './select.ts';
import type { Token } from './tokenizer.ts';
import { syntaxError } from './tokenizer.ts';
import { parseWhere } from './where.ts';

/** A parsed query, names resolved and predicates compiled: what execute.ts runs over a snapshot. */
export interface QueryPlan extends SelectList {
  base: ObjectDef;
  where: Predicate | undefined;
  order: OrderKey[];
  offset: number;
  limit: number;
}

export function parseQuery(tokens: Token[], tenant: Tenant, options: CompileOptions): QueryPlan {
  const cursor = new TokenCursor(tokens);
  cursor.expectKeyword('select');
  if (cursor.isKeyword('distinct')) throw new ZoqlError('90020', 'Invalid Distinct column, without Count function.');
  const selectStart = cursor.index;
  skipSelectList(cursor);
  cursor.expectKeyword('from');
  const objectName = cursor.expectIdent('an object name after FROM');
  const base = tenant.object(objectName);
  if (base === undefined) throw new ZoqlError('90005', NO_SOURCE);
  const scope = new Scope(base, tenant);
  const afterFrom = cursor.index;

  cursor.index = selectStart;
  const select = parseSelectList(cursor, scope, options);
  cursor.index = afterFrom;

  const where = cursor.acceptKeyword('where') ? parseWhere(cursor, scope, options) : undefined;
  if (cursor.isKeyword('group') || cursor.isKeyword('having')) {
    throw syntaxError('GROUP BY and HAVING are not supported by the emulator');
  }
  const order = parseOrderBy(cursor, scope);
  const { offset, limit } = parseLimit(cursor);
  cursor.acceptPunct(';');
  if (cursor.peek().kind !== 'eof') throw syntaxError(`unexpected ${cursor.where()}`);
  return { ...select, base, where, order, offset, limit };
}

function parseOrderBy(cursor: TokenCursor, scope: Scope): OrderKey[] {
  const order: OrderKey[] = [];
  if (!cursor.acceptKeyword('order')) return order;
  cursor.expectKeyword('by');
  do {
    const ref = parseFieldRef(cursor, scope);
    const descending = cursor.acceptKeyword('desc');
    if (!descending) cursor.acceptKeyword('asc');
    order.push({ get: ref.get, type: ref.field.type, descending });
  } while (cursor.acceptPunct(','));
  return order;
}

/** `LIMIT n` or `LIMIT offset, n`. */
function parseLimit(cursor: TokenCursor): { offset: number; limit: number } {
  if (!cursor.acceptKeyword('limit')) return { offset: 0, limit: Number.POSITIVE_INFINITY };
  const first = parseCount(cursor);
  if (!cursor.acceptPunct(',')) return { offset: 0, limit: first };
  return { offset: first, limit: parseCount(cursor) };
}

function parseCount(cursor: TokenCursor): number {
  const token = cursor.next();
  if (token.kind !== 'number' || token.text.includes('.')) {
    throw syntaxError(`LIMIT needs whole numbers, got "${token.text}"`);
  }
  return Number(token.text);
}
