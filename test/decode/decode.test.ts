import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, ZuoraTransientError } from '../../src/errors.ts';
import { decodeResultFile, probeHeader, readCsvHeader } from '../../src/decode/index.ts';

let tempDir = '';
beforeAll(async () => {
  tempDir = await mkdtemp(join(tmpdir(), 'aquasync-decode-'));
});
afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

const ctx = (): { fileId: string; object: string; tempDir: string } => ({ fileId: 'f1', object: 'Account', tempDir });
const CSV = 'Account.Id,Account.Name\n1,"Acme, Inc."\n2,Globex\n';

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function zipOf(entries: Record<string, string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, text] of Object.entries(entries)) zip.addBuffer(Buffer.from(text), name);
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/** Sends `bytes`, then fails like a connection reset would (as the zuora client reports it). */
function brokenBody(bytes: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(bytes);
      } else {
        this.destroy(new ZuoraTransientError('download of result file f1 broke off: ECONNRESET'));
      }
    },
  });
}

describe('decodeResultFile', () => {
  it('passes csv through', async () => {
    expect(await readAll(await decodeResultFile(Readable.from([Buffer.from(CSV)]), 'csv', ctx()))).toBe(CSV);
  });

  it('gunzips gzip', async () => {
    const body = Readable.from([gzipSync(Buffer.from(CSV))]);
    expect(await readAll(await decodeResultFile(body, 'gzip', ctx()))).toBe(CSV);
  });

  it('truncated gzip is a DataError naming the file', async () => {
    const gz = gzipSync(Buffer.from(CSV.repeat(100)));
    const stream = await decodeResultFile(Readable.from([gz.subarray(0, gz.length - 20)]), 'gzip', ctx());
    const error = (await caught(readAll(stream))) as DataError;
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/^result file f1 \(Account\): gzip data is truncated or corrupt: /);
    expect(error.hint).toMatch(/downloaded again on the next run/);
  });

  it('keeps download errors as they are (retryable), for gzip', async () => {
    const gz = gzipSync(Buffer.from(CSV.repeat(1000)));
    const stream = await decodeResultFile(brokenBody(gz.subarray(0, 100)), 'gzip', ctx());
    const error = await caught(readAll(stream));
    expect(error).toBeInstanceOf(ZuoraTransientError);
  });

  it('unzips a zip with one entry and deletes its temp file', async () => {
    const stream = await decodeResultFile(Readable.from([await zipOf({ 'Account.csv': CSV })]), 'zip', ctx());
    expect(await readAll(stream)).toBe(CSV);
    expect(await readdir(tempDir)).toEqual([]);
  });

  it.each([
    [{}, 0],
    [{ 'a.csv': CSV, 'b.csv': CSV }, 2],
  ])('a zip with %j is a DataError with the entry count', async (entries, count) => {
    const error = (await caught(decodeResultFile(Readable.from([await zipOf(entries)]), 'zip', ctx()))) as DataError;
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toBe(`result file f1 (Account): expected exactly one CSV file inside the zip, found ${count}`);
    expect(await readdir(tempDir)).toEqual([]);
  });

  it('a zip that is not a zip is a DataError', async () => {
    const error = await caught(decodeResultFile(Readable.from([Buffer.from('not a zip at all')]), 'zip', ctx()));
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toMatch(/zip data is truncated or corrupt/);
    expect(await readdir(tempDir)).toEqual([]);
  });

  it('keeps download errors as they are for zip, and removes the partial temp file', async () => {
    const zip = await zipOf({ 'Account.csv': CSV });
    const error = await caught(decodeResultFile(brokenBody(zip.subarray(0, 10)), 'zip', ctx()));
    expect(error).toBeInstanceOf(ZuoraTransientError);
    expect(await readdir(tempDir)).toEqual([]);
  });

  it('streams a 50 MB gzip file with bounded buffering', async () => {
    // Random ids keep the compression ratio realistic (a 1000:1 ratio would make any one gzip chunk huge).
    const rowLength = '2c92c0f966cd4f580166ec0ac89d5bb7,"Acme, Inc.",2024-01-01T00:00:00+0000,123.45\n'.length;
    const rows = Math.ceil((50 * 1024 * 1024) / rowLength);
    let produced = 0;
    function* source(): Generator<Buffer> {
      yield Buffer.from('Account.Id,Account.Name,Account.UpdatedDate,Account.Balance\n');
      for (let i = 0; i < rows; i += 1000) {
        const ids = randomBytes(16 * 1000).toString('hex');
        let text = '';
        for (let r = 0; r < 1000; r++) text += `${ids.slice(r * 32, r * 32 + 32)},"Acme, Inc.",2024-01-01T00:00:00+0000,123.45\n`;
        const block = Buffer.from(text);
        produced += block.length;
        yield block;
      }
    }
    const body = Readable.from(source(), { objectMode: false }).pipe(createGzip());
    const decoded = await decodeResultFile(body, 'gzip', ctx());
    const { header, csv } = await readCsvHeader(decoded, { fileId: 'f1', object: 'Account' });
    expect(header).toEqual(['Account.Id', 'Account.Name', 'Account.UpdatedDate', 'Account.Balance']);
    let consumed = 0;
    let maxLag = 0;
    let lines = 0;
    for await (const chunk of csv) {
      const buf = chunk as Buffer;
      consumed += buf.length;
      for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) lines++;
      maxLag = Math.max(maxLag, produced - consumed);
    }
    expect(lines).toBe(1 + Math.ceil(rows / 1000) * 1000);
    expect(consumed).toBeGreaterThan(50 * 1024 * 1024);
    // Everything between the producer and this loop is stream buffers; nothing holds the file.
    expect(maxLag).toBeLessThan(8 * 1024 * 1024);
  });
});

