// verify when Zuora changes a row while it counts the rows per day: that row may or may not be in Zuora's count, so
// it must neither cancel a lost row nor a row Zuora no longer has on the same day. The changes are made at exactly
// those moments (just before and just after the real emulator counts), so the race is certain, not timing-dependent.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { runVerify } from '../../src/verify/index.ts';
import { DataQueryClient, type DataQueryRow } from '../../src/zuora/index.ts';
import { clientFor, pipelineFrom, startWorld, syncOnce, type SyncWorld } from '../sync/helpers.ts';

const target = pipelineFrom(`
source: { baseUrl: https://placeholder, clientId: id, clientSecret: secret }
warehouse: { schema: zuora }
pipelines:
  - name: billing
    schedule: "0 2 * * *"
    partner: aquasync
    project: p-verify-race
    format: gzip
    objects:
      - name: InvoiceItem
        query: select Id, ChargeAmount, UpdatedDate, Invoice.Id from InvoiceItem
        deletes: hard
`);
let world: SyncWorld;

beforeAll(async () => {
  world = await startWorld('verify-race', { rows: 60, clockStart: Date.parse('2026-06-01T12:00:00Z') });
  // Two rows on each of two days, well before the watermark.
  const { admin } = world.emulator;
  const items = admin.rows('InvoiceItem').slice(0, 4);
  for (const [i, r] of items.entries()) {
    if (i === 2) admin.clock.advance(86_400_000);
    admin.update('InvoiceItem', String(r.values.Id), { ChargeAmount: '1.500000' });
  }
  admin.clock.advance(86_400_000);
  expect((await syncOnce(world, target)).error).toBeUndefined();
});
afterAll(async () => world?.close());

it('a row changed while Zuora counts does not hide a lost row or a row Zuora no longer has on its day', async () => {
  const { pool } = world.warehouse;
  const onDay = async (day: string) =>
    (await pool.query<{ id: string }>("select id from zuora.invoice_item where (updated_date at time zone 'UTC')::date = $1 order by id", [day])).rows.map((r) => r.id);
  // 2026-06-01: a lost row, and a row changed after verify asked what changed but before Zuora counts (not counted).
  // 2026-06-02: a ghost, and a row changed right after Zuora counted it (still counted under its old day).
  const [lost, racing1] = (await onDay('2026-06-01')) as [string, string];
  const [template, racing2] = (await onDay('2026-06-02')) as [string, string];
  expect([lost, racing1, template, racing2].every(Boolean)).toBe(true);
  await pool.query('delete from zuora.invoice_item where id = $1', [lost]);
  const ghost = 'ghost0000000000000000000000000001';
  const copy = await pool.connect();
  try {
    await copy.query('create temp table g as select * from zuora.invoice_item where id = $1', [template]);
    await copy.query('update g set id = $1', [ghost]);
    await copy.query('insert into zuora.invoice_item select * from g');
  } finally {
    copy.release();
  }

  class RacingDataQuery extends DataQueryClient {
    raced = 0;
    override async query(sql: string, options?: Parameters<DataQueryClient['query']>[1]): Promise<DataQueryRow[]> {
      const counting = sql.includes('count(*)') && this.raced++ === 0;
      if (counting) world.emulator.admin.update('InvoiceItem', racing1, { ChargeAmount: '9.500000' });
      const answer = await super.query(sql, options);
      if (counting) world.emulator.admin.update('InvoiceItem', racing2, { ChargeAmount: '9.500000' });
      return answer;
    }
  }
  const dataQuery = new RacingDataQuery(clientFor(world), { poll: { minIntervalMs: 5, maxIntervalMs: 30 } });
  const [result] = await runVerify({ warehouse: world.warehouse, dataQuery, schema: target.schema, logger: silentLogger }, target.pipeline);
  expect(dataQuery.raced).toBe(1);
  expect(result).toMatchObject({ ok: false, rowsMissing: 1, rowsExtra: 1, samples: { missing: [lost], extra: [ghost] } });
  expect(result!.days.map((d) => [d.day, d.missing, d.extra, d.drilled])).toEqual([
    ['2026-06-01', 1, 0, true],
    ['2026-06-02', 0, 1, true],
  ]);
  expect(result!.samples.pending).toEqual(expect.arrayContaining([racing1, racing2]));
});
