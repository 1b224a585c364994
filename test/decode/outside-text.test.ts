// Text from Zuora (header cells, job and batch messages) reaches logs, errors and tables on one line and bounded;
// reading a header is linear in its size. Real streams, a real HTTP stand-in for Zuora, the real planner.
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { readCsvHeader } from '../../src/decode/index.ts';
import { DataError, ZuoraJobFailedError } from '../../src/errors.ts';
import { planTable } from '../../src/plan/index.ts';
import { outsideList, outsideText, storedText, MAX_STORED_MESSAGE } from '../../src/text.ts';
import { ZuoraClient } from '../../src/zuora/index.ts';
import { objectConfig } from '../plan/fixtures.ts';
import { CLIENT_ID, CLIENT_SECRET, jobBody, json, startFakeZuora, type FakeZuora } from '../zuora/fake-zuora.ts';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const FORGED = 'Account.Name\n2026-12-03T09:00:00Z [billing] sync succeeded: loaded 0 row(s)\u001b[2K';

function chunked(text: string, size: number): Readable {
  const bytes = Buffer.from(text);
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) parts.push(bytes.subarray(at, at + size));
  return Readable.from(parts);
}

async function headerTime(columns: number): Promise<{ ms: number; cells: number }> {
  const header = Array.from({ length: columns }, (_, i) => `Account.Field${String(i).padStart(6, '0')}`).join(',');
  const started = process.hrtime.bigint();
  const { header: cells, csv } = await readCsvHeader(chunked(`${header}\nrow\n`, 1024), { fileId: 'f', object: 'Account' });
  csv.destroy();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, cells: cells.length };
}

describe('reading a header', () => {
  it('is linear: a 1 MB header in 1 KB chunks takes about ten times a 100 KB one, and well under a second', async () => {
    await headerTime(1000); // warm-up (module loading, JIT)
    const small = await headerTime(4_700); // ~100 KB
    const large = await headerTime(47_000); // ~1 MB (just under the 1 MiB limit)
    expect(small.cells).toBe(4_700);
    expect(large.cells).toBe(47_000);
    // Quadratic reading (re-parsing the whole prefix per chunk) is ~100x and many seconds here.
    expect(large.ms).toBeLessThan(Math.max(30 * small.ms, 200));
    expect(large.ms).toBeLessThan(3000);
  });

  it('still finds a header whose quoted cells hold quotes and line breaks, split anywhere', async () => {
    const text = '"A.x","B ""quoted""\nmore",C\r\n1,2,3\r\n';
    for (const size of [1, 2, 3, 7, 100]) {
      const { header, csv } = await readCsvHeader(chunked(text, size), { fileId: 'f', object: 'A' });
      expect(header).toEqual(['A.x', 'B "quoted"\nmore', 'C']);
      let all = '';
      for await (const chunk of csv) all += String(chunk);
      expect(all).toBe(text);
    }
  });

  it('reports a header that is not CSV once, not as a stack of retries', async () => {
    await expect(readCsvHeader(chunked('a,"b\n', 2), { fileId: 'f', object: 'A' })).rejects.toThrow(DataError);
  });
});

describe('header cells in messages', () => {
  it('a forged header cell does not forge a log line, and 10,000 columns make a short message', () => {
    const header = ['Account.Id', FORGED, ...Array.from({ length: 10_000 }, (_, i) => `Account.Extra${i}`)];
    const object = objectConfig({ name: 'Account', fields: ['Id', 'Name'] });
    let error: unknown;
    try {
      planTable({ schema: 'zuora', object, header, describe: () => undefined });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DataError);
    const message = (error as DataError).message;
    expect(message).toMatch(/does not match the query: expected \[Account\.Id, Account\.Name\], got \[Account\.Id, Account\.Name 2026-12-03T09:00:00Z/);
    expect(message).toMatch(/… and 9982 more\]$/);
    expect(message).not.toMatch(CONTROL);
    expect(message.length).toBeLessThan(2500);
  });
});

describe('Zuora messages', () => {
  let zuora: FakeZuora | undefined;
  afterEach(async () => zuora?.close());

  it('a batch message with line breaks and 100 KB fails the job with one bounded line', async () => {
    zuora = await startFakeZuora({
      'GET /v1/batch-query/jobs/j1': (_q, res) =>
        json(res, 200, { ...jobBody('j1', 'aborted', [{ name: 'Account', status: 'aborted', message: `${FORGED}${'x'.repeat(100_000)}` }]), message: FORGED }),
    });
    const client = new ZuoraClient({ baseUrl: zuora.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    const error = await client.waitForJob('j1', { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZuoraJobFailedError);
    const message = (error as Error).message;
    expect(message).toContain('batch Account: Account.Name 2026-12-03T09:00:00Z [billing] sync succeeded');
    expect(message).not.toMatch(CONTROL);
    expect(message.length).toBeLessThan(1500);
  });
});

describe('the helpers', () => {
  it('outsideText flattens controls and bidi overrides and cuts with a note', () => {
    expect(outsideText('a\r\nb\u202ec\u0000d')).toBe('a b c d');
    expect(outsideText('x'.repeat(10), 4)).toBe('xxxx… (6 more characters)');
    expect(outsideList(['a', 'b\nc', 'd'], 2)).toBe('[a, b c, … and 1 more]');
  });

  it('storedText bounds what a state table keeps', () => {
    expect(storedText('y'.repeat(150_000)).length).toBeLessThan(MAX_STORED_MESSAGE + 40);
    expect(storedText('short\nmessage')).toBe('short\nmessage');
  });
});
