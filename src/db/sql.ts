// Identifier quoting for every place that builds SQL text around table and column names.

/** Quotes a Postgres identifier: wraps it in double quotes and doubles any embedded quote. */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new TypeError('quoteIdent: an identifier cannot be empty');
  if (name.includes('\0')) throw new TypeError('quoteIdent: an identifier cannot contain a NUL character');
  return `"${name.replace(/"/g, '""')}"`;
}
