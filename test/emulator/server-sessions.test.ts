// Stateful sessions over real HTTP: full vs incremental per query, windows (offset, incrementalTime, DST),
// deleted rows, stateless semantics, segmentation, serialisation, and state persisted across restarts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.ts';
import { Client, start, stateful, stateless } from './server-helpers.ts';
import type { Json } from './server-helpers.ts';

const MIN = 60_000;
const open: Emulator[] = [];

async function boot(options: Parameters<typeof start>[0] = {}): Promise<{ emu: Emulator; client: Client }> {
  const emu = await start(options);
  open.push(emu);
  return { emu, client: await Client.for(emu) };
}

afterEach(async () => {
  while (open.length > 0) await open.pop()!.close();
});

const DELETED = { deleted: { column: 'IsDeleted', format: 'Boolean' } };
const liveIds = (emu: Emulator, object: string): string[] =>
  emu.admin.rows(object).filter((r) => r.deletedAt === undefined).map((r) => r.values.Id as string);

async function idsOf(client: Client, job: Json, index = 0): Promise<{ ids: string[]; flags: string[]; header: string[] }> {
  const { header, rows } = await client.rows(job.batches[index]);
  const deletedFirst = header[0]?.endsWith('.IsDeleted') === true;
  return { header, ids: rows.map((r) => r[deletedFirst ? 1 : 0]!), flags: deletedFirst ? rows.map((r) => r[0]!) : [] };
}

describe('full vs incremental', () => {
  it('first job is full without deleted rows; the next is incremental with changes and deletions', async () => {
    const { emu, client } = await boot();
    const [gone] = liveIds(emu, 'Account');
    emu.admin.remove('Account', gone!);
    emu.admin.clock.advance(MIN);
    const first = await client.run(stateful('select Id, Name from Account', {}, DELETED));
    expect(first.batches[0].full).toBe(true);
    const full = await idsOf(client, first);
    expect(full.header).toEqual(['Account.IsDeleted', 'Account.Id', 'Account.Name']);
    expect(full.ids.sort()).toEqual(liveIds(emu, 'Account').sort());
    expect(full.ids).not.toContain(gone);
    expect(new Set(full.flags)).toEqual(new Set(['false']));

    emu.admin.clock.advance(MIN);
    const [changed, removed] = liveIds(emu, 'Account');
    emu.admin.update('Account', changed!, { Name: 'Changed' });
    emu.admin.remove('Account', removed!);
    const added = emu.admin.insert('Account', { Name: 'Added' });
    emu.admin.clock.advance(MIN);
    const second = await client.run(stateful('select Id, Name from Account', {}, DELETED));
    expect(second.batches[0].full).toBe(false);
    expect(second.batches[0].fileId).toBeTypeOf('string');
    const inc = await idsOf(client, second);
    expect(Object.fromEntries(inc.ids.map((id, i) => [id, inc.flags[i]]))).toEqual({
      [changed!]: 'false',
      [removed!]: 'true',
      [added]: 'false',
    });
    expect(second.batches[0].recordCount).toBe(3);
  });

  it.each([
    ['changed query text', { query: 'select Id, Name, Balance from Account' }, true],
    ['added deleted column', { deleted: { column: 'IsDeleted', format: 'Boolean' } }, true],
    ['same query', {}, false],
  ])('%s -> full %s', async (_name, change, full) => {
    const { client } = await boot();
    await client.run(stateful('select Id, Name from Account'));
    const body = stateful('select Id, Name from Account');
    body.queries[0] = { ...body.queries[0], ...change };
    const submitted = await client.submit(body);
    expect(submitted.batches[0].full).toBe(full);
    const done = await client.wait(submitted.id as string);
    expect(done.batches[0].full).toBe(full);
  });

  it('a new query in the session is full while the known one is incremental; a new project is full', async () => {
    const { client } = await boot();
    await client.run(stateful('select Id from Account'));
    const body = stateful('select Id from Account');
    body.queries.push({ name: 'products', type: 'zoqlexport', query: 'select Id from Product' });
    const job = await client.run(body);
    expect(job.batches.map((b: Json) => b.full)).toEqual([false, true]);
    const other = await client.run(stateful('select Id from Account', { project: 'other' }));
    expect(other.batches[0].full).toBe(true);
  });

  it('a session idle for more than 180 days starts over with a full load', async () => {
    const { emu, client } = await boot();
    await client.run(stateful('select Id from Account'));
    emu.admin.clock.advance(181 * 86_400_000);
    client.bearer = (await Client.for(emu)).bearer;
    const job = await client.run(stateful('select Id from Account'));
    expect(job.batches[0].full).toBe(true);
  });

  it('a stateful call without queries re-runs the previous queries (useLastCompletedJobQueries)', async () => {
    const { client } = await boot();
    await client.run(stateful('select Id from Account'));
    const job = await client.run({ ...stateful('x'), queries: [] });
    expect(job.useLastCompletedJobQueries).toBe(true);
    expect(job.batches[0]).toMatchObject({ name: 'q', full: false });
  });
});

