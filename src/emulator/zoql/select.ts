// The select list: fields, `*`, `Rel.*`, date functions and double-quoted aliases.
import type { CompileOptions } from '../model.ts';
import { ZoqlError } from '../model.ts';
import type { TokenCursor } from './cursor.ts';
import { AGGREGATES, applyFunction, DATE_FUNCTIONS, ymd } from './functions.ts';
import type { SelectColumn } from './row-context.ts';
import { parseFieldRef } from './scope.ts';
import type { Scope } from './scope.ts';
import { syntaxError } from './tokenizer.ts';

export interface SelectList {
  columns: SelectColumn[];
  usesFunctions: boolean;
  usesAliases: boolean;
}

/** Skips to the FROM that ends the select list (parentheses may nest inside function calls). */
export function skipSelectList(cursor: TokenCursor): void {
  let depth = 0;
  for (;;) {
    const token = cursor.peek();
    if (token.kind === 'eof') throw syntaxError('expected FROM');
    if (depth === 0 && cursor.isKeyword('from')) return;
    if (cursor.isPunct('(')) depth++;
    if (cursor.isPunct(')')) depth--;
    cursor.next();
  }
}

export function parseSelectList(cursor: TokenCursor, scope: Scope, options: CompileOptions): SelectList {
  const list: SelectList = { columns: [], usesFunctions: false, usesAliases: false };
  const aliases = new Set<string>();
  do {
    if (cursor.acceptPunct('*')) {
      list.columns.push(...scope.ownColumns(undefined));
      continue;
    }
    if (cursor.isKeyword('from')) throw syntaxError(`expected a column ${cursor.where()}`);
    const first = cursor.expectIdent('a column');
    if (cursor.isPunct('.') && cursor.isPunct('*', 1)) {
      cursor.next();
      cursor.next();
      list.columns.push(...scope.starColumns(first));
      continue;
    }
    let column: SelectColumn;
    if (cursor.acceptPunct('(')) {
      column = functionColumn(cursor, scope, options, first);
      list.usesFunctions = true;
    } else {
      const second = cursor.acceptPunct('.') ? cursor.expectIdent('a field name after "."') : undefined;
      const ref = scope.fieldRef(first, second);
      column = { header: ref.header, labelHeader: ref.labelHeader, type: ref.field.type, get: ref.get };
    }
    if (cursor.acceptKeyword('as')) {
      const aliased = applyAlias(cursor, column, aliases);
      if (aliased !== column) list.usesAliases = true;
      column = aliased;
    }
    list.columns.push(column);
  } while (cursor.acceptPunct(','));
  if (!cursor.isKeyword('from')) throw syntaxError(`expected "," or FROM ${cursor.where()}`);
  return list;
}

/** `AS "alias"` after a column: the column renamed, or the same column when the alias changes nothing. */
function applyAlias(cursor: TokenCursor, column: SelectColumn, aliases: Set<string>): SelectColumn {
  const alias = cursor.next();
  if (alias.kind !== 'quoted') throw syntaxError(`an alias must be double-quoted ("name") ${cursor.where()}`);
  // An alias equal to the full column name is ignored (Zuora's Export ZOQL page, linked from docs/aqua.md).
  if (alias.text.toLowerCase() === column.header.toLowerCase()) return column;
  if (aliases.has(alias.text.toLowerCase())) {
    throw new ZoqlError('90005', `Duplicate column aliases ${alias.text} were defined.`);
  }
  aliases.add(alias.text.toLowerCase());
  return { ...column, header: alias.text, labelHeader: alias.text };
}

function functionColumn(cursor: TokenCursor, scope: Scope, options: CompileOptions, written: string): SelectColumn {
  const name = written.toLowerCase();
  if (AGGREGATES.has(name)) {
    throw syntaxError(`aggregate function ${written.toUpperCase()} is not supported by the emulator`);
  }
  if (!DATE_FUNCTIONS.has(name)) throw syntaxError(`unknown function ${written}`);
  const ref = parseFieldRef(cursor, scope);
  cursor.expectPunct(')');
  if (ref.field.type !== 'date' && ref.field.type !== 'datetime') {
    throw syntaxError(`${written.toUpperCase()}() needs a date or datetime field, got ${ref.header}`);
  }
  const zone = options.defaultZone;
  const type = ref.field.type;
  const upper = name.toUpperCase();
  return {
    header: `${upper}(${ref.header})`,
    labelHeader: `${upper}(${ref.labelHeader})`,
    type: name === 'date' ? 'date' : 'integer',
    get: (rc) => applyFunction(name, ymd(ref.get(rc), type, zone)),
  };
}
