// verify and reconcile end to end: emulator (AQuA + Data Query) over HTTP, a real warehouse, the real sync and
// backfill, on a tenant that keeps changing between and during commands (updates, inserts and deletions after the
// watermark). A correct warehouse passes with those changes reported as pending; a warehouse that lost rows, holds
// rows Zuora never had, kept rows deleted in Zuora > 30 days ago or holds a stale joined Id is caught, naming the
// day and Ids, and reconcile --apply then sync makes verify pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { acquirePipelineLock } from '../../src/state/index.ts';
import { runBackfill } from '../../src/sync/index.ts';
import { runReconcile, runVerify } from '../../src/verify/index.ts';
import { DataQueryClient } from '../../src/zuora/index.ts';
import { clientFor, pipelineFrom, startWorld, syncOnce, type SyncWorld } from '../sync/helpers.ts';

const DAY = 86_400_000;
const yaml = `
source: { baseUrl: https://placeholder, clientId: id, clientSecret: secret }
warehouse: { schema: zuora }
pipelines:
  - name: billing
    schedule: "0 2 * * *"
    partner: aquasync
    project: p-verify
    format: gzip
    objects:
      - name: Account
        fields: [Id, Name, Balance, UpdatedDate, BillToContact.Id]
        deletes: soft
      - name: InvoiceItem
        query: select Id, ChargeAmount, UpdatedDate, Invoice.Id from InvoiceItem
        deletes: hard
`;

let world: SyncWorld;
const target = pipelineFrom(yaml);
const poll = { minIntervalMs: 5, maxIntervalMs: 30 };

function contexts() {
  const client = clientFor(world);
  const dataQuery = new DataQueryClient(client, { poll });
  return { warehouse: world.warehouse, client, dataQuery, schema: target.schema, logger: silentLogger };
}

const verify = () => runVerify(contexts(), target.pipeline);
const reconcile = (apply = false) =>
  runReconcile(contexts(), target.pipeline, { apply, backfill: runBackfill, tempDir: world.tempDir, pageSize: 40, poll });

/** Changes in Zuora after the watermark, as a live tenant makes between syncs: updates, an insert, a deletion. */
function churn(n = 3): void {
  const { admin } = world.emulator;
  const live = (object: string) => admin.rows(object).filter((r) => r.deletedAt === undefined && !protectedIds.has(String(r.values.Id)));
  const accounts = live('Account');
  const items = live('InvoiceItem');
  for (let i = 0; i < n; i++) {
    const a = accounts[(churned * 7 + i * 13) % accounts.length]!;
    admin.update('Account', String(a.values.Id), { Name: `churn ${churned}-${i}` });
    const it = items[(churned * 11 + i * 17) % items.length]!;
    admin.update('InvoiceItem', String(it.values.Id), { ChargeAmount: (churned + i + 0.5).toFixed(6) });
  }
  admin.insert('Account', { Name: `new ${churned}`, Status: 'Active', Balance: '1.00' });
  // A deletion every fourth change, and never below 100 live invoice items: on a loaded machine verify and reconcile
  // take long enough for a churn every 20 ms to delete them all otherwise (seen: items ran out, the timer threw).
  if (churned % 4 === 0 && items.length > 100) admin.remove('InvoiceItem', String(items[(churned * 5 + 3) % items.length]!.values.Id));
  churned++;
}
let churned = 0;
/** Rows a test damages in the warehouse on purpose: Zuora leaves them alone, so the damage stays a fault. */
const protectedIds = new Set<string>();

/** Runs `work` while Zuora keeps changing every few milliseconds. */
async function whileChurning<T>(work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => churn(1), 20);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

async function q<T extends Record<string, unknown>>(sql: string, values: unknown[] = []): Promise<T[]> {
  return (await world.warehouse.pool.query<T>(sql, values)).rows;
}

beforeAll(async () => {
  world = await startWorld('verify', { rows: 150, clockStart: Date.parse('2026-06-01T12:00:00Z') });
  const first = await syncOnce(world, target);
  expect(first.error).toBeUndefined();
});
afterAll(async () => world?.close());

