// Every injectable fault, observed through real HTTP.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.ts';
import { Client, start, stateless } from './server-helpers.ts';

let emu: Emulator;
let client: Client;

beforeAll(async () => {
  emu = await start({ rows: 200 });
  client = await Client.for(emu);
});
afterAll(() => emu.close());
beforeEach(() => emu.admin.faults.clear());

async function fileId(): Promise<string> {
  const job = await client.run(stateless('select Id, ChargeName, ChargeAmount, ChargeDate from InvoiceItem'));
  return job.batches[0].fileId as string;
}

describe('faults', () => {
  it.each([429, 500, 502, 503] as const)('status %i on the submit route fires `times` times, with Retry-After', async (status) => {
    emu.admin.faults.add({ kind: 'status', status, route: 'submit', retryAfterSeconds: 7, times: 2 });
    expect((await client.request('GET', '/v1/batch-query/jobs/x')).status).toBe(200);
    const first = await client.request('POST', '/v1/batch-query/', stateless('select Id from Account'));
    expect(first.status).toBe(status);
    expect(first.headers.get('retry-after')).toBe('7');
    expect((await client.request('POST', '/v1/batch-query/', stateless('select Id from Account'))).status).toBe(status);
    expect((await client.request('POST', '/v1/batch-query/', stateless('select Id from Account'))).status).toBe(200);
  });

  it('every=N fires on each Nth matching request, for good unless times limits it', async () => {
    emu.admin.faults.add({ kind: 'status', status: 429, route: 'job', every: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await client.request('GET', '/v1/batch-query/jobs/x')).status);
    expect(statuses).toEqual([200, 200, 429, 200, 200, 429, 200, 200, 429]);
    emu.admin.faults.clear();
    emu.admin.faults.add({ kind: 'status', status: 503, route: 'job', every: 2, times: 1 });
    statuses.length = 0;
    for (let i = 0; i < 6; i++) statuses.push((await client.request('GET', '/v1/batch-query/jobs/x')).status);
    expect(statuses).toEqual([200, 503, 200, 200, 200, 200]);
    expect(() => emu.admin.faults.add({ kind: 'stuck', every: 0 })).toThrow(/every must be a positive integer/);
  });

  it('delay acts on the submit at once but holds its response back', async () => {
    emu.admin.faults.add({ kind: 'delay', ms: 400, route: 'submit' });
    const before = emu.admin.jobs().length;
    let answered = false;
    const pending = client.request('POST', '/v1/batch-query/', stateless('select Id from Account')).then((r) => {
      answered = true;
      return r;
    });
    // The job exists on the server while the client still waits: a client killed now never learns its id.
    while (emu.admin.jobs().length === before) await new Promise((r) => setTimeout(r, 5));
    expect(answered).toBe(false);
    expect((await pending).status).toBe(200);
    expect(emu.admin.jobs()).toHaveLength(before + 1);
  });

  it('status on the token route', async () => {
    emu.admin.faults.add({ kind: 'status', status: 429, route: 'token' });
    await expect(Client.for(emu)).rejects.toThrow(/429/);
    await expect(Client.for(emu)).resolves.toBeInstanceOf(Client);
  });

  it('reset cuts the file body after afterBytes', async () => {
    const id = await fileId();
    const full = await client.file(id);
    expect(full.length).toBeGreaterThan(2000);
    emu.admin.faults.add({ kind: 'reset', afterBytes: 1000 });
    const res = await client.request('GET', `/v1/files/${id}`);
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
    expect((await client.file(id)).equals(full)).toBe(true);
  });

  it('slow throttles the body but delivers it whole', async () => {
    const id = await fileId();
    const full = await client.file(id);
    emu.admin.faults.add({ kind: 'slow', bytesPerSecond: full.length * 4 });
    const began = Date.now();
    const slow = await client.file(id);
    expect(slow.equals(full)).toBe(true);
    expect(Date.now() - began).toBeGreaterThanOrEqual(150);
  });

  it('abort-batch aborts the job on the named object with the message', async () => {
    emu.admin.faults.add({ kind: 'abort-batch', message: 'java.lang.RuntimeException: You must specify a select.', object: 'Product' });
    const body = stateless('select Id from Account');
    body.queries.push({ name: 'p', type: 'zoqlexport', query: 'select Id from Product' });
    const job = await client.run(body);
    expect(job.status).toBe('aborted');
    expect(job.batches.map((b: { status: string }) => b.status)).toEqual(['completed', 'aborted']);
    expect(job.batches[1].message).toBe('java.lang.RuntimeException: You must specify a select.');
    expect(job.batches[1].fileId).toBeUndefined();
  });

  it('stuck keeps the job executing until the faults are cleared', async () => {
    emu.admin.faults.add({ kind: 'stuck' });
    const submitted = await client.submit(stateless('select Id from Account'));
    await new Promise((r) => setTimeout(r, 120));
    expect((await client.json('GET', `/v1/batch-query/jobs/${submitted.id as string}`)).status).toBe('executing');
    emu.admin.faults.clear();
    expect((await client.wait(submitted.id as string)).status).toBe('completed');
  });

  it('job-error ends the job with status error and 90029', async () => {
    emu.admin.faults.add({ kind: 'job-error' });
    const job = await client.run(stateless('select Id from Account'));
    expect(job).toMatchObject({ status: 'error', errorCode: '90029' });
  });

  it('too-large answers 403 with max-object-size; expired-file answers 404', async () => {
    const id = await fileId();
    emu.admin.faults.add({ kind: 'too-large' });
    const big = await client.request('GET', `/v1/files/${id}`);
    expect(big.status).toBe(403);
    expect(await big.text()).toContain('<security:max-object-size>2047MB</security:max-object-size>');
    emu.admin.faults.add({ kind: 'expired-file' });
    expect((await client.request('GET', `/v1/file/${id}`)).status).toBe(404);
    expect((await client.request('GET', `/v1/file/${id}`)).status).toBe(200);
  });

  it('submit-error returns an HTTP 200 error body', async () => {
    emu.admin.faults.add({ kind: 'submit-error', errorCode: '90022', message: 'Internal error. Retry the query.' });
    const res = await client.request('POST', '/v1/batch-query/', stateless('select Id from Account'));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ errorCode: '90022', message: 'Internal error. Retry the query.', status: 'error' });
  });

  it('expire-tokens invalidates every token on the next matching request', async () => {
    emu.admin.faults.add({ kind: 'expire-tokens', route: 'job' });
    expect((await client.request('GET', '/v1/describe/Account')).status).toBe(200);
    expect((await client.request('GET', '/v1/batch-query/jobs/x')).status).toBe(401);
    expect((await client.request('GET', '/v1/describe/Account')).status).toBe(401);
    client = await Client.for(emu);
    expect((await client.request('GET', '/v1/batch-query/jobs/x')).status).toBe(200);
  });

  it('concurrency limit delivered as HTTP 429 when configured', async () => {
    const other = await start({ concurrencyLimit: 1, concurrencyLimitStatus: 429 });
    try {
      const c = await Client.for(other);
      other.admin.faults.add({ kind: 'stuck' });
      await c.submit(stateless('select Id from Account'));
      const res = await c.request('POST', '/v1/batch-query/', stateless('select Id from Account'));
      expect(res.status).toBe(429);
      expect(((await res.json()) as { errorCode: string }).errorCode).toBe('90028');
    } finally {
      await other.close();
    }
  });
});
