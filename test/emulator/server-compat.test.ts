// What real AQuA clients send that aquasync does not: duplicate and trailing slashes, the /apps/api family, the
// legacy header and Basic authentication, Accept-Encoding: gzip on JSON.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import type { Emulator } from '../../src/emulator/index.ts';
import { normalisePath } from '../../src/emulator/server.ts';
import { Client, start, stateful } from './server-helpers.ts';

let emu: Emulator;
let client: Client;

beforeAll(async () => {
  emu = await start({ segmentation: false });
  client = await Client.for(emu);
});
afterAll(() => emu.close());

describe('paths', () => {
  it.each([
    ['/v1/batch-query//jobs/abc', '/v1/batch-query/jobs/abc'],
    ['//v1///batch-query/jobs//abc//', '/v1/batch-query/jobs/abc'],
    ['/apps/api/file/x/', '/apps/api/file/x'],
    ['/', '/'],
    ['//', '/'],
  ])('%s routes as %s', (given, expected) => {
    expect(normalisePath(given)).toBe(expected);
  });

  it('serves one job through every path family, with doubled and trailing slashes anywhere', async () => {
    const submitted = await client.submit(stateful('select Id, Name from Account', { partner: 'salesforce', project: 'families' }), '//apps//api/batch-query//');
    expect(submitted.id).toMatch(/^[0-9a-f]{32}$/);
    const id = submitted.id as string;
    const done = await client.wait(id, '/apps/api/batch-query/jobs/');
    expect(done.status).toBe('completed');
    for (const path of [`/v1/batch-query//jobs/${id}`, `/apps/api/batch-query/jobs/${id}/`, `//v1/batch-query/jobs//${id}//`]) {
      expect((await client.json('GET', path)).id, path).toBe(id);
    }
    for (const path of ['/v1/batch-query/jobs/partner/salesforce/project/families', '/apps/api/batch-query/jobs/partner/salesforce//project/families/']) {
      expect((await client.json('GET', path)).id, path).toBe(id);
    }
    const fileId = (done.batches as { fileId: string }[])[0]!.fileId;
    const bodies = new Set<string>();
    for (const prefix of ['/v1/files/', '/v1/file/', '/apps/api/file/', '/apps/api/batch-query/file/', '//v1//files//']) {
      const res = await client.request('GET', `${prefix}${fileId}/`);
      expect(res.status, prefix).toBe(200);
      bodies.add(await res.text());
    }
    expect(bodies.size).toBe(1);
    expect((parse([...bodies][0]!) as string[][]).length - 1).toBe(emu.admin.rows('Account').filter((r) => r.deletedAt === undefined).length);
    for (const path of ['/apps/api/describe/Account', '/v1//describe/Account/']) {
      expect(await (await client.request('GET', path)).text(), path).toContain('<name>Account</name>');
    }
  });

  it('cancels through /apps/api as through /v1', async () => {
    emu.admin.faults.add({ kind: 'stuck' });
    const submitted = await client.submit(stateful('select Id from Account', { partner: 'salesforce', project: 'cancel-apps' }));
    const cancelled = await client.json('DELETE', `/apps/api/batch-query/jobs/${String(submitted.id)}/`);
    expect(cancelled.status).toBe('cancelled');
    emu.admin.faults.clear();
  });
});

describe('authentication', () => {
  const job = async (headers: Record<string, string>, path = '/apps/api/batch-query/jobs/none'): Promise<number> =>
    (await fetch(`${emu.url}${path}`, { headers })).status;

  it('accepts the legacy apiAccessKeyId/apiSecretAccessKey headers and HTTP Basic on both families', async () => {
    const legacy = { apiAccessKeyId: emu.clientId, apiSecretAccessKey: emu.clientSecret };
    const basic = { Authorization: `Basic ${Buffer.from(`${emu.clientId}:${emu.clientSecret}`).toString('base64')}` };
    for (const path of ['/apps/api/batch-query/jobs/none', '/v1/batch-query/jobs/none']) {
      expect(await job(legacy, path), path).toBe(200);
      expect(await job(basic, path), path).toBe(200);
    }
    expect(await job({ apiAccessKeyId: emu.clientId, apiSecretAccessKey: 'wrong' })).toBe(401);
    expect(await job({ Authorization: `Basic ${Buffer.from(`${emu.clientId}:wrong`).toString('base64')}` })).toBe(401);
    expect(await job({})).toBe(401);
  });
});

describe('Accept-Encoding: gzip on JSON', () => {
  it('gzips JSON answers over 1000 bytes when asked, and only then', async () => {
    const queries = Array.from({ length: 5 }, (_, i) => ({ name: `q${i}`, type: 'zoqlexport', query: 'select Id from Account' }));
    const submitted = await client.submit({ ...stateful('select Id from Account', { partner: 'salesforce', project: 'gzip' }), queries });
    const path = `/v1/batch-query/jobs/${String(submitted.id)}`;
    // Node's fetch asks for gzip and decodes it; read the raw wire with node:http to see the encoding.
    const { request } = await import('node:http');
    const raw = (acceptEncoding: string | undefined): Promise<{ encoding: string | undefined; type: string | undefined; length: number }> =>
      new Promise((resolve, reject) => {
        const req = request(
          `${emu.url}${path}`,
          { headers: { Authorization: `Bearer ${client.bearer}`, ...(acceptEncoding === undefined ? {} : { 'Accept-Encoding': acceptEncoding }) } },
          (res) => {
            let length = 0;
            res.on('data', (c: Buffer) => (length += c.length));
            res.on('end', () => resolve({ encoding: res.headers['content-encoding'], type: res.headers['content-type'], length }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const plain = await raw(undefined);
    expect(plain.encoding).toBeUndefined();
    expect(plain.length).toBeGreaterThan(1000);
    const gz = await raw('gzip, deflate');
    expect(gz.encoding).toBe('gzip');
    expect(gz.type).toMatch(/^application\/json/);
    expect(gz.length).toBeLessThan(plain.length);
    const small = await new Promise<string | undefined>((resolve) => {
      request(`${emu.url}/v1/batch-query/jobs/none`, { headers: { Authorization: `Bearer ${client.bearer}`, 'Accept-Encoding': 'gzip' } }, (res) => {
        res.resume();
        resolve(res.headers['content-encoding']);
      }).end();
    });
    expect(small).toBeUndefined();
  });
});
