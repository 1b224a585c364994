// The ways to lose or corrupt rows that issue 10 found, each against the emulator under every reading of Zuora's
// undocumented behaviour that matters: owed snapshots that outlive a lost job, full batches that may honour
// incrementalTime, deletions that may or may not move UpdatedDate, stale jobs after a deletion, poison values,
// resumed jobs after a config change, the incrementalTime boundary.
import { afterEach, describe, expect, it } from 'vitest';
import type { EmulatorOptions, ZuoraReadings } from '../../src/emulator/index.ts';
import { silentLogger } from '../../src/log.ts';
import { runBackfill } from '../../src/sync/index.ts';
import { expectTableMatches } from '../helpers/truth.ts';
import { clientFor, pipelineFrom, startWorld, syncOnce, type SyncWorld } from './helpers.ts';

const ACCOUNT = ['Id', 'Name', 'Balance', 'Status', 'BillCycleDay', 'UpdatedDate'];
const ITEM = ['Id', 'ChargeAmount', 'Quantity', 'UpdatedDate'];
const DAY = 86_400_000;

let world: SyncWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function open(readings: Partial<ZuoraReadings> = {}, options: EmulatorOptions = {}): Promise<SyncWorld> {
  world = await startWorld('lose', { clockStart: Date.parse('2026-04-10T12:00:00Z'), readings, segmentSize: 200, ...options });
  return world;
}

function yaml(o: { accountFields?: string[]; deletes?: string; lookback?: number; format?: string; offset?: number; project?: string; items?: boolean } = {}): string {
  return `
source:
  baseUrl: https://placeholder
  clientId: id
  clientSecret: secret
warehouse:
  schema: zuora
pipelines:
  - name: lose
    schedule: "0 2 * * *"
    partner: aquasync
    project: ${o.project ?? 'p-lose'}
    format: ${o.format ?? 'gzip'}
    lookback: ${o.lookback ?? 60}
    offset: ${o.offset ?? 0}
    objects:
      - name: Account
        fields: [${(o.accountFields ?? ACCOUNT).join(', ')}]
        deletes: ${o.deletes ?? 'soft'}
${o.items === false ? '' : `      - name: InvoiceItem
        fields: [${ITEM.join(', ')}]
        deletes: ${o.deletes ?? 'soft'}
`}`;
}

const firstLoadAt = (w: SyncWorld): number =>
  Math.min(...w.emulator.admin.jobs().filter((j) => j.api === 'aqua' && j.mode === 'stateful').map((j) => j.startedAt ?? Infinity));

async function expectEqual(w: SyncWorld, deletes: 'soft' | 'hard' | 'ignore' = 'soft', accountFields = ACCOUNT): Promise<void> {
  const { admin } = w.emulator;
  const options = { deletes, firstLoadAt: firstLoadAt(w) };
  await expectTableMatches(w.warehouse.pool, 'zuora', { object: 'Account', table: 'account', fields: accountFields }, admin.rows('Account'), options);
  await expectTableMatches(w.warehouse.pool, 'zuora', { object: 'InvoiceItem', table: 'invoice_item', fields: ITEM }, admin.rows('InvoiceItem'), options);
}

/** Some activity in Zuora: updates, an insert, deletions. */
function activity(w: SyncWorld, deletions = 3): void {
  const { admin } = w.emulator;
  admin.clock.advance(60_000);
  const live = admin.rows('Account').filter((r) => r.deletedAt === undefined);
  for (const row of live.slice(0, 4)) admin.update('Account', String(row.values.Id), { Name: `changed ${admin.clock.now()}` });
  for (const row of live.slice(4, 4 + deletions)) admin.remove('Account', String(row.values.Id));
  admin.insert('Account', { Name: 'new account', Status: 'Active' });
  admin.clock.advance(60_000);
}

const WITH_ACCOUNT_NUMBER = [...ACCOUNT.slice(0, 1), 'AccountNumber', ...ACCOUNT.slice(1)];

