// Three public Zuora clients nobody here wrote, replayed byte for byte over real HTTP against the emulator: each
// must get every row it asked for. See public-clients.ts for where each request comes from.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import type { Emulator } from '../../src/emulator/index.ts';
import { start } from './server-helpers.ts';
import { airbyteSourceZuora, airbyteWindowQuery, tapZuora, zuoraAquaClientCli, type Target } from './public-clients.ts';

const CLIENT_ID = '2c92c0f8-6b1f-4c1e-9d2a-5f0e3b7a9c11';
const CLIENT_SECRET = 'Zq8nR2vK5tY7wB1xC4mD6fH9jL0pS3uA';

let plain: Emulator;
let unsegmented: Emulator;

const target = (emu: Emulator): Target => ({ port: Number(new URL(emu.url).port), clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
const liveIds = (emu: Emulator, object: string): Set<unknown> =>
  new Set(emu.admin.rows(object).filter((r) => r.deletedAt === undefined).map((r) => r.values.Id));
const csvIds = (files: string[], column: string): unknown[] =>
  files.flatMap((text) => {
    const [header = [], ...rows] = parse(text) as string[][];
    const i = header.indexOf(column);
    expect(i, `${column} in ${header.join(',')}`).toBeGreaterThanOrEqual(0);
    return rows.map((r) => r[i]);
  });

beforeAll(async () => {
  plain = await start({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  // zuora-aqua-client-cli reads only `fileId`, so it needs a tenant without segmentation (Zuora's default; the
  // flag is enabled per tenant by Global Support), and its partner must be one the tenant knows.
  unsegmented = await start({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    segmentation: false,
    partners: ['aquasync', 'salesforce', 'mypartner'],
  });
});
afterAll(async () => {
  await plain.close();
  await unsegmented.close();
});

describe('public AQuA clients, replayed byte for byte', () => {
  it('singer-io/tap-zuora (legacy apiAccessKeyId headers): probe, describe, a stateful job, its segments', async () => {
    plain.admin.clearRequests();
    const replay = await tapZuora(target(plain), 'salesforce');
    expect(replay.discoverJob.id).toMatch(/^[0-9a-f]{32}$/);
    expect(replay.sent.slice(0, 5)).toEqual([
      'POST /v1/batch-query/',
      `DELETE /v1/batch-query/jobs/${String(replay.discoverJob.id)}`,
      'GET /v1/describe',
      'GET /v1/describe/Account',
      'POST /v1/batch-query/',
    ]);
    expect(replay.sent.at(-1)).toMatch(/^GET \/v1\/file\/[0-9a-f]{32}$/);
    // The emulator saw the paths as sent and the legacy credentials (secret redacted in its log).
    const log = plain.admin.requests();
    expect(log.map((e) => `${e.method} ${e.path}`)).toEqual(replay.sent);
    expect(log.every((e) => e.headers.apiaccesskeyid === CLIENT_ID && e.headers.apisecretaccesskey === '***')).toBe(true);
    expect(log.some((e) => e.headers.authorization !== undefined)).toBe(false);
    expect(new Set(csvIds(replay.files, 'Account.Id'))).toEqual(liveIds(plain, 'Account'));
  });

  it('molnarjani/zuora-aqua-client-cli: OAuth, the double-slash poll, /apps/api/file downloads', async () => {
    unsegmented.admin.clearRequests();
    const replay = await zuoraAquaClientCli(target(unsegmented), 'mypartner');
    expect(replay.sent[0]).toBe('POST /oauth/token');
    expect(replay.sent[1]).toBe('POST /v1/batch-query/');
    expect(replay.sent.filter((s) => s.startsWith('GET /v1/batch-query//jobs/')).length).toBeGreaterThanOrEqual(1);
    expect(replay.sent.filter((s) => s.startsWith('GET /apps/api/file/'))).toHaveLength(3);
    expect(unsegmented.admin.requests().map((e) => `${e.method} ${e.path}`)).toEqual(replay.sent);
    const [accounts = '', items = '', contacts = ''] = replay.files;
    expect(new Set(csvIds([accounts], 'Account.Id'))).toEqual(liveIds(unsegmented, 'Account'));
    expect(new Set(csvIds([items], 'InvoiceItem.Id'))).toEqual(liveIds(unsegmented, 'InvoiceItem'));
    expect(new Set(csvIds([contacts], 'Contact.Id'))).toEqual(liveIds(unsegmented, 'Contact'));
    // It sends Accept-Encoding: gzip, so a JSON answer over 1000 bytes (the three-batch job status) comes gzipped.
    const gzipped = replay.responses.filter((r) => r.headers['content-encoding'] === 'gzip');
    expect(gzipped.length).toBeGreaterThan(0);
    expect(gzipped.every((r) => r.headers['content-type']?.startsWith('application/json') && r.wireBody.length < r.body.length)).toBe(true);
  });

  it('airbytehq source-zuora: SHOW TABLES, DESCRIBE, a windowed select over Data Query', async () => {
    const query = airbyteWindowQuery('account', '2020-12-31 16:00:00.000000 -08:00', '2030-12-29 16:00:00.000000 -08:00');
    const replay = await airbyteSourceZuora(target(unsegmented), query);
    expect(replay.tables).toContainEqual({ Table: 'account' });
    expect(replay.tables).toContainEqual({ Table: 'invoiceitem' });
    expect(replay.columns).toContainEqual({ Column: 'updateddate', Type: 'timestamp with time zone', Extra: '', Comment: 'UpdatedDate' });
    expect(replay.columns).toContainEqual({ Column: 'id', Type: 'varchar', Extra: '', Comment: 'Id' });
    expect(new Set(replay.rows.map((r) => r.id))).toEqual(liveIds(unsegmented, 'Account'));
    expect(replay.sent.filter((s) => s === 'POST /query/jobs')).toHaveLength(3);
    // The window's bounds are honoured: one that ends before the data begins returns nothing.
    const early = await airbyteSourceZuora(
      target(unsegmented),
      airbyteWindowQuery('account', '2001-01-01 00:00:00.000000 UTC', '2001-02-01 00:00:00.000000 UTC'),
    );
    expect(early.rows).toEqual([]);
  });
});