describe('incremental window', () => {
  it('offset pulls the window end back, and the next window starts at the previous job start (the gap)', async () => {
    const { emu, client } = await boot();
    const [a, b] = liveIds(emu, 'Account');
    await client.run(stateful('select Id from Account'));
    emu.admin.clock.advance(10 * MIN);
    emu.admin.update('Account', a!, { Name: 'early' });
    emu.admin.clock.advance(2 * MIN);
    emu.admin.update('Account', b!, { Name: 'late' });
    const second = await client.run(stateful('select Id from Account', { offset: 60 }));
    expect(second.offset).toBe(60);
    expect((await idsOf(client, second)).ids).toEqual([a]);
    emu.admin.clock.advance(MIN);
    const third = await client.run(stateful('select Id from Account'));
    expect((await idsOf(client, third)).ids).toEqual([]);
  });

  it('incrementalTime in the fall-back hour is read as the later (PST) instant, and leaves the marker alone', async () => {
    const { emu, client } = await boot();
    emu.admin.clock.set(Date.UTC(2026, 10, 1, 7, 0));
    client.bearer = (await Client.for(emu)).bearer;
    const [inGap, after, later] = liveIds(emu, 'Account');
    await client.run(stateful('select Id from Account'));
    emu.admin.clock.set(Date.UTC(2026, 10, 1, 8, 45));
    emu.admin.update('Account', inGap!, { Name: 'x' });
    emu.admin.clock.set(Date.UTC(2026, 10, 1, 10, 0));
    emu.admin.update('Account', after!, { Name: 'y' });
    emu.admin.clock.set(Date.UTC(2026, 10, 1, 12, 0));
    client.bearer = (await Client.for(emu)).bearer;
    const withTime = await client.run(stateful('select Id from Account', { incrementalTime: '2026-11-01 01:30:00' }));
    expect(withTime.incrementalTime).toBe(Date.UTC(2026, 10, 1, 9, 30));
    expect(withTime.batches[0].full).toBe(false);
    expect((await idsOf(client, withTime)).ids).toEqual([after]);
    emu.admin.clock.advance(MIN);
    emu.admin.update('Account', later!, { Name: 'z' });
    emu.admin.clock.advance(MIN);
    // The marker is still the first job's start: both earlier changes come again, plus the new one.
    const next = await client.run(stateful('select Id from Account'));
    expect((await idsOf(client, next)).ids.sort()).toEqual([inGap, after, later].sort());
  });

  it('the eu data center reads incrementalTime as UTC', async () => {
    const { client } = await boot({ dataCenter: 'eu' });
    await client.run(stateful('select Id from Account'));
    const job = await client.run(stateful('select Id from Account', { incrementalTime: '2026-01-18 10:30:01' }));
    expect(job.incrementalTime).toBe(Date.UTC(2026, 0, 18, 10, 30, 1));
  });

  it('runs jobs of one session one after the other', async () => {
    const { emu, client } = await boot();
    const a = await client.submit(stateful('select Id from Account'));
    const b = await client.submit(stateful('select Id from Account'));
    expect(b.batches[0].full).toBe(false);
    await client.wait(b.id as string);
    const jobs = Object.fromEntries(emu.admin.jobs().map((j) => [j.id, j]));
    expect(jobs[b.id as string]!.startedAt).toBeGreaterThanOrEqual(jobs[a.id as string]!.finishedAt!);
    expect(jobs[b.id as string]!.batches[0]!.full).toBe(false);
  });
});