describe.each([false, true])('a changed query (full batch honours incrementalTime: %s)', (fullHonoursIncrementalTime) => {
  it.each(['soft', 'hard'] as const)('fills the new column for every row and deletes only what Zuora deleted (deletes: %s)', async (deletes) => {
    const w = await open({ fullHonoursIncrementalTime });
    expect((await syncOnce(w, pipelineFrom(yaml({ deletes })))).ok).toBe(true);
    activity(w);
    const changed = await syncOnce(w, pipelineFrom(yaml({ deletes, accountFields: WITH_ACCOUNT_NUMBER })));
    expect(changed.error).toBeUndefined();
    expect(changed.tables.find((t) => t.object === 'Account')).toMatchObject({ full: true, snapshot: true });
    await expectEqual(w, deletes, WITH_ACCOUNT_NUMBER);
  });
});

describe('an owed snapshot outlives the job that should have paid it', () => {
  it.each([
    // Zuora completed the job (its session now knows the new query), but its files are not what it reported.
    ['abandoned (files hold fewer rows than Zuora reported)', { kind: 'wrong-record-count', delta: 1 }, false],
    // An aborted job leaves Zuora's session as it was: the next batch is full again.
    ['failed in Zuora (an aborted batch)', { kind: 'abort-batch', message: 'aborted on purpose' }, true],
  ] as const)('%s: the next run still takes the complete snapshot', async (_name, fault, fullAgain) => {
    const w = await open({ fullHonoursIncrementalTime: true });
    expect((await syncOnce(w, pipelineFrom(yaml()))).ok).toBe(true);
    activity(w);
    const grown = pipelineFrom(yaml({ accountFields: WITH_ACCOUNT_NUMBER }));
    w.emulator.admin.faults.add(fault);
    const lost = await syncOnce(w, grown);
    expect(lost.ok).toBe(false);
    const owed = await w.warehouse.pool.query("select owed_reason from aquasync.snapshots where table_name = 'account'");
    expect(owed.rows).toEqual([{ owed_reason: 'query-changed' }]);
    w.emulator.admin.faults.clear();
    w.emulator.admin.clock.advance(60_000);
    const next = await syncOnce(w, grown);
    expect(next.error).toBeUndefined();
    // Once Zuora's session knows the new query the stateful batch is incremental: the snapshot is ours to take.
    expect(next.tables.find((t) => t.object === 'Account')).toMatchObject({ full: fullAgain, snapshot: true });
    await expectEqual(w, 'soft', WITH_ACCOUNT_NUMBER);
  });

  it('an object added to a loaded pipeline whose first job is abandoned: the next run still loads all its rows', async () => {
    const w = await open({ fullHonoursIncrementalTime: true });
    expect((await syncOnce(w, pipelineFrom(yaml({ items: false })))).ok).toBe(true);
    activity(w);
    // Zuora completes the first job of the new query (its session now knows it), but the files are not what it reported.
    w.emulator.admin.faults.add({ kind: 'wrong-record-count', delta: 1 });
    const lost = await syncOnce(w, pipelineFrom(yaml()));
    expect(lost.ok).toBe(false);
    const owed = await w.warehouse.pool.query("select owed_reason from aquasync.snapshots where table_name = 'invoice_item'");
    expect(owed.rows).toEqual([{ owed_reason: 'new-object' }]);
    w.emulator.admin.faults.clear();
    w.emulator.admin.clock.advance(60_000);
    const next = await syncOnce(w, pipelineFrom(yaml()));
    expect(next.error).toBeUndefined();
    expect(next.tables.find((t) => t.object === 'InvoiceItem')).toMatchObject({ full: false, snapshot: true });
    await expectEqual(w);
  });

  it('expired files of the snapshot job are re-covered by a new snapshot job in the same run', async () => {
    const w = await open();
    expect((await syncOnce(w, pipelineFrom(yaml()))).ok).toBe(true);
    activity(w);
    // Armed once the stateful job's two files are staged: the next download is the snapshot job's file.
    let armed = false;
    const grown = await syncOnce(w, pipelineFrom(yaml({ accountFields: WITH_ACCOUNT_NUMBER })), {
      onFileStaged: (done, total) => {
        if (!armed && total === 2 && done === 2) w.emulator.admin.faults.add({ kind: 'expired-file' });
        armed ||= total === 2 && done === 2;
      },
    });
    expect(grown.error).toBeUndefined();
    const snapshots = w.warehouse.pool.query("select status from aquasync.jobs where kind = 'snapshot' order by id");
    expect((await snapshots).rows.map((r) => r.status)).toEqual(['expired', 'applied']);
    await expectEqual(w, 'soft', WITH_ACCOUNT_NUMBER);
  });
});

