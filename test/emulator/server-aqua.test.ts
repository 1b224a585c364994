// The emulator's AQuA HTTP surface: paths, auth, validation bodies, response fields, formats, headers,
// idempotency, retention, describe, the admin HTTP path and the request log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAdmin } from '../../src/emulator/index.ts';
import type { Emulator } from '../../src/emulator/index.ts';
import { Client, decode, start, stateful, stateless, unzip } from './server-helpers.ts';

let emu: Emulator;
let client: Client;

beforeAll(async () => {
  emu = await start({ concurrencyLimit: 3 });
  client = await Client.for(emu);
});
afterAll(() => emu.close());

describe('oauth and auth', () => {
  it('issues 32-hex bearer tokens with expires_in and rejects bad credentials with 401', async () => {
    expect(emu.clientId).toHaveLength(36);
    expect(emu.clientSecret).toHaveLength(40);
    const res = await fetch(`${emu.url}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: emu.clientId, client_secret: emu.clientSecret, grant_type: 'client_credentials' }),
    });
    const body = (await res.json()) as { access_token: string; expires_in: number; token_type: string };
    expect(body.access_token).toMatch(/^[0-9a-f]{32}$/);
    expect(body.expires_in).toBe(3599);
    expect(body.token_type).toBe('bearer');
    const bad = await fetch(`${emu.url}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: emu.clientId, client_secret: 'wrong', grant_type: 'client_credentials' }),
    });
    expect(bad.status).toBe(401);
  });

  it('answers 401 without a token, with an unknown token, and after expiry on the emulator clock', async () => {
    expect((await fetch(`${emu.url}/v1/batch-query/jobs/x`)).status).toBe(401);
    expect((await new Client(emu, 'f'.repeat(32)).request('GET', '/v1/batch-query/jobs/x')).status).toBe(401);
    const own = await Client.for(emu);
    expect((await own.request('GET', '/v1/batch-query/jobs/x')).status).toBe(200);
    emu.admin.clock.advance(3600 * 1000);
    expect((await own.request('GET', '/v1/batch-query/jobs/x')).status).toBe(401);
    client = await Client.for(emu);
  });

  it('admin.expireTokens invalidates every issued token', async () => {
    const own = await Client.for(emu);
    emu.admin.expireTokens();
    expect((await own.request('GET', '/v1/batch-query/jobs/x')).status).toBe(401);
    client = await Client.for(emu);
  });
});

describe('submit validation (HTTP 200 error bodies)', () => {
  it.each([
    ['syntax error', stateless('selec Id frm Account'), '90005'],
    ['unknown partner', stateful('select Id from Account', { partner: 'stitch' }), '90019'],
    ['stateless deleted without forceExport', stateless('select Id from Account', {}, { deleted: { column: 'IsDeleted', format: 'Boolean' } }), '90012'],
    ['invalid incrementalTime', stateful('select Id from Account', { incrementalTime: '2026-01-01T00:00:00' }), '90015'],
    ['impossible incrementalTime', stateful('select Id from Account', { incrementalTime: '2026-02-30 10:00:00' }), '90015'],
    ['deleted on an object without deleted support', stateful('select Id from PaymentTransactionLog', {}, { deleted: { column: 'IsDeleted', format: 'Boolean' } }), '90017'],
    ['no queries in 1.0', { format: 'csv', version: '1.0', queries: [] }, '90016'],
    ['51 queries', { ...stateless('select Id from Account'), queries: Array.from({ length: 51 }, (_, i) => ({ name: `q${i}`, type: 'zoqlexport', query: 'select Id from Account' })) }, '90004'],
  ])('%s -> %s', async (_name, body, code) => {
    const res = await client.request('POST', '/v1/batch-query/', body);
    expect(res.status).toBe(200);
    const json = (await res.json()) as Record<string, unknown>;
    expect(json.errorCode).toBe(code);
    expect(json.status).toBe('error');
    expect(typeof json.message).toBe('string');
    expect(json.id).toBeUndefined();
  });

  it.each([
    ['format json', stateless('select Id from Account', { format: 'json' })],
    ['unknown query type', { ...stateless('select Id from Account'), queries: [{ name: 'q', type: 'sql', query: 'select Id from Account' }] }],
    ['deleted format lower case', stateful('select Id from Account', {}, { deleted: { column: 'IsDeleted', format: 'boolean' } })],
    ['offset above 3600', stateful('select Id from Account', { offset: 3601 })],
    ['not JSON', '{oops'],
  ])('malformed: %s -> 50000090', async (_name, body) => {
    const res = await client.request('POST', '/v1/batch-query', body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: false, code: 50000090, message: 'Oops, request is malformed. Please check your request.' });
  });

  it('rejects over the per-mode concurrency limit with 90028 (stateful jobs do not count against stateless)', async () => {
    emu.admin.faults.add({ kind: 'stuck', times: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await client.submit(stateless('select Id from Account'))).id as string);
    const over = await client.submit(stateless('select Id from Account'));
    expect(over.errorCode).toBe('90028');
    const statefulOk = await client.submit(stateful('select Id from Account', { project: 'concurrency' }));
    expect(statefulOk.id).toMatch(/^[0-9a-f]{32}$/);
    for (const id of ids) await client.json('DELETE', `/v1/batch-query/jobs/${id}`);
    emu.admin.faults.clear();
    await client.wait(statefulOk.id as string);
  });
});

