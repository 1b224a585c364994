// Text Postgres refuses never fails a file (issue 10, point 6): NUL bytes are removed and invalid UTF-8 becomes
// U+FFFD, counted in the report, while valid multi-byte characters split across chunks pass through intact.
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { CsvSanitizer } from '../../src/decode/index.ts';

async function clean(chunks: Buffer[]): Promise<{ text: string; report: CsvSanitizer['report'] }> {
  const sanitizer = new CsvSanitizer();
  const out = await buffer(Readable.from(chunks).pipe(sanitizer));
  return { text: out.toString('utf8'), report: sanitizer.report };
}

describe('CsvSanitizer', () => {
  it('removes NUL bytes and counts them', async () => {
    const { text, report } = await clean([Buffer.from('Id,Name\n1,a\u0000b\n2,\u0000\u0000c\n')]);
    expect(text).toBe('Id,Name\n1,ab\n2,c\n');
    expect(report).toEqual({ nulBytes: 3, invalidUtf8: 0 });
  });

  it('replaces invalid UTF-8 sequences with U+FFFD and counts them', async () => {
    const { text, report } = await clean([Buffer.concat([Buffer.from('Id,Name\n1,a'), Buffer.from([0xff, 0xfe]), Buffer.from('b\n')])]);
    expect(text).toBe('Id,Name\n1,a\uFFFD\uFFFDb\n');
    expect(report).toEqual({ nulBytes: 0, invalidUtf8: 2 });
  });

  it('keeps a valid character split across chunks, and leaves clean text untouched', async () => {
    const euro = Buffer.from('1,€ and \uFFFD already\n'); // an existing U+FFFD is not counted as a replacement
    const { text, report } = await clean([euro.subarray(0, 3), euro.subarray(3)]);
    expect(text).toBe('1,€ and \uFFFD already\n');
    expect(report).toEqual({ nulBytes: 0, invalidUtf8: 0 });
  });
});
