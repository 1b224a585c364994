// Reads the header row of a CSV stream without consuming it: the loader COPYs the whole file WITH HEADER.

import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { DataError } from '../errors.ts';
import { outsideText } from '../text.ts';

export interface CsvHeaderContext {
  fileId: string;
  object: string;
}

/** A header longer than this is not a header: stop rather than buffer a whole broken file. */
const MAX_HEADER_BYTES = 1024 * 1024;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

type HeaderProbe = { complete: true; header: string[] } | { complete: false };

/**
 * Looks for a complete first record in `prefix`. csv-parse (sync) would happily return a half-received last record,
 * so a sentinel byte is appended: if the first record is terminated, the sentinel starts a second record; if not,
 * it merges into (or breaks) the first one. At the end of the input the prefix is parsed as it is.
 */
export function probeHeader(prefix: Buffer, ended: boolean): HeaderProbe {
  const text = prefix.toString('utf8');
  if (ended) {
    const records = parseRecords(text, 1);
    const header = records[0];
    return header ? { complete: true, header } : { complete: false };
  }
  let records: string[][];
  try {
    records = parseRecords(`${text}\u0000`, 2);
  } catch {
    // An unclosed quote or a quote followed by the sentinel: the record continues in the next chunk.
    return { complete: false };
  }
  const header = records[0];
  return records.length >= 2 && header ? { complete: true, header } : { complete: false };
}

/**
 * The cells of one complete CSV record (BOM and terminator allowed), by a single pass: csv-parse costs ~1.7 µs a
 * byte, 1.6 s of CPU for a 1 MB header. Undefined when the record is anything but plain RFC 4180 (a quote inside
 * an unquoted cell, text after a closing quote): csv-parse then gives its verdict, as before.
 */
export function splitRecord(text: string): string[] | undefined {
  const body = text.replace(/^\uFEFF/, '').replace(/(\r\n|\r|\n)$/, '');
  const cells: string[] = [];
  let at = 0;
  for (;;) {
    if (body[at] === '"') {
      let cell = '';
      let from = at + 1;
      for (;;) {
        const quote = body.indexOf('"', from);
        if (quote < 0) return undefined;
        cell += body.slice(from, quote);
        if (body[quote + 1] === '"') {
          cell += '"';
          from = quote + 2;
          continue;
        }
        at = quote + 1;
        break;
      }
      cells.push(cell);
      if (at === body.length) return cells;
      if (body[at] !== ',') return undefined;
      at += 1;
    } else {
      const comma = body.indexOf(',', at);
      const cell = body.slice(at, comma < 0 ? body.length : comma);
      if (cell.includes('"') || /[\r\n]/.test(cell)) return undefined;
      cells.push(cell);
      if (comma < 0) return cells;
      at = comma + 1;
    }
  }
}

function parseRecords(text: string, records: number): string[][] {
  return parse(text, {
    bom: true,
    relax_column_count: true,
    skip_empty_lines: false,
    // Stop after the records we need: later (partial) rows of the chunk are none of our business.
    to: records,
  }) as string[][];
}

/**
 * Returns the header cells and a stream of the COMPLETE CSV (header included, UTF-8 BOM stripped). Buffers only up
 * to the end of the first record plus the chunk that holds it.
 */
export async function readCsvHeader(
  csv: Readable,
  ctx: CsvHeaderContext,
): Promise<{ header: string[]; csv: Readable }> {
  const iterator = csv[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let size = 0;
  let header: string[] | undefined;
  const context = { fileId: ctx.fileId, object: ctx.object };

  // The end of the first record is found by one pass over the bytes as they arrive (a quote toggles "inside a
  // quoted field", so "" stays inside; CR or LF outside quotes ends the record), and the record is parsed once.
  // Re-parsing the whole prefix on every chunk made a 1 MB header cost seconds of CPU (quadratic in its size).
  let inQuotes = false;
  let end = -1;
  const parseHeader = (prefix: Buffer, ended: boolean): HeaderProbe => {
    const plain = ended ? splitRecord(prefix.toString('utf8')) : undefined;
    if (plain && plain.length > 0) return { complete: true, header: plain };
    try {
      return probeHeader(prefix, ended);
    } catch (error) {
      throw new DataError(
        `result file ${ctx.fileId} (${ctx.object}): the header row is not valid CSV: ${outsideText(error instanceof Error ? error.message : String(error), 200)}`,
        { context, cause: error },
      );
    }
  };

  try {
    while (header === undefined) {
      const next = await iterator.next();
      if (!next.done) {
        const chunk = typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : next.value;
        chunks.push(chunk);
        for (let i = 0; i < chunk.length && end < 0; i++) {
          const byte = chunk[i];
          if (byte === QUOTE) inQuotes = !inQuotes;
          else if (!inQuotes && (byte === LF || byte === CR)) end = size + i;
        }
        size += chunk.length;
      }
      if (next.done && size === 0) {
        throw new DataError(`result file ${ctx.fileId} (${ctx.object}) is empty: expected at least a header row`, {
          hint: 'AQuA writes a header even when no rows match; the file will be downloaded again on the next run',
          context,
        });
      }
      if (end >= 0 || next.done) {
        const prefix = Buffer.concat(chunks, size);
        // The record with its terminator (and a following LF of a CRLF, when here), parsed as a whole input.
        const cut = end < 0 ? size : end + 1 + (prefix[end] === CR && prefix[end + 1] === LF ? 1 : 0);
        const probe = parseHeader(prefix.subarray(0, cut), true);
        if (probe.complete) header = probe.header;
        else throw new DataError(`result file ${ctx.fileId} (${ctx.object}) has no header row`, { context });
      } else if (size > MAX_HEADER_BYTES) {
        // Parsed once, so a file that is not CSV at all is reported as such.
        parseHeader(Buffer.concat(chunks, size), false);
        throw new DataError(
          `result file ${ctx.fileId} (${ctx.object}): no complete header row in the first ${MAX_HEADER_BYTES} bytes`,
          { hint: 'the file is probably not CSV; check the format of the pipeline', context },
        );
      }
    }
  } catch (error) {
    await iterator.return?.();
    throw error;
  }

  let prefix = Buffer.concat(chunks, size);
  if (prefix.subarray(0, 3).equals(BOM)) prefix = prefix.subarray(3);

  async function* complete(): AsyncGenerator<Buffer> {
    if (prefix.length > 0) yield prefix;
    while (true) {
      const next = await iterator.next();
      if (next.done) return;
      yield typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : next.value;
    }
  }
  // Readable.from pulls on demand (backpressure); destroying it returns the iterator, which destroys `csv`.
  const out = Readable.from(complete(), { objectMode: false });
  out.once('close', () => {
    if (!csv.destroyed) csv.destroy();
  });
  return { header, csv: out };
}