describe('a snapshot far smaller than the warehouse (no Zuora count: the query has its own filter)', () => {
  it('loads its rows but deletes nothing, and says so', async () => {
    const w = await open();
    expect((await syncOnce(w, pipelineFrom(yaml({ items: false })))).ok).toBe(true);
    // The filter narrows the query: a snapshot is owed, and Data Query cannot count what the filter selects.
    const narrowed = yaml({ items: false }).replace(
      /fields: \[[^\]]*\]/,
      `query: select ${ACCOUNT.join(', ')} from Account where BillCycleDay = 1`,
    );
    w.emulator.admin.clock.advance(60_000);
    const result = await syncOnce(w, pipelineFrom(narrowed));
    expect(result.error).toBeUndefined();
    // A doubtful snapshot is paid (its rows and columns are loaded) but not applied as a snapshot: it deletes nothing.
    expect(result.tables.find((t) => t.object === 'Account')).toMatchObject({ snapshot: false, missingMarkedDeleted: 0 });
    const owed = await w.warehouse.pool.query("select owed_reason from aquasync.snapshots where table_name = 'account'");
    expect(owed.rows).toEqual([{ owed_reason: null }]);
    const live = w.emulator.admin.rows('Account').filter((r) => r.deletedAt === undefined).length;
    const { rows } = await w.warehouse.pool.query('select count(*)::int as n from zuora.account where not _aquasync_deleted');
    expect(rows).toEqual([{ n: live }]);
    const events = await w.warehouse.pool.query("select count(*)::int as n from aquasync.events where kind = 'snapshot-doubtful'");
    expect(events.rows).toEqual([{ n: 1 }]);
  });
});

describe.each([true, false])('a stale job after a deletion (deletion moves UpdatedDate: %s)', (deleteMovesUpdatedDate) => {
  it.each(['soft', 'hard'] as const)('a backfill window resumed after a sync deleted a row does not bring it back (deletes: %s)', async (deletes) => {
    const w = await open({ deleteMovesUpdatedDate });
    const target = pipelineFrom(yaml({ deletes }));
    expect((await syncOnce(w, target)).ok).toBe(true);
    const { admin } = w.emulator;
    // The backfill's job takes its snapshot now, then stays executing until the faults are cleared.
    admin.faults.add({ kind: 'stuck' });
    const running = runBackfill({ warehouse: w.warehouse, client: clientFor(w), schema: 'zuora' }, target.pipeline, {
      since: new Date('2023-01-01T00:00:00Z'),
      until: new Date(admin.clock.now() + DAY),
      windowMs: 2000 * DAY,
      logger: silentLogger,
      tempDir: w.tempDir,
      poll: { minIntervalMs: 10, maxIntervalMs: 50 },
    });
    while (!admin.jobs().some((j) => j.api === 'aqua' && j.mode === 'stateless' && j.status === 'executing')) await new Promise((r) => setTimeout(r, 10));
    admin.clock.advance(60_000);
    const victim = admin.rows('Account').find((r) => r.deletedAt === undefined);
    admin.remove('Account', String(victim?.values.Id));
    admin.clock.advance(60_000);
    expect((await syncOnce(w, target)).error).toBeUndefined();
    admin.faults.clear();
    const result = await running;
    expect(result.error).toBeUndefined();
    const { rows } = await w.warehouse.pool.query('select _aquasync_deleted as d from zuora.account where id = $1', [String(victim?.values.Id)]);
    expect(rows).toEqual(deletes === 'hard' ? [] : [{ d: true }]);
    await expectEqual(w, deletes);
  });
});