describe('verify and reconcile', () => {
  it('a matching warehouse passes both while Zuora keeps changing; the changes are pending, and the results are recorded', async () => {
    churn(4);
    const v = await whileChurning(verify);
    expect(v.map((r) => [r.object, r.ok, r.error, r.rowsMissing, r.rowsExtra])).toEqual([
      ['Account', true, undefined, 0, 0],
      ['InvoiceItem', true, undefined, 0, 0],
    ]);
    expect(v[0]!.daysChecked).toBeGreaterThan(1);
    // Rows updated or deleted after the watermark were told apart from faults by asking Zuora, not ignored.
    expect(v.every((r) => r.rowsPending > 0)).toBe(true);
    expect(v.map((r) => r.differences.length).reduce((a, b) => a + b)).toBeGreaterThan(0);
    const r = await whileChurning(() => reconcile());
    expect(r.map((x) => x.error)).toEqual([undefined, undefined]);
    expect(r.map((x) => [x.object, x.ok, x.missing, x.extra, x.stale])).toEqual([
      ['Account', true, 0, 0, 0],
      ['InvoiceItem', true, 0, 0, 0],
    ]);
    expect(r[1]!.zuoraRows).toBeGreaterThan(40); // more than one Id page
    const rows = await q<{ kind: string; ok: boolean; n: string }>(
      'select kind, ok, count(*) as n from aquasync.verifications group by 1, 2 order by 1',
    );
    expect(rows).toEqual([
      { kind: 'reconcile', ok: true, n: 2 },
      { kind: 'verify', ok: true, n: 2 },
    ]);
    const pending = await q<{ n: string }>("select sum(rows_pending) as n from aquasync.verifications where kind = 'verify'");
    expect(Number(pending[0]!.n)).toBeGreaterThan(0);
  });

  it('catches lost rows, rows deleted in Zuora over 30 days ago and a stale joined Id; --apply repairs them', async () => {
    const { admin } = world.emulator;
    expect((await syncOnce(world, target)).error).toBeUndefined(); // the changes so far arrive
    // 1. Delete an account in Zuora, let 31 days pass, sync: the deletion is past AQuA's 30-day retention.
    const doomed = admin.rows('Account').find((r) => r.deletedAt === undefined)!.values.Id as string;
    admin.remove('Account', doomed);
    admin.clock.advance(31 * DAY);
    const second = await syncOnce(world, target);
    expect(second.error).toBeUndefined();
    expect(await q('select 1 from zuora.account where id = $1 and not _aquasync_deleted', [doomed])).toHaveLength(1);
    // 2. The warehouse silently loses two invoice items.
    const lost = (await q<{ id: string }>('select id from zuora.invoice_item order by id limit 2')).map((r) => r.id);
    lost.forEach((id) => protectedIds.add(id));
    const lostDays = await q<{ day: string }>(
      "select distinct to_char((updated_date at time zone 'UTC')::date, 'YYYY-MM-DD') as day from zuora.invoice_item where id = any($1)",
      [lost],
    );
    await q('delete from zuora.invoice_item where id = any($1)', [lost]);
    // 3. A joined Id the warehouse never saw change (stateful AQuA does not re-emit the row).
    const [staleRow] = await q<{ id: string; invoice_id: string }>('select id, invoice_id from zuora.invoice_item order by id desc limit 1');
    protectedIds.add(staleRow!.id);
    await q("update zuora.invoice_item set invoice_id = 'stale-invoice' where id = $1", [staleRow!.id]);
    // 4. A row Zuora never had.
    const ghost = 'ghost0000000000000000000000000001';
    const copy = await world.warehouse.pool.connect();
    try {
      await copy.query('create temp table g as select * from zuora.invoice_item where id = $1', [lost[0] === staleRow!.id ? lost[1] : staleRow!.id]);
      await copy.query("update g set id = $1, updated_date = '2026-05-20T10:00:00Z'", [ghost]);
      await copy.query('insert into zuora.invoice_item select * from g');
    } finally {
      copy.release();
    }
    churn(3);

    const v = await whileChurning(verify);
    const byObject = new Map(v.map((r) => [r.object, r]));
    expect(byObject.get('Account')).toMatchObject({ ok: false, rowsExtra: 1, rowsMissing: 0, samples: { extra: [doomed] } });
    const items = byObject.get('InvoiceItem')!;
    expect(items).toMatchObject({ ok: false, rowsMissing: 2, rowsExtra: 1, samples: { extra: [ghost] } });
    expect([...items.samples.missing].sort()).toEqual([...lost].sort());
    // The report names the days, with their Ids.
    expect(items.days.find((d) => d.day === '2026-05-20')).toMatchObject({ extra: 1, extraIds: [ghost], drilled: true });
    for (const { day } of lostDays) expect(items.days.find((d) => d.day === day)?.missingIds.some((id) => lost.includes(id))).toBe(true);
    expect(items.worstDay).toBeDefined();

    const dry = await whileChurning(() => reconcile());
    const found = new Map(dry.map((r) => [r.object, r]));
    expect(found.get('Account')).toMatchObject({ ok: false, missing: 0, extra: 1, stale: 0, samples: { extra: [doomed] } });
    expect(found.get('InvoiceItem')).toMatchObject({ ok: false, missing: 2, extra: 1, stale: 1, samples: { extra: [ghost] } });
    expect([...found.get('InvoiceItem')!.samples.missing].sort()).toEqual([...lost].sort());
    // A dry run changes nothing.
    expect(await q('select 1 from zuora.account where id = $1 and not _aquasync_deleted', [doomed])).toHaveLength(1);

    const applied = await whileChurning(() => reconcile(true));
    const fixed = new Map(applied.map((r) => [r.object, r]));
    expect(fixed.get('Account')).toMatchObject({ markedDeleted: 1, error: undefined });
    expect(fixed.get('InvoiceItem')).toMatchObject({ markedDeleted: 1, error: undefined });
    expect(fixed.get('InvoiceItem')!.repull.every((p) => p.status === 'loaded')).toBe(true);
    expect(await q('select _aquasync_deleted as d from zuora.account where id = $1', [doomed])).toEqual([{ d: true }]);
    expect(await q('select id from zuora.invoice_item where id = any($1)', [lost])).toHaveLength(2);
    expect(await q('select id from zuora.invoice_item where id = $1', [ghost])).toHaveLength(0);
    expect(await q('select invoice_id from zuora.invoice_item where id = $1', [staleRow!.id])).toEqual([{ invoice_id: staleRow!.invoice_id }]);

    // Everything is in the run history: the reconcile run and the backfill runs it started.
    const runs = await q<{ kind: string; status: string }>("select kind, status from aquasync.runs where kind in ('reconcile', 'backfill') order by id");
    expect(runs[0]).toEqual({ kind: 'reconcile', status: 'succeeded' });
    expect(runs.filter((r) => r.kind === 'backfill').length).toBeGreaterThan(0);
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    expect(await q("select 1 from aquasync.events where kind = 'reconcile-deleted'")).toHaveLength(2);

    // reconcile --apply, then sync, then verify: clean, while Zuora keeps changing.
    expect((await whileChurning(() => syncOnce(world, target))).error).toBeUndefined();
    churn(2);
    const after = await whileChurning(() => reconcile());
    expect(after.map((r) => [r.object, r.ok, r.missing, r.extra, r.stale])).toEqual([
      ['Account', true, 0, 0, 0],
      ['InvoiceItem', true, 0, 0, 0],
    ]);
    const clean = await whileChurning(verify);
    expect(clean.map((r) => [r.object, r.ok, r.rowsMissing, r.rowsExtra])).toEqual([
      ['Account', true, 0, 0],
      ['InvoiceItem', true, 0, 0],
    ]);
  });

  it('a re-pull loads its range again even when an earlier reconcile loaded it: a row lost twice is repaired twice', async () => {
    const [row] = await q<{ id: string }>(
      "select i.id from zuora.invoice_item i, aquasync.watermarks w where w.pipeline = 'billing' and i.updated_date < w.watermark - interval '1 day' order by i.id limit 1",
    );
    protectedIds.add(row!.id);
    for (let round = 0; round < 2; round++) {
      await q('delete from zuora.invoice_item where id = $1', [row!.id]);
      const applied = await reconcile(true);
      expect(applied.find((r) => r.object === 'InvoiceItem')).toMatchObject({ missing: 1, error: undefined });
      expect(await q('select 1 from zuora.invoice_item where id = $1', [row!.id]), `round ${round}`).toHaveLength(1);
    }
    expect((await verify()).every((r) => r.ok)).toBe(true);
  });

  it('reconcile --apply does not start while a sync or a backfill of the pipeline holds its lock', async () => {
    for (const name of ['billing', 'billing#backfill']) {
      const held = await acquirePipelineLock(world.warehouse.pool, name);
      try {
        const error = await reconcile(true).catch((e: unknown) => e);
        expect(error, name).toMatchObject({ code: 'PIPELINE_BUSY' });
      } finally {
        await held?.release();
      }
    }
    const runs = await q("select 1 from aquasync.runs where kind = 'reconcile' and status = 'running'");
    expect(runs).toHaveLength(0);
  });

  it('reports a Data Query failure per object without hiding it, and records it', async () => {
    const broken = pipelineFrom(yaml.replace('name: Account', 'name: Acccount'));
    const dataQuery = new DataQueryClient(clientFor(world), { poll });
    const results = await runVerify({ ...contexts(), dataQuery }, { ...broken.pipeline, name: 'billing' }, { objects: ['Acccount'] });
    expect(results[0]).toMatchObject({ ok: false });
    expect(results[0]!.error).toMatch(/does not exist/);
    expect(await q("select 1 from aquasync.verifications where object = 'Acccount' and not ok and error is not null")).toHaveLength(1);
  });
});
