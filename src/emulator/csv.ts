// AQuA's CSV result format (docs/aqua.md#files) as a pull-based stream: each _read renders about 64 KB of rows from the
// iterator, so a slow consumer (backpressure) holds the generator, never a growing buffer, and millions of rows
// stream in flat memory.

import { Readable } from 'node:stream';
import type { FieldType, OutputColumn, RenderOptions, Value } from './model.ts';
import { formatDateTime } from './time-zone.ts';

export { formatDateTime } from './time-zone.ts';

const CHUNK_BYTES = 64 * 1024;
const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/** RFC 4180 quoting, plus fields with leading/trailing spaces so readers that trim cannot lose them. */
export function csvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function renderValue(value: Value, type: FieldType, options: RenderOptions): string {
  if (value === null) return options.nullReplacement ?? '';
  switch (type) {
    case 'boolean':
      return value === true || value === 'true' ? 'true' : 'false';
    case 'datetime':
      return typeof value === 'number' ? formatDateTime(value, options.dateTimeUtc, options.tenantZone) : String(value);
    default:
      // Decimals, integers and dates are stored as strings and written exactly as stored.
      return String(value);
  }
}

/** The header line's fields: deleted column first (always `<Base>.<column>`), then API names or labels. */
export function csvHeader(columns: OutputColumn[], options: RenderOptions, baseObject: string | undefined): string[] {
  const headers = columns.map((column) => (options.useQueryLabels ? column.header : column.labelHeader));
  if (options.deleted === undefined) return headers;
  const column = options.deleted.column;
  let deletedHeader = column;
  if (!column.includes('.')) {
    // Without the base name, the first column's `Base.Field` header names it (true unless a join comes first).
    const base = baseObject ?? columns[0]?.header.split('.')[0];
    if (base === undefined) throw new Error('renderCsv: pass baseObject to name the deleted column');
    deletedHeader = `${base}.${column}`;
  }
  return [deletedHeader, ...headers];
}

/**
 * Streams rows as AQuA CSV: header row, CRLF record terminators, RFC 4180 quoting, nulls as '' (or
 * nullReplacement), booleans `true`/`false`, decimals as stored, dates `YYYY-MM-DD`, datetimes `...+0000` with
 * dateTimeUtc or tenant wall time with `±hhmm`. Pass `baseObject` (CompiledQuery.baseObject) so the deleted
 * column is named `<Base>.<column>` even when the first selected column is a join.
 */
export function renderCsv(
  rows: Iterable<{ values: Value[]; deleted: boolean }>,
  columns: OutputColumn[],
  options: RenderOptions,
  baseObject?: string,
): Readable {
  const header = `${csvHeader(columns, options, baseObject).map(csvField).join(',')}\r\n`;
  const types = columns.map((column) => column.type);
  const deleted = options.deleted;
  const deletedText =
    deleted === undefined
      ? undefined
      : deleted.format === 'Numeric'
        ? { yes: '1', no: '0' }
        : { yes: 'true', no: 'false' };
  let iterator: Iterator<{ values: Value[]; deleted: boolean }> | undefined;
  let headerSent = false;

  return new Readable({
    read() {
      try {
        iterator ??= rows[Symbol.iterator]();
        let chunk = '';
        if (!headerSent) {
          chunk = header;
          headerSent = true;
        }
        for (;;) {
          while (chunk.length < CHUNK_BYTES) {
            const next = iterator.next();
            if (next.done === true) {
              if (chunk.length > 0) this.push(Buffer.from(chunk, 'utf8'));
              this.push(null);
              return;
            }
            const { values, deleted: isDeleted } = next.value;
            let line = deletedText === undefined ? '' : (isDeleted ? deletedText.yes : deletedText.no) + ',';
            for (let i = 0; i < types.length; i++) {
              if (i > 0) line += ',';
              line += csvField(renderValue(values[i] ?? null, types[i] ?? 'text', options));
            }
            chunk += line + '\r\n';
          }
          // push() returning false is backpressure: stop until the consumer asks again.
          if (!this.push(Buffer.from(chunk, 'utf8'))) return;
          chunk = '';
        }
      } catch (error) {
        this.destroy(error instanceof Error ? error : new Error(String(error)));
      }
    },
  });
}