describe('poison values never stall a pipeline', () => {
  it('removes NUL bytes, quarantines a value its column cannot take, moves the watermark, and counts a repeat once', async () => {
    const w = await open();
    const target = pipelineFrom(yaml());
    expect((await syncOnce(w, target)).ok).toBe(true);
    const { admin } = w.emulator;
    admin.clock.advance(60_000);
    const [nul, poison] = admin.rows('Account').filter((r) => r.deletedAt === undefined);
    admin.update('Account', String(nul?.values.Id), { Name: 'with a \u0000 NUL' });
    admin.update('Account', String(poison?.values.Id), { BillCycleDay: '99999999999999999999' }); // overflows bigint
    admin.clock.advance(60_000);
    const before = await w.warehouse.pool.query<{ watermark: Date }>("select watermark from aquasync.watermarks where pipeline = 'lose'");
    const result = await syncOnce(w, target);
    expect(result.error).toBeUndefined();
    expect(result.rowsQuarantined).toBe(1);
    const after = await w.warehouse.pool.query<{ watermark: Date }>("select watermark from aquasync.watermarks where pipeline = 'lose'");
    expect(after.rows[0]!.watermark.getTime()).toBeGreaterThan(before.rows[0]!.watermark.getTime());
    const name = await w.warehouse.pool.query('select name from zuora.account where id = $1', [String(nul?.values.Id)]);
    expect(name.rows).toEqual([{ name: 'with a  NUL' }]);
    const rejected = await w.warehouse.pool.query('select object, file_id, line, raw_line, error, times_seen from aquasync.rejected_rows');
    expect(rejected.rows).toEqual([
      expect.objectContaining({ object: 'Account', error: expect.stringMatching(/BillCycleDay: '99999999999999999999' is not a valid bigint/), times_seen: 1 }),
    ]);
    expect(rejected.rows[0].raw_line).toContain(String(poison?.values.Id));
    const runs = await w.warehouse.pool.query('select rows_quarantined from aquasync.runs where id = $1', [result.runId]);
    expect(runs.rows).toEqual([{ rows_quarantined: 1 }]);
    const events = await w.warehouse.pool.query("select kind from aquasync.events where kind in ('rows-quarantined', 'text-cleaned') order by kind");
    expect(events.rows.map((r) => r.kind)).toEqual(['rows-quarantined', 'text-cleaned']);
    // The lookback re-reads the row: counted again, not duplicated.
    admin.clock.advance(10_000);
    expect((await syncOnce(w, target)).rowsQuarantined).toBe(1);
    const again = await w.warehouse.pool.query('select count(*)::int as n, max(times_seen) as seen from aquasync.rejected_rows');
    expect(again.rows).toEqual([{ n: 1, seen: 2 }]);
  });
});

