// The client against the local emulator (src/emulator): the same HTTP conversation a real sync has.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { startEmulator, type Emulator } from '../../src/emulator/index.ts';
import {
  ZuoraAuthError,
  ZuoraFileExpiredError,
  ZuoraJobFailedError,
  ZuoraRejectedError,
} from '../../src/errors.ts';
import { ZuoraClient, batchFileIds, type AquaJobRequest } from '../../src/zuora/index.ts';

let emulator: Emulator;
let client: ZuoraClient;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, rows: 50, timing: { queuedMs: 50, executingMs: 100 } });
  client = new ZuoraClient({
    baseUrl: emulator.url,
    clientId: emulator.clientId,
    clientSecret: emulator.clientSecret,
    retry: { attempts: 4, baseDelayMs: 10, maxDelayMs: 2000 },
    poll: { minIntervalMs: 20, maxIntervalMs: 100 },
  });
});
afterAll(async () => {
  await emulator?.close();
});

let counter = 0;
function request(format: AquaJobRequest['format'] = 'gzip'): AquaJobRequest {
  counter++;
  return {
    format,
    version: '1.1',
    name: `client-test-${counter}`,
    encrypted: 'none',
    useQueryLabels: 'true',
    dateTimeUtc: 'true',
    partner: 'aquasync',
    project: `client-test-${counter}`,
    queries: [{ name: 'Account', query: 'select Id, Name, UpdatedDate from Account', type: 'zoqlexport' }],
  };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

describe('ZuoraClient against the emulator', () => {
  it('submits, polls, downloads and describes', async () => {
    const submitted = await client.submitJob(request(), 'emu-key-1');
    expect(submitted.status).toBe('submitted');
    const seen = new Set<string>();
    const job = await client.waitForJob(submitted.id, { timeoutMs: 30_000, onStatus: (j) => seen.add(j.status) });
    expect(job.status).toBe('completed');
    expect(seen.has('completed')).toBe(true);
    const batch = job.batches[0];
    expect(batch?.name).toBe('Account');
    const [fileId] = batchFileIds(batch!);
    const file = await client.openFile(fileId!);
    const csv = gunzipSync(await readAll(file.body)).toString('utf8');
    // Names can hold quoted newlines: count records with a CSV parser, never by lines.
    const records = parse(csv, { bom: true }) as string[][];
    expect(records[0]).toEqual(['Account.Id', 'Account.Name', 'Account.UpdatedDate']);
    expect(records.length - 1).toBe(batch!.recordCount);

    const described = await client.describe('Account');
    expect(described.name).toBe('Account');
    expect(described.fields.some((f) => f.name === 'Id' && f.contexts.includes('export'))).toBe(true);

    const last = await client.lastCompletedJob('aquasync', job.project ?? '');
    expect(last?.id).toBe(job.id);
  });

  it('replays a submit with the same Idempotency-Key', async () => {
    const body = request();
    const first = await client.submitJob(body, 'emu-key-replay');
    const second = await client.submitJob(body, 'emu-key-replay');
    expect(second.id).toBe(first.id);
  });

  it('survives a 503 and an expired token', async () => {
    emulator.admin.faults.add({ kind: 'status', status: 503, route: 'job' });
    emulator.admin.faults.add({ kind: 'expire-tokens', route: 'job' });
    const submitted = await client.submitJob(request(), 'emu-key-2');
    expect((await client.waitForJob(submitted.id, { timeoutMs: 30_000 })).status).toBe('completed');
  });

  it('reports HTTP-200 rejections, aborted jobs and expired files with typed errors', async () => {
    const rejected = await client.submitJob({ ...request(), partner: 'nobody' }, 'emu-key-3').catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(ZuoraRejectedError);
    expect((rejected as ZuoraRejectedError).zuoraCode).toBe('90019');

    emulator.admin.faults.add({ kind: 'abort-batch', message: 'java.lang.RuntimeException: You must specify a select.' });
    const aborted = await client.submitJob(request(), 'emu-key-4');
    const failure = await client.waitForJob(aborted.id, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ZuoraJobFailedError);
    expect((failure as Error).message).toContain('batch Account: java.lang.RuntimeException: You must specify a select.');

    const done = await client.waitForJob((await client.submitJob(request(), 'emu-key-5')).id, { timeoutMs: 30_000 });
    emulator.admin.expireFiles();
    const [fileId] = batchFileIds(done.batches[0]!);
    expect(await client.openFile(fileId!).catch((e: unknown) => e)).toBeInstanceOf(ZuoraFileExpiredError);
  });

  it('refuses wrong credentials without leaking them', async () => {
    const bad = new ZuoraClient({ baseUrl: emulator.url, clientId: emulator.clientId, clientSecret: 'wrong-secret-value' });
    const error = await bad.getJob('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZuoraAuthError);
    expect((error as Error).message).not.toContain('wrong-secret-value');
  });
});
