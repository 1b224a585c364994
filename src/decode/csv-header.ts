// Reads the header row of a CSV stream without consuming it: the loader COPYs the whole file WITH HEADER.

import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { DataError } from '../errors.ts';

export interface CsvHeaderContext {
  fileId: string;
  object: string;
}

/** A header longer than this is not a header: stop rather than buffer a whole broken file. */
const MAX_HEADER_BYTES = 1024 * 1024;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

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

  try {
    while (header === undefined) {
      const next = await iterator.next();
      if (!next.done) {
        const chunk = typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : next.value;
        chunks.push(chunk);
        size += chunk.length;
      }
      const prefix = Buffer.concat(chunks, size);
      if (next.done && size === 0) {
        throw new DataError(`result file ${ctx.fileId} (${ctx.object}) is empty: expected at least a header row`, {
          hint: 'AQuA writes a header even when no rows match; the file will be downloaded again on the next run',
          context,
        });
      }
      let probe: HeaderProbe;
      try {
        probe = probeHeader(prefix, next.done === true);
      } catch (error) {
        throw new DataError(
          `result file ${ctx.fileId} (${ctx.object}): the header row is not valid CSV: ${error instanceof Error ? error.message : String(error)}`,
          { context, cause: error },
        );
      }
      if (probe.complete) header = probe.header;
      else if (next.done) {
        throw new DataError(`result file ${ctx.fileId} (${ctx.object}) has no header row`, { context });
      } else if (size > MAX_HEADER_BYTES) {
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
