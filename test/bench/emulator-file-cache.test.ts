// The emulator renders each result file once to its on-disk cache (during the first download, or ahead of the
// job's completion with renderFilesAhead) and serves later downloads from it: same bytes, same record counts.
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.ts';

const QUERY = 'select Id, ChargeAmount, ChargeName, UpdatedDate, Invoice.Id from InvoiceItem';

async function exportAll(emulator: Emulator, project: string): Promise<{ files: Buffer[]; recordCount: number; secondTry: Buffer[] }> {
  const tokenRes = await fetch(`${emulator.url}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: emulator.clientId, client_secret: emulator.clientSecret, grant_type: 'client_credentials' }),
  });
  const token = ((await tokenRes.json()) as { access_token: string }).access_token;
  const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
  const body = { format: 'gzip', version: '1.1', partner: 'aquasync', project, useQueryLabels: true, dateTimeUtc: true, queries: [{ name: 'ii', type: 'zoqlexport', query: QUERY }] };
  const submitted = (await (await fetch(`${emulator.url}/v1/batch-query/`, { method: 'POST', headers, body: JSON.stringify(body) })).json()) as { id: string };
  let job: { status: string; batches: { recordCount: number; segments?: string[]; fileId?: string }[] };
  for (;;) {
    job = (await (await fetch(`${emulator.url}/v1/batch-query/jobs/${submitted.id}`, { headers })).json()) as typeof job;
    if (job.status !== 'submitted' && job.status !== 'executing') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(job.status).toBe('completed');
  const batch = job.batches[0]!;
  const ids = batch.segments ?? [batch.fileId!];
  const download = async (): Promise<Buffer[]> =>
    Promise.all(ids.map(async (id) => Buffer.from(await (await fetch(`${emulator.url}/v1/files/${id}`, { headers })).arrayBuffer())));
  return { files: await download(), recordCount: batch.recordCount, secondTry: await download() };
}

const dataLines = (files: Buffer[]): number =>
  files.reduce((n, f) => n + gunzipSync(f).toString('utf8').split('\r\n').filter((l, i) => i > 0 && l !== '').length, 0);

describe('emulator result file cache', () => {
  let lazy: Emulator;
  let ahead: Emulator;
  beforeAll(async () => {
    const options = { rows: 2_500, seed: 7, segmentSize: 1_000, timing: { queuedMs: 0, executingMs: 0 } };
    lazy = await startEmulator(options);
    ahead = await startEmulator({ ...options, renderFilesAhead: true });
  });
  afterAll(async () => {
    await lazy.close();
    await ahead.close();
  });

  it.each([
    ['rendered on first download', () => lazy],
    ['rendered ahead of completion', () => ahead],
  ])('%s: segments add up to recordCount and a second download sends the same bytes', async (_label, get) => {
    const { files, recordCount, secondTry } = await exportAll(get(), 'cache');
    expect(files).toHaveLength(3);
    expect(recordCount).toBe(2_500);
    // Multi-line text values make physical lines outnumber records; compare decompressed bytes instead.
    expect(dataLines(files)).toBeGreaterThanOrEqual(recordCount);
    expect(secondTry.map((f) => gunzipSync(f).toString('utf8'))).toEqual(files.map((f) => gunzipSync(f).toString('utf8')));
  });
});
