// Export ZOQL for the emulator: a tokenizer (zoql/tokenizer.ts), a recursive-descent parser that resolves names
// against the tenant schema as it goes (zoql/parser.ts, select.ts, where.ts, scope.ts), and a lazy evaluator over a
// snapshot (zoql/execute.ts). What the emulator does not understand is rejected with 90005 rather than guessed at,
// so a client bug surfaces as an error, not as wrong data. One quirk is reproduced on purpose behind a flag: Zuora
// silently drops a predicate whose literal is a space-separated datetime ('2026-08-01 00:00:00'), returning the
// whole table (docs/aqua.md#literals).

import type { CompileOptions, CompiledQuery, Tenant } from './model.ts';
import { assertZone } from './time-zone.ts';
import { buildQuery } from './zoql/execute.ts';
import { parseQuery } from './zoql/parser.ts';
import { syntaxError, tokenize } from './zoql/tokenizer.ts';

export { DELETED_RETENTION_MS } from './zoql/execute.ts';
export { tokenize } from './zoql/tokenizer.ts';
export { compareDecimal } from './zoql/values.ts';

/**
 * Compiles one Export ZOQL query against the tenant's schema. Throws ZoqlError('90005') for anything outside the
 * supported subset, an unknown object or relationship, or a field that is unknown or not exportable.
 */
export function compileQuery(text: string, tenant: Tenant, options: CompileOptions): CompiledQuery {
  assertZone(options.defaultZone);
  if (text.length > 20_000) throw syntaxError('the query is longer than 20,000 characters');
  return buildQuery(parseQuery(tokenize(text), tenant, options));
}
