// The emulated Data Query API (/query/jobs) over real HTTP, and the pure time helpers it and AQuA share.
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.ts';
import { decideFull } from '../../src/emulator/jobs.ts';
import { formatIsoUtc, formatWallTime, parseWallTime } from '../../src/emulator/time.ts';
import { Client, start } from './server-helpers.ts';
import type { Json } from './server-helpers.ts';

let emu: Emulator;
let client: Client;

beforeAll(async () => {
  emu = await start();
  client = await Client.for(emu);
});
afterAll(() => emu.close());

const submit = (query: string, extra: Json = {}): Promise<Json> =>
  client.json('POST', '/query/jobs', { query, outputFormat: 'JSON', compression: 'NONE', output: { target: 'S3' }, ...extra });

async function finished(query: string, extra: Json = {}): Promise<Json> {
  const { data } = await submit(query, extra);
  expect(data.queryStatus).toBe('accepted');
  expect(data.id).toMatch(/^[0-9a-f-]{36}$/);
  for (let i = 0; i < 300; i++) {
    const job = (await client.json('GET', `/query/jobs/${data.id as string}`)).data as Json;
    if (['completed', 'failed', 'cancelled'].includes(job.queryStatus as string)) return job;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('data query did not finish');
}

const jsonLines = async (url: string): Promise<Json[]> =>
  (await (await fetch(url)).text())
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Json);

describe('data query', () => {
  it('answers 415 without a JSON content type', async () => {
    const res = await client.request('POST', '/query/jobs', 'query=select', { 'Content-Type': 'text/plain' });
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({ code: 415, message: 'HTTP 415 Unsupported Media Type' });
  });

  it('runs a plain select to JSON Lines served from an unauthenticated dataFile URL', async () => {
    const job = await finished('SELECT id, name, balance FROM Account');
    const live = emu.admin.rows('Account').filter((r) => r.deletedAt === undefined);
    expect(job).toMatchObject({ queryStatus: 'completed', outputRows: live.length });
    expect(job.processingTime).toBeTypeOf('number');
    const rows = await jsonLines(job.dataFile as string);
    expect(rows.map((r) => r.id).sort()).toEqual(live.map((r) => r.values.Id).sort());
    expect(Object.keys(rows[0]!)).toEqual(['id', 'name', 'balance']);
  });

  it('counts per day with date(updateddate) and pages ids in order', async () => {
    const counts = await jsonLines((await finished('select count(*) as n, date(updateddate) as d from account group by date(updateddate)')).dataFile as string);
    expect(counts.reduce((s, r) => s + (r.n as number), 0)).toBe(emu.admin.rows('Account').filter((r) => r.deletedAt === undefined).length);
    expect(counts[0]!.d).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const all = emu.admin.rows('Account').map((r) => r.values.Id as string).sort();
    const page = await jsonLines((await finished(`select id from account where id > '${all[2]!}' order by id limit 4`)).dataFile as string);
    expect(page.map((r) => r.id)).toEqual(all.slice(3, 7));
  });

  it('writes gzip CSV', async () => {
    const job = await finished('select id, name from product where name != \'zzz\'', { outputFormat: 'CSV', compression: 'GZIP' });
    const text = gunzipSync(Buffer.from(await (await fetch(job.dataFile as string)).arrayBuffer())).toString('utf8');
    const records = parse(text) as string[][];
    expect(records[0]).toEqual(['id', 'name']);
    expect(records).toHaveLength(emu.admin.rows('Product').filter((r) => r.deletedAt === undefined).length + 1);
  });

  it.each([
    ['select id from nosuchtable', /does not exist/],
    ['select nosuchcolumn from account', /cannot be resolved/],
    ['select from', /mismatched input/],
  ])('fails %s with errorMessage', async (query, message) => {
    const job = await finished(query);
    expect(job.queryStatus).toBe('failed');
    expect(job.errorMessage).toMatch(message);
    expect(job.dataFile).toBeUndefined();
  });

  it('lists jobs newest first and cancels queued ones (400 for finished ones)', async () => {
    const { data } = await submit('select id from account');
    const cancelled = await client.json('DELETE', `/query/jobs/${data.id as string}`);
    expect(cancelled.data.queryStatus).toBe('cancelled');
    expect((await client.request('DELETE', `/query/jobs/${data.id as string}`)).status).toBe(400);
    const list = (await client.json('GET', '/query/jobs?queryStatus=cancelled&pageSize=5')).data as Json[];
    expect(list[0]!.id).toBe(data.id);
    expect(list.every((j) => j.queryStatus === 'cancelled')).toBe(true);
  });
});

describe('time helpers', () => {
  it.each([
    ['2026-11-01 01:30:00', 'America/Los_Angeles', Date.UTC(2026, 10, 1, 9, 30)],
    ['2026-11-01 00:30:00', 'America/Los_Angeles', Date.UTC(2026, 10, 1, 7, 30)],
    ['2026-03-08 02:30:00', 'America/Los_Angeles', Date.UTC(2026, 2, 8, 10, 30)],
    ['2015-01-21 10:30:01', 'America/Los_Angeles', 1421865001000],
    ['2026-07-01 12:00:00', 'America/Los_Angeles', Date.UTC(2026, 6, 1, 19)],
    ['2026-07-01 12:00:00', 'UTC', Date.UTC(2026, 6, 1, 12)],
    ['2026-07-01T12:00:00', 'UTC', undefined],
    ['2026-02-29 12:00:00', 'UTC', undefined],
    ['2026-01-01 24:00:00', 'UTC', undefined],
  ])('parseWallTime(%s, %s) = %s', (text, zone, expected) => {
    expect(parseWallTime(text, zone)).toBe(expected);
  });

  it.each([
    [Date.UTC(2026, 10, 1, 8, 30), 'America/Los_Angeles', '2026-11-01 01:30:00'],
    [Date.UTC(2026, 10, 1, 9, 30), 'America/Los_Angeles', '2026-11-01 01:30:00'],
    [Date.UTC(2026, 0, 18, 17, 13, 48), 'UTC', '2026-01-18 17:13:48'],
  ])('formatWallTime(%i, %s) = %s', (ms, zone, expected) => {
    expect(formatWallTime(ms, zone)).toBe(expected);
  });

  it('formatIsoUtc', () => {
    expect(formatIsoUtc(Date.UTC(2021, 0, 18, 17, 13, 48, 999))).toBe('2021-01-18T17:13:48+0000');
  });
});

describe('decideFull', () => {
  const session = { queries: { q: { text: 'select Id from Account', deletedKey: '' } } };
  const now = Date.UTC(2026, 0, 1);
  it.each([
    ['no session', undefined, now - 1000, 'q', 'select Id from Account', undefined, true],
    ['same query', session, now - 1000, 'q', 'select Id from Account', undefined, false],
    ['changed text', session, now - 1000, 'q', 'select Id, Name from Account', undefined, true],
    ['deleted added', session, now - 1000, 'q', 'select Id from Account', { column: 'D', format: 'Boolean' as const }, true],
    ['new query name', session, now - 1000, 'other', 'select Id from Account', undefined, true],
    ['idle 181 days', session, now - 181 * 86_400_000, 'q', 'select Id from Account', undefined, true],
    ['idle 179 days', session, now - 179 * 86_400_000, 'q', 'select Id from Account', undefined, false],
  ])('%s -> %s', (_name, s, previous, name, text, deleted, expected) => {
    expect(decideFull(s, previous, now, name, text, deleted)).toBe(expected);
  });
});