describe('a first load the typed stage cannot take', () => {
  it('a poison value: that table is staged again as text, only the row holding it is quarantined, the other table stays typed', async () => {
    const w = await open();
    const { admin } = w.emulator;
    const poison = String(admin.rows('Account').find((r) => r.deletedAt === undefined)?.values.Id);
    admin.update('Account', poison, { BillCycleDay: '99999999999999999999' }); // overflows bigint
    admin.clock.advance(60_000);
    const result = await syncOnce(w, pipelineFrom(yaml()));
    expect(result.error).toBeUndefined();
    expect(result.rowsQuarantined).toBe(1);
    expect(result.tables.map((t) => [t.table, t.load])).toEqual([
      ['zuora.account', 'unsorted'],
      ['zuora.invoice_item', 'copied'],
    ]);
    const rejected = await w.warehouse.pool.query<{ error: string }>('select error from aquasync.rejected_rows');
    expect(rejected.rows.map((r) => r.error)).toEqual([expect.stringMatching(/BillCycleDay: '99999999999999999999' is not a valid bigint/)]);
    const options = { deletes: 'soft' as const, firstLoadAt: firstLoadAt(w) };
    const others = admin.rows('Account').filter((r) => String(r.values.Id) !== poison);
    await expectTableMatches(w.warehouse.pool, 'zuora', { object: 'Account', table: 'account', fields: ACCOUNT }, others, options);
    await expectTableMatches(w.warehouse.pool, 'zuora', { object: 'InvoiceItem', table: 'invoice_item', fields: ITEM }, admin.rows('InvoiceItem'), options);
    const stages = await w.warehouse.pool.query("select count(*)::int as n, string_agg(tablename, ',') as t from pg_tables where schemaname = 'aquasync_stage'");
    expect(stages.rows, 'every stage table is gone').toEqual([{ n: 0, t: null }]);
  });

  it('an abandoned first load (a file holds fewer rows than Zuora reported) leaves no typed stage behind; the next run loads every row', async () => {
    const w = await open();
    w.emulator.admin.faults.add({ kind: 'wrong-record-count', delta: 1 });
    const lost = await syncOnce(w, pipelineFrom(yaml()));
    expect(lost.ok).toBe(false);
    const abandoned = await w.warehouse.pool.query("select count(*)::int as n from aquasync.jobs where status = 'abandoned'");
    expect(abandoned.rows[0].n).toBe(1);
    const stages = await w.warehouse.pool.query("select count(*)::int as n, string_agg(tablename, ',') as t from pg_tables where schemaname = 'aquasync_stage'");
    expect(stages.rows, 'the abandoned job took its stages with it').toEqual([{ n: 0, t: null }]);
    w.emulator.admin.faults.clear();
    w.emulator.admin.clock.advance(60_000);
    const next = await syncOnce(w, pipelineFrom(yaml()));
    expect(next.error).toBeUndefined();
    await expectEqual(w);
  });

  it('rows gone from a typed stage (deleted by hand after a crash) are noticed by the count: the files are staged again, every row loads', async () => {
    const w = await open();
    const target = pipelineFrom(yaml({ items: false }));
    await expect(syncOnce(w, target, { crashAfter: 'staged' })).rejects.toThrow(/simulated crash/);
    const stage = await w.warehouse.pool.query<{ t: string }>("select distinct stage_table as t from aquasync.files where stage_table like 't\\_%'");
    expect(stage.rows).toHaveLength(1);
    await w.warehouse.pool.query(`delete from aquasync_stage.${stage.rows[0]!.t} where ctid in (select ctid from aquasync_stage.${stage.rows[0]!.t} limit 3)`);
    const result = await syncOnce(w, target);
    expect(result.error).toBeUndefined();
    expect(result.tables.map((t) => [t.table, t.load])).toEqual([['zuora.account', 'copied']]);
    const lost = await w.warehouse.pool.query("select count(*)::int as n from aquasync.events where kind = 'staged-rows-lost'");
    expect(lost.rows[0].n).toBe(1);
    await expectTableMatches(w.warehouse.pool, 'zuora', { object: 'Account', table: 'account', fields: ACCOUNT }, w.emulator.admin.rows('Account'), {
      deletes: 'soft',
      firstLoadAt: firstLoadAt(w),
    });
  });

  it('a table that appeared after staging (a crash in between): the files are staged again as text and merged into it', async () => {
    const w = await open();
    const target = pipelineFrom(yaml({ items: false }));
    await expect(syncOnce(w, target, { crashAfter: 'staged' })).rejects.toThrow(/simulated crash/);
    const typed = await w.warehouse.pool.query("select count(*)::int as n from aquasync.files where stage_table like 't\\_%'");
    expect(typed.rows[0].n, 'the first attempt staged typed').toBeGreaterThan(0);
    await w.warehouse.pool.query('create schema if not exists zuora; create table zuora.account (id text primary key)');
    const result = await syncOnce(w, target);
    expect(result.error).toBeUndefined();
    expect(result.tables.map((t) => [t.table, t.load])).toEqual([['zuora.account', 'unsorted']]);
    await expectTableMatches(w.warehouse.pool, 'zuora', { object: 'Account', table: 'account', fields: ACCOUNT }, w.emulator.admin.rows('Account'), {
      deletes: 'soft',
      firstLoadAt: firstLoadAt(w),
    });
    const stages = await w.warehouse.pool.query("select count(*)::int as n, string_agg(tablename, ',') as t from pg_tables where schemaname = 'aquasync_stage'");
    expect(stages.rows, 'every stage table is gone').toEqual([{ n: 0, t: null }]);
  });
});