describe('stateless and segmentation', () => {
  it('stateless returns every live row; deleted rows only with forceExport', async () => {
    const { emu, client } = await boot();
    const [gone] = liveIds(emu, 'Account');
    emu.admin.remove('Account', gone!);
    const plain = await client.run(stateless('select Id from Account'));
    expect((await idsOf(client, plain)).ids).not.toContain(gone);
    const forced = await client.run(stateless('select Id from Account', {}, { deleted: { column: 'IsDeleted', format: 'Numeric', forceExport: true } }));
    const out = await idsOf(client, forced);
    expect(out.flags[out.ids.indexOf(gone!)]).toBe('1');
    expect(out.ids).toHaveLength(emu.admin.rows('Account').length);
  });

  it('a stateful full load is split into segments holding every row exactly once; incrementals use fileId', async () => {
    const { emu, client } = await boot({ rows: 95, segmentSize: 20 });
    const job = await client.run(stateful('select Id, Quantity from InvoiceItem', { format: 'gzip' }));
    const batch = job.batches[0];
    const expected = liveIds(emu, 'InvoiceItem');
    expect(batch.fileId).toBeUndefined();
    expect(batch.segments).toHaveLength(Math.ceil(expected.length / 20));
    const { rows, header } = await client.rows(batch, 'gzip');
    expect(header).toEqual(['InvoiceItem.Id', 'InvoiceItem.Quantity']);
    const ids = rows.map((r) => r[0]);
    expect(ids).toHaveLength(expected.length);
    expect(new Set(ids)).toEqual(new Set(expected));
    const next = await client.run(stateful('select Id, Quantity from InvoiceItem'));
    expect(next.batches[0].segments).toBeUndefined();
    expect(next.batches[0].fileId).toBeTypeOf('string');
  });

  it('segmentation off gives one fileId for a full load', async () => {
    const { client } = await boot({ segmentation: false, segmentSize: 5 });
    const job = await client.run(stateful('select Id from Account'));
    expect(job.batches[0].fileId).toBeTypeOf('string');
    expect(job.batches[0].segments).toBeUndefined();
  });
});

describe('statePath', () => {
  it('a restarted emulator continues the same sessions, files and data changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aquasync-emu-'));
    try {
      const statePath = join(dir, 'state.json');
      const first = await start({ statePath });
      const c1 = await Client.for(first);
      const job = await c1.run(stateful('select Id, Name from Account'));
      const id = first.admin.insert('Account', { Name: 'Persisted' });
      first.admin.clock.advance(MIN);
      await first.close();

      const second = await start({ statePath });
      open.push(second);
      expect(second.clientSecret).toBe(first.clientSecret);
      expect(second.admin.rows('Account').some((r) => r.values.Id === id)).toBe(true);
      const c2 = await Client.for(second);
      expect((await c2.json('GET', `/v1/batch-query/jobs/${job.id as string}`)).status).toBe('completed');
      expect((await c2.request('GET', `/v1/files/${job.batches[0].segments[0] as string}`)).status).toBe(200);
      const next = await c2.run(stateful('select Id, Name from Account'));
      expect(next.batches[0].full).toBe(false);
      expect((await idsOf(c2, next)).ids).toEqual([id]);
      await expect(start({ statePath, seed: 2 })).rejects.toThrow(/seed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
