// verify and reconcile end to end: emulator (AQuA + Data Query) over HTTP, a real warehouse, the real sync and
// backfill. A warehouse that lost rows, kept rows deleted in Zuora > 30 days ago, or holds a stale joined Id is
// caught and then repaired by reconcile --apply; a matching warehouse passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
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
  it('a matching warehouse passes both, and the results are recorded', async () => {
    const v = await verify();
    expect(v.map((r) => [r.object, r.ok, r.error])).toEqual([
      ['Account', true, undefined],
      ['InvoiceItem', true, undefined],
    ]);
    expect(v[0]!.daysChecked).toBeGreaterThan(1);
    const r = await reconcile();
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
  });

  it('catches lost rows, rows deleted in Zuora over 30 days ago and a stale joined Id; --apply repairs them', async () => {
    const { admin } = world.emulator;
    // 1. Delete an account in Zuora, let 31 days pass, sync: the deletion is past AQuA's 30-day retention.
    const doomed = admin.rows('Account').find((r) => r.deletedAt === undefined)!.values.Id as string;
    admin.remove('Account', doomed);
    admin.clock.advance(31 * DAY);
    const second = await syncOnce(world, target);
    expect(second.error).toBeUndefined();
    expect(await q('select 1 from zuora.account where id = $1 and not _aquasync_deleted', [doomed])).toHaveLength(1);
    // 2. The warehouse silently loses two invoice items.
    const lost = (await q<{ id: string }>('select id from zuora.invoice_item order by id limit 2')).map((r) => r.id);
    await q('delete from zuora.invoice_item where id = any($1)', [lost]);
    // 3. A joined Id the warehouse never saw change (stateful AQuA does not re-emit the row).
    const [staleRow] = await q<{ id: string; invoice_id: string }>('select id, invoice_id from zuora.invoice_item order by id desc limit 1');
    await q("update zuora.invoice_item set invoice_id = 'stale-invoice' where id = $1", [staleRow!.id]);

    const v = await verify();
    const byObject = new Map(v.map((r) => [r.object, r]));
    expect(byObject.get('Account')).toMatchObject({ ok: false, rowsExtra: 1, rowsMissing: 0 });
    expect(byObject.get('InvoiceItem')).toMatchObject({ ok: false, rowsMissing: 2, rowsExtra: 0 });
    expect(byObject.get('InvoiceItem')!.worstDay).toBeDefined();

    const dry = await reconcile();
    const found = new Map(dry.map((r) => [r.object, r]));
    expect(found.get('Account')).toMatchObject({ ok: false, missing: 0, extra: 1, stale: 0, samples: { extra: [doomed] } });
    expect(found.get('InvoiceItem')).toMatchObject({ ok: false, missing: 2, extra: 0, stale: 1 });
    expect([...found.get('InvoiceItem')!.samples.missing].sort()).toEqual([...lost].sort());
    // A dry run changes nothing.
    expect(await q('select 1 from zuora.account where id = $1 and not _aquasync_deleted', [doomed])).toHaveLength(1);

    const applied = await reconcile(true);
    const fixed = new Map(applied.map((r) => [r.object, r]));
    expect(fixed.get('Account')).toMatchObject({ markedDeleted: 1, error: undefined });
    expect(fixed.get('InvoiceItem')!.error).toBeUndefined();
    expect(fixed.get('InvoiceItem')!.repull.every((p) => p.status === 'loaded')).toBe(true);
    expect(await q('select _aquasync_deleted as d from zuora.account where id = $1', [doomed])).toEqual([{ d: true }]);
    expect(await q('select id from zuora.invoice_item where id = any($1)', [lost])).toHaveLength(2);
    expect(await q('select invoice_id from zuora.invoice_item where id = $1', [staleRow!.id])).toEqual([{ invoice_id: staleRow!.invoice_id }]);

    // Everything is in the run history: the reconcile run and the backfill runs it started.
    const runs = await q<{ kind: string; status: string }>("select kind, status from aquasync.runs where kind in ('reconcile', 'backfill') order by id");
    expect(runs[0]).toEqual({ kind: 'reconcile', status: 'succeeded' });
    expect(runs.filter((r) => r.kind === 'backfill').length).toBeGreaterThan(0);
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    expect(await q("select 1 from aquasync.events where kind = 'reconcile-deleted'")).toHaveLength(1);

    const after = await reconcile();
    expect(after.map((r) => [r.object, r.ok])).toEqual([
      ['Account', true],
      ['InvoiceItem', true],
    ]);
    expect((await verify()).every((r) => r.ok)).toBe(true);
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
