// Warehouse names for Zuora objects and CSV headers. Everything returned is a safe, unquoted-able identifier.

import { snakeCase } from '../config/index.ts';

const MAX_IDENTIFIER = 63;

/** FNV-1a, enough to keep two long names apart after truncation. */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

function identifier(raw: string): string {
  let name = raw.replace(/[^a-z0-9_]+/g, '_');
  if (!/^[a-z_]/.test(name)) name = `_${name}`;
  // Postgres would silently truncate at 63 bytes; a hash suffix keeps long names distinct instead.
  if (name.length > MAX_IDENTIFIER) name = `${name.slice(0, MAX_IDENTIFIER - 9)}_${shortHash(name)}`;
  return name;
}

/**
 * Column name for a CSV header: own fields drop the base object (`Account.Balance` -> balance), joined fields
 * keep the relationship (`Invoice.Id` -> invoice_id). The base object matches case-insensitively.
 */
export function columnNameFor(header: string, baseObject: string): string {
  const dot = header.indexOf('.');
  if (dot < 0) return identifier(snakeCase(header));
  const prefix = header.slice(0, dot);
  const field = header.slice(dot + 1);
  if (prefix.toLowerCase() === baseObject.toLowerCase()) return identifier(snakeCase(field));
  return identifier(`${snakeCase(prefix)}_${snakeCase(field)}`);
}