describe('jobs, files and formats', () => {
  it('submit and GET responses carry the documented fields', async () => {
    const submitted = await client.submit(stateful('select Id, Name from Account', { project: 'fields', offset: 0 }));
    expect(submitted).toMatchObject({
      status: 'submitted',
      version: '1.1',
      format: 'CSV',
      encrypted: 'none',
      partner: 'aquasync',
      project: 'fields',
      useLastCompletedJobQueries: false,
      offset: 0,
      sourceData: 'LIVE',
    });
    expect(submitted.id).toMatch(/^[0-9a-f]{32}$/);
    expect(submitted.batches[0]).toMatchObject({ name: 'q', batchType: 'zoqlexport', status: 'pending', localizedStatus: 'pending', recordCount: 0, full: true });
    const job = await client.wait(submitted.id as string);
    expect(job.status).toBe('completed');
    expect(job.startTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const batch = job.batches[0];
    expect(batch.localizedStatus).toBe('completed');
    expect(batch.recordCount).toBe(emu.admin.rows('Account').length);
    expect(batch.segments ?? [batch.fileId]).toHaveLength(1);
  });

  it('startTimeFormat iso renders 2021-01-18T17:13:48+0000 style', async () => {
    const other = await start({ startTimeFormat: 'iso' });
    try {
      const c = await Client.for(other);
      const job = await c.run(stateless('select Id from Account'));
      expect(job.startTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0000$/);
    } finally {
      await other.close();
    }
  });

  it.each([
    ['csv', 'text/csv;charset=UTF-8'],
    ['gzip', 'application/x-gzip;charset=UTF-8'],
    ['zip', 'application/zip;charset=UTF-8'],
  ] as const)('format %s: content type %s and every row once', async (format, contentType) => {
    const job = await client.run(stateless('select Id, AccountNumber from Account', { format }));
    expect(job.format).toBe(format.toUpperCase());
    const fileId = job.batches[0].fileId as string;
    const res = await client.request('GET', `/v1/files/${fileId}`);
    expect(res.headers.get('content-type')).toBe(contentType);
    const raw = Buffer.from(await res.arrayBuffer());
    if (format === 'zip') expect((await unzip(raw)).map((e) => e.name)).toEqual(['q.csv']);
    const text = await decode(raw, format);
    const lines = text.trim().split(/\r?\n/);
    expect(lines[0]).toBe('Account.Id,Account.AccountNumber');
    const ids = lines.slice(1).map((l) => l.split(',')[0]);
    expect(new Set(ids)).toEqual(new Set(emu.admin.rows('Account').filter((r) => r.deletedAt === undefined).map((r) => r.values.Id)));
  });

  it.each(['/v1/file/', '/v1/files/', '/apps/api/file/', '/apps/api/batch-query/file/', '/v1/files/{id}/'])(
    'serves files at %s',
    async (variant) => {
      const job = await client.run(stateless('select Id from Product'));
      const id = job.batches[0].fileId as string;
      const path = variant.includes('{id}') ? variant.replace('{id}', id) : `${variant}${id}`;
      const res = await client.request('GET', path);
      expect(res.status).toBe(200);
      expect((await res.text()).startsWith('Product.Id')).toBe(true);
    },
  );

  it('accepts /apps/api/batch-query paths for submit, get, cancel and last-completed', async () => {
    const submitted = await client.submit(stateful('select Id from Product', { project: 'apps' }), '/apps/api/batch-query/');
    const job = await client.wait(submitted.id as string, '/apps/api/batch-query/jobs/');
    expect(job.status).toBe('completed');
    const last = await client.json('GET', '/apps/api/batch-query/jobs/partner/aquasync/project/apps/');
    expect(last.id).toBe(submitted.id);
    const cancel = await client.json('DELETE', `/apps/api/batch-query/jobs/${submitted.id as string}`);
    expect(cancel.errorCode).toBe('90003');
  });

  it('cancels a running job; unknown jobs answer 90002', async () => {
    emu.admin.faults.add({ kind: 'stuck' });
    const submitted = await client.submit(stateless('select Id from Account'));
    const cancelled = await client.json('DELETE', `/v1/batch-query/jobs/${submitted.id as string}`);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.batches[0].status).toBe('cancelled');
    emu.admin.faults.clear();
    expect((await client.json('GET', `/v1/batch-query/jobs/${'0'.repeat(32)}`)).errorCode).toBe('90002');
    expect((await client.json('GET', '/v1/batch-query/jobs/partner/aquasync/project/never')).errorCode).toBe('90002');
  });

  it('file status endpoint and retention: 404 once the clock passes fileRetentionMs, and after expireFiles', async () => {
    const job = await client.run(stateless('select Id from Account'));
    const id = job.batches[0].fileId as string;
    expect(await client.json('GET', `/v1/files/${id}/status`)).toEqual({ success: true, accessible: true, status: 'RESTORED' });
    emu.admin.clock.advance(3 * 86_400_000 + 1000);
    client = await Client.for(emu);
    expect((await client.request('GET', `/v1/files/${id}`)).status).toBe(404);
    expect((await client.request('GET', `/v1/files/${id}/status`)).status).toBe(404);
    const fresh = await client.run(stateless('select Id from Account'));
    emu.admin.expireFiles();
    expect((await client.request('GET', `/v1/file/${fresh.batches[0].fileId as string}`)).status).toBe(404);
  });
});

