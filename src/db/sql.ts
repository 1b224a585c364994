// Identifier quoting for every place that builds SQL text around table and column names (the one quoteIdent).
import { ConfigError } from '../errors.ts';

/** Quotes a Postgres identifier, refusing what Postgres would not keep as given (empty, NUL, over 63 bytes). */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new ConfigError('empty SQL identifier');
  if (name.includes('\0')) throw new ConfigError(`SQL identifier ${JSON.stringify(name)} contains a NUL byte`);
  // Postgres silently truncates longer names, which would make two tables or columns collide.
  if (Buffer.byteLength(name, 'utf8') > 63) {
    throw new ConfigError(`SQL identifier "${name}" is longer than Postgres' 63-byte limit`, {
      hint: 'choose a shorter table or column name',
    });
  }
  return `"${name.replaceAll('"', '""')}"`;
}