describe('probeHeader', () => {
  it.each<[string, boolean, string[] | undefined]>([
    ['Id,Name\n', false, ['Id', 'Name']],
    ['Id,Name\r\n1,a', false, ['Id', 'Name']],
    ['Id,Name', false, undefined],
    ['Id,Name', true, ['Id', 'Name']],
    ['"Id","Na', false, undefined],
    ['"Id","Name"', false, undefined],
    ['"Id","Name"', true, ['Id', 'Name']],
    ['"A\nB",C\n', false, ['A\nB', 'C']],
    ['\uFEFFId,Name\n', false, ['Id', 'Name']],
    ['', true, undefined],
  ])('%j (ended: %s)', (text, ended, header) => {
    expect(probeHeader(Buffer.from(text), ended)).toEqual(header ? { complete: true, header } : { complete: false });
  });
});

function chunked(text: string | Buffer, size: number): Readable {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks, { objectMode: false });
}

describe('readCsvHeader', () => {
  it.each<[string, string, number, string[], string]>([
    ['LF', 'Id,Name\n1,a\n', 1024, ['Id', 'Name'], 'Id,Name\n1,a\n'],
    ['CRLF split between chunks', 'Id,Name\r\n1,a\r\n', 8, ['Id', 'Name'], 'Id,Name\r\n1,a\r\n'],
    ['BOM stripped', '\uFEFFId,Name\n1,a\n', 1024, ['Id', 'Name'], 'Id,Name\n1,a\n'],
    ['BOM split over chunks', '\uFEFFId,Name\n1,a\n', 1, ['Id', 'Name'], 'Id,Name\n1,a\n'],
    [
      'quoted header cells with comma, quote and newline',
      '"Account.Id","Name, full","say ""hi""","multi\nline"\r\n1,2,3,4\r\n',
      3,
      ['Account.Id', 'Name, full', 'say "hi"', 'multi\nline'],
      '"Account.Id","Name, full","say ""hi""","multi\nline"\r\n1,2,3,4\r\n',
    ],
    ['header only, no newline', 'Id,Name', 1024, ['Id', 'Name'], 'Id,Name'],
    ['UTF-8 in the header', 'Id,Prénom\n1,é\n', 5, ['Id', 'Prénom'], 'Id,Prénom\n1,é\n'],
  ])('%s', async (_name, text, chunkSize, header, complete) => {
    const result = await readCsvHeader(chunked(text, chunkSize), { fileId: 'f1', object: 'Account' });
    expect(result.header).toEqual(header);
    expect(await readAll(result.csv)).toBe(complete);
  });

  it('an empty file is a DataError', async () => {
    const error = await caught(readCsvHeader(Readable.from([], { objectMode: false }), { fileId: 'f9', object: 'Invoice' }));
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toBe('result file f9 (Invoice) is empty: expected at least a header row');
  });

  it('reads no further than the chunk that completes the first record', async () => {
    let pulled = 0;
    function* source(): Generator<Buffer> {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield Buffer.from(i === 0 ? 'Id,Na' : i === 1 ? 'me\n1,a\n' : `${i},x\n`);
      }
    }
    const result = await readCsvHeader(Readable.from(source(), { objectMode: false }), { fileId: 'f1', object: 'Account' });
    expect(result.header).toEqual(['Id', 'Name']);
    // Readable.from reads ahead up to its highWaterMark (16 KiB), which these tiny chunks never reach... so bound by
    // what we asked for: the two chunks of the header plus the stream's own read-ahead.
    const pulledAtHeader = pulled;
    const all = await readAll(result.csv);
    expect(all.startsWith('Id,Name\n1,a\n2,x\n')).toBe(true);
    expect(all.split('\n')).toHaveLength(101);
    expect(pulledAtHeader).toBeLessThan(100);
  });

  it('passes download errors through unchanged', async () => {
    const { csv } = await readCsvHeader(brokenBody(Buffer.from('Id\n1\n')), { fileId: 'f1', object: 'Account' });
    expect(await caught(readAll(csv))).toBeInstanceOf(ZuoraTransientError);
  });
});