describe('a poison value in an owed snapshot', () => {
  it.each(['soft', 'hard'] as const)('deletes: %s — quarantines only the row that holds it, and does not take it for deleted; every other row gets the added column', async (deletes) => {
    const w = await open();
    expect((await syncOnce(w, pipelineFrom(yaml({ deletes })))).ok).toBe(true);
    const { admin } = w.emulator;
    admin.clock.advance(60_000);
    const poison = admin.rows('Account').find((r) => r.deletedAt === undefined);
    admin.update('Account', String(poison?.values.Id), { BillCycleDay: '99999999999999999999' });
    admin.clock.advance(60_000);
    const changed = pipelineFrom(yaml({ deletes, accountFields: [...ACCOUNT, 'AccountNumber'] }));
    const result = await syncOnce(w, changed);
    expect(result.error).toBeUndefined();
    const rejected = await w.warehouse.pool.query<{ error: string }>('select error from aquasync.rejected_rows');
    expect(rejected.rows.map((r) => r.error)).toEqual([expect.stringMatching(/BillCycleDay/)]);
    const stale = await w.warehouse.pool.query<{ id: string }>('select id from zuora.account where account_number is null and id <> $1', [String(poison?.values.Id)]);
    expect(stale.rows).toEqual([]);
    // Still there as last loaded: live in Zuora, only its new version could not be loaded.
    const kept = await w.warehouse.pool.query('select _aquasync_deleted as d from zuora.account where id = $1', [String(poison?.values.Id)]);
    expect(kept.rows).toEqual([{ d: false }]);
    const tombstones = await w.warehouse.pool.query('select count(*)::int as n from aquasync.tombstones');
    expect(tombstones.rows).toEqual([{ n: 0 }]);
  });
});

describe('a table dropped by hand', () => {
  it('is reloaded whole by the next run (an owed snapshot), not from the watermark on', async () => {
    const w = await open();
    const target = pipelineFrom(yaml());
    expect((await syncOnce(w, target)).ok).toBe(true);
    await w.warehouse.pool.query('drop table zuora.account');
    w.emulator.admin.clock.advance(60_000);
    const result = await syncOnce(w, target);
    expect(result.error).toBeUndefined();
    const owed = await w.warehouse.pool.query("select owed_reason from aquasync.snapshots where table_name = 'account'");
    expect(owed.rows).toEqual([{ owed_reason: null }]);
    await expectEqual(w);
  });
});

describe('a resumed job', () => {
  it('is loaded with the format and offset it was submitted with, not the ones configured since', async () => {
    const w = await open();
    expect((await syncOnce(w, pipelineFrom(yaml()))).ok).toBe(true);
    activity(w);
    await expect(syncOnce(w, pipelineFrom(yaml({ format: 'gzip', offset: 0 })), { crashAfter: 'submitted' })).rejects.toThrow(/simulated crash/);
    const resumed = await syncOnce(w, pipelineFrom(yaml({ format: 'csv', offset: 600 })));
    expect(resumed.error).toBeUndefined();
    expect(resumed.resumed).toBe(true);
    const job = w.emulator.admin.jobs().find((j) => j.id === resumed.zuoraJobId);
    expect(resumed.watermarkAfter?.getTime()).toBe(Math.floor((job?.startedAt ?? 0) / 1000) * 1000);
    await expectEqual(w);
  });
});

describe('the incrementalTime boundary (older docs: exclusive)', () => {
  it('loses no change made in the watermark second, even with lookback 0', async () => {
    const w = await open({ incrementalTimeBoundary: 'exclusive' });
    const target = pipelineFrom(yaml({ lookback: 0 }));
    const first = await syncOnce(w, target);
    expect(first.ok).toBe(true);
    const { admin } = w.emulator;
    // A change inside the second the watermark falls in, after the first job's window ended.
    admin.clock.set(first.watermarkAfter!.getTime() + 400);
    const row = admin.rows('Account').find((r) => r.deletedAt === undefined);
    admin.update('Account', String(row?.values.Id), { Name: 'in the boundary second' });
    admin.clock.advance(60_000);
    expect((await syncOnce(w, target)).error).toBeUndefined();
    await expectEqual(w);
  });
});
