// verify when Zuora changes a row while it counts the rows per day: that row may or may not be in Zuora's count, so
// it must neither cancel a lost row nor a row Zuora no longer has on the same day. The change is made at exactly that
// moment (right after the real emulator answers the per-day count), so the race is certain, not timing-dependent.
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
  // Four rows on one day, well before the watermark.
  const { admin } = world.emulator;
  for (const r of admin.rows('InvoiceItem').slice(0, 4)) admin.update('InvoiceItem', String(r.values.Id), { ChargeAmount: '1.500000' });
  admin.clock.advance(86_400_000);
  expect((await syncOnce(world, target)).error).toBeUndefined();
});
afterAll(async () => world?.close());

it('a row changed while Zuora counts does not hide a lost row or a row Zuora no longer has on its day', async () => {
  const { pool } = world.warehouse;
  const day = '2026-06-01';
  const ids = (await pool.query<{ id: string }>(
    "select id from zuora.invoice_item where (updated_date at time zone 'UTC')::date = $1 order by id", [day],
  )).rows.map((r) => r.id);
  // One is lost, one is a ghost's template, two change during the count.
  expect(ids.length).toBeGreaterThanOrEqual(4);
  const [lost, template, racing1, racing2] = ids as [string, string, string, string];
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
      const answer = await super.query(sql, options);
      if (sql.includes('count(*)') && this.raced++ === 0) {
        for (const id of [racing1, racing2]) world.emulator.admin.update('InvoiceItem', id, { ChargeAmount: '9.500000' });
      }
      return answer;
    }
  }
  const dataQuery = new RacingDataQuery(clientFor(world), { poll: { minIntervalMs: 5, maxIntervalMs: 30 } });
  const [result] = await runVerify({ warehouse: world.warehouse, dataQuery, schema: target.schema, logger: silentLogger }, target.pipeline);
  expect(dataQuery.raced).toBe(1);
  expect(result).toMatchObject({ ok: false, rowsMissing: 1, rowsExtra: 1, samples: { missing: [lost], extra: [ghost] } });
  expect(result!.days.find((d) => d.day === day)).toMatchObject({ missing: 1, extra: 1, drilled: true });
  expect(result!.samples.pending).toEqual(expect.arrayContaining([racing1, racing2]));
});
