// Text Postgres refuses would fail a whole file and, when Zuora keeps serving it, stall the pipeline for good:
// NUL bytes (real AQuA files have carried them; Postgres text cannot hold U+0000) are removed, and byte sequences
// that are not UTF-8 become U+FFFD. Clean chunks (almost all of them) pass through untouched: the checks are
// indexOf and the native isUtf8.
import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';

export interface SanitizeReport {
  /** NUL bytes removed. */
  nulBytes: number;
  /** Invalid UTF-8 sequences replaced by U+FFFD. */
  invalidUtf8: number;
}

const REPLACEMENT = Buffer.from([0xef, 0xbf, 0xbd]);

/** Bytes at the end of `buf` that start a UTF-8 sequence the next chunk completes (0 when none). */
export function incompleteTail(buf: Buffer): number {
  for (let i = 1; i <= Math.min(3, buf.length); i++) {
    const byte = buf[buf.length - i] as number;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: keep looking for the lead byte
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > i ? i : 0;
  }
  return 0;
}

function count(haystack: Buffer, needle: Buffer): number {
  let n = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + needle.length)) n++;
  return n;
}

/** Removes NUL bytes and replaces invalid UTF-8 in one piece of text that holds no partial sequence at its end. */
export function sanitizeBytes(input: Buffer, report: SanitizeReport): Buffer {
  let out = input;
  if (out.indexOf(0) >= 0) {
    const kept = Buffer.allocUnsafe(out.length);
    let n = 0;
    for (const byte of out) if (byte !== 0) kept[n++] = byte;
    report.nulBytes += out.length - n;
    out = kept.subarray(0, n);
  }
  if (!isUtf8(out)) {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(out);
    const fixed = Buffer.from(text, 'utf8');
    report.invalidUtf8 += count(fixed, REPLACEMENT) - count(out, REPLACEMENT);
    out = fixed;
  }
  return out;
}

export class CsvSanitizer extends Transform {
  readonly report: SanitizeReport = { nulBytes: 0, invalidUtf8: 0 };
  private carry: Buffer = Buffer.alloc(0);

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const buf = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const tail = incompleteTail(buf);
    this.carry = Buffer.from(buf.subarray(buf.length - tail));
    const body = buf.subarray(0, buf.length - tail);
    callback(null, body.length === 0 ? undefined : sanitizeBytes(body, this.report));
  }

  override _flush(callback: TransformCallback): void {
    const rest = this.carry;
    this.carry = Buffer.alloc(0);
    callback(null, rest.length === 0 ? undefined : sanitizeBytes(rest, this.report));
  }
}