describe('headers, idempotency, describe', () => {
  it('echoes Zuora-Track-Id and emits request, rate-limit and concurrency headers', async () => {
    const res = await client.request('GET', '/v1/batch-query/jobs/x', undefined, { 'Zuora-Track-Id': 'track-123' });
    expect(res.headers.get('zuora-track-id')).toBe('track-123');
    expect(res.headers.get('zuora-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    for (const h of ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'concurrency-limit-type', 'concurrency-limit-limit', 'concurrency-limit-remaining']) {
      expect(res.headers.get(h), h).not.toBeNull();
    }
  });

  it('replays the original response for a repeated Idempotency-Key and creates one job', async () => {
    const body = stateless('select Id from Account');
    const first = await client.json('POST', '/v1/batch-query/', body, { 'Idempotency-Key': 'k-1' });
    const second = await client.json('POST', '/v1/batch-query/', body, { 'Idempotency-Key': 'k-1' });
    expect(second).toEqual(first);
    const third = await client.json('POST', '/v1/batch-query/', body, { 'Idempotency-Key': 'k-2' });
    expect(third.id).not.toBe(first.id);
    expect(emu.admin.jobs().filter((j) => j.id === first.id)).toHaveLength(1);
  });

  it('describes objects as XML and lists them', async () => {
    const res = await client.request('GET', '/v1/describe/InvoiceItem');
    expect(res.headers.get('content-type')).toContain('xml');
    const xml = await res.text();
    expect(xml).toContain('<name>InvoiceItem</name>');
    expect(await (await client.request('GET', '/v1/describe/')).text()).toContain('Account');
    expect((await client.request('GET', '/v1/describe/NoSuchThing')).status).toBe(404);
  });
});

describe('admin', () => {
  it('the HTTP admin path mirrors the in-process handle', async () => {
    const remote = connectAdmin(emu.url);
    const before = await remote.clock.now();
    await remote.clock.advance(60_000);
    expect(await remote.clock.now()).toBeGreaterThanOrEqual(before + 60_000);
    const rows = await remote.rows('Product');
    const id = rows[0]!.values.Id as string;
    await remote.update('Product', id, { Name: 'Renamed' });
    expect(emu.admin.rows('Product').find((r) => r.values.Id === id)?.values.Name).toBe('Renamed');
    await remote.remove('Product', id);
    expect(emu.admin.rows('Product').find((r) => r.values.Id === id)?.deletedAt).toBeTypeOf('number');
    const newId = await remote.insert('Product', { Name: 'New' });
    expect((await remote.rows('Product')).some((r) => r.values.Id === newId)).toBe(true);
    const faultId = await remote.faults.add({ kind: 'status', status: 503, route: 'describe' });
    expect(faultId).toBeTypeOf('string');
    expect((await client.request('GET', '/v1/describe/Account')).status).toBe(503);
    await remote.faults.clear();
    expect((await remote.jobs()).length).toBeGreaterThan(0);
    await remote.expireTokens();
    expect((await client.request('GET', '/v1/describe/Account')).status).toBe(401);
    client = await Client.for(emu);
    await expect(remote.faults.add({ kind: 'nope' } as never)).rejects.toThrow(/unknown fault kind/);
  });

  it('logs requests with the secret parts redacted', async () => {
    emu.admin.clearRequests();
    const c = await Client.for(emu);
    await c.request('GET', '/v1/batch-query/jobs/x?a=1');
    const log = emu.admin.requests();
    expect(log.map((e) => `${e.method} ${e.path}`)).toEqual(['POST /oauth/token', 'GET /v1/batch-query/jobs/x?a=1']);
    expect((log[0]!.body as Record<string, string>).client_secret).toBe('***');
    expect((log[0]!.body as Record<string, string>).client_id).toBe(emu.clientId);
    expect(log[1]!.headers.authorization).toBe('Bearer ***');
    expect(JSON.stringify(log)).not.toContain(emu.clientSecret);
    expect(JSON.stringify(log)).not.toContain(c.bearer);
  });
});
