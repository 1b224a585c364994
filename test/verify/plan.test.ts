// Pure parts of verify/reconcile: targets, Data Query SQL, day and Id comparisons, re-pull ranges.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import {
  classifyDrill,
  compareDays,
  dayWindow,
  compareIds,
  coveringRanges,
  dailyCountQuery,
  foreignKeyColumn,
  idPageQuery,
  parseDataQueryTimestamp,
  verifyTargets,
} from '../../src/verify/index.ts';
import { dataQueryErrorText, normalizeDataQueryJob, sqlString, sqlTimestamp } from '../../src/zuora/index.ts';

const yaml = `
source: { baseUrl: https://x, clientId: a, clientSecret: b }
warehouse: { schema: zuora }
pipelines:
  - name: billing
    schedule: "0 2 * * *"
    partner: aquasync
    project: p
    objects:
      - name: Account
        fields: [Id, Name, UpdatedDate, BillToContact.Id]
        deletes: hard
      - name: InvoiceItem
        query: select Id, ChargeAmount, UpdatedDate, Invoice.Id from InvoiceItem
      - name: Contact
        fields: [Id, FirstName]
`;
const pipeline = parseConfig(yaml, 'p.yaml', {}).pipelines[0]!;

describe('verifyTargets', () => {
  it('maps objects to tables, key, UpdatedDate and joined Id columns', () => {
    const [account, item, contact] = verifyTargets(pipeline, 'zuora');
    expect(account).toMatchObject({
      dataQueryTable: 'account',
      table: 'account',
      idColumn: 'id',
      updatedColumn: 'updated_date',
      deletes: 'hard',
      joinedIds: [{ column: 'bill_to_contact_id', dataQueryColumn: 'billtoid' }],
    });
    expect(item).toMatchObject({ table: 'invoice_item', joinedIds: [{ column: 'invoice_id', dataQueryColumn: 'invoiceid' }] });
    expect(contact?.updatedColumn).toBeUndefined();
  });

  it('filters by object name, case-insensitively, and rejects unknown names', () => {
    expect(verifyTargets(pipeline, 'zuora', ['invoiceitem']).map((t) => t.object)).toEqual(['InvoiceItem']);
    expect(() => verifyTargets(pipeline, 'zuora', ['Invoice'])).toThrow(/no object named "Invoice"/);
  });
});

describe('Data Query SQL', () => {
  const [account] = verifyTargets(pipeline, 'zuora');
  it('counts per UTC day with explicit offsets in the literals', () => {
    expect(dailyCountQuery(account!, new Date('2026-01-01T00:00:00Z'), new Date('2026-02-01T12:30:00.500Z'))).toBe(
      "select date(at_timezone(updateddate, 'UTC')) as day, count(*) as n from account where updateddate >= " +
        "TIMESTAMP '2026-01-01 00:00:00.000 +00:00' and updateddate < TIMESTAMP '2026-02-01 12:30:00.500 +00:00' group by 1 order by 1",
    );
  });
  it('pages Ids with UpdatedDate and foreign keys, quoting the bound', () => {
    expect(idPageQuery(account!, "o'x", 1000)).toBe(
      "select id, updateddate, billtoid from account where id > 'o''x' order by id limit 1000",
    );
    expect(() => idPageQuery(account!, '', 0)).toThrow(/positive whole number/);
  });
  it.each([
    ["it's", "'it''s'"],
    ['', "''"],
  ])('sqlString(%j)', (input, out) => expect(sqlString(input)).toBe(out));
  it('sqlTimestamp', () => expect(sqlTimestamp(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe("TIMESTAMP '2026-01-02 03:04:05.000 +00:00'"));
});

describe('parseDataQueryTimestamp', () => {
  it.each([
    ['2024-07-09T02:47:49.675-07:00', '2024-07-09T09:47:49.675Z'],
    ['2024-07-09 02:47:49.675 -07:00', '2024-07-09T09:47:49.675Z'],
    ['2024-07-09 02:47:49 UTC', '2024-07-09T02:47:49.000Z'],
    ['2024-07-09T02:47:49+0530', '2024-07-08T21:17:49.000Z'],
  ])('%s', (text, iso) => expect(parseDataQueryTimestamp(text)?.toISOString()).toBe(iso));
  it.each([['2024-07-09 02:47:49'], [''], [null], ['yesterday']])('rejects %j (no zone or not a time)', (v) =>
    expect(parseDataQueryTimestamp(v)).toBeUndefined(),
  );
});

describe('compareDays', () => {
  it.each([
    { name: 'equal', z: { a: 2, b: 1 }, w: { a: 2, b: 1 }, matching: 2, missing: 0, extra: 0, worst: undefined },
    { name: 'lost rows', z: { a: 5, b: 1 }, w: { a: 2, b: 1 }, matching: 1, missing: 3, extra: 0, worst: 'a' },
    { name: 'day only in warehouse', z: { a: 1 }, w: { a: 1, c: 4 }, matching: 1, missing: 0, extra: 4, worst: 'c' },
    { name: 'both ways, worst first on ties', z: { a: 3, b: 0 }, w: { a: 1, b: 2 }, matching: 0, missing: 2, extra: 2, worst: 'a' },
  ])('$name', ({ z, w, matching, missing, extra, worst }) => {
    const r = compareDays(new Map(Object.entries(z)), new Map(Object.entries(w)));
    expect([r.daysMatching, r.rowsMissing, r.rowsExtra, r.worstDay?.day]).toEqual([matching, missing, extra, worst]);
    expect(r.daysChecked).toBe(new Set([...Object.keys(z), ...Object.keys(w)]).size);
  });
});

describe('compareIds', () => {
  const mark = new Date('2026-01-10T00:00:00Z');
  const old = new Date('2026-01-01T00:00:00Z');
  const recent = new Date('2026-01-11T00:00:00Z');
  const joined = [{ column: 'invoice_id', dataQueryColumn: 'invoiceid' }];
  it('finds missing, extra and stale rows and leaves rows newer than the watermark to the next sync', () => {
    const r = compareIds(
      [
        { id: 'a', updated: old, joined: { invoiceid: 'i1' } },
        { id: 'b', updated: old, joined: { invoiceid: 'i2' } },
        { id: 'c', updated: old, joined: { invoiceid: 'i3' } },
        { id: 'd', updated: recent, joined: { invoiceid: 'i9' } },
        { id: 'e', updated: recent, joined: { invoiceid: 'i9' } },
        { id: 'f', updated: old, joined: { invoiceid: null } },
      ],
      [
        { id: 'a', invoice_id: 'i1' },
        { id: 'c', invoice_id: 'OLD' },
        { id: 'e', invoice_id: 'OLD' },
        { id: 'f', invoice_id: '' },
        { id: 'z', invoice_id: 'i1' },
      ],
      joined,
      mark,
    );
    expect(r.missing.map((x) => x.id)).toEqual(['b']);
    expect(r.extra).toEqual(['z']);
    expect(r.stale.map((x) => [x.id, x.columns])).toEqual([['c', ['invoice_id']]]);
    expect(r.pending).toBe(1);
  });
});

describe('coveringRanges', () => {
  const t = (iso: string): Date => new Date(iso);
  it.each([
    { name: 'none', at: [], gap: 1000, out: [] },
    { name: 'one instant, whole seconds', at: ['2026-01-01T00:00:00.700Z'], gap: 1000, out: [['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z']] },
    {
      name: 'close instants merge, far ones split',
      at: ['2026-01-01T00:00:10Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:05Z', '2026-01-03T00:00:00Z'],
      gap: 60_000,
      out: [
        ['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:11.000Z'],
        ['2026-01-03T00:00:00.000Z', '2026-01-03T00:00:01.000Z'],
      ],
    },
  ])('$name', ({ at, gap, out }) => {
    expect(coveringRanges(at.map(t), gap).map((r) => [r.since.toISOString(), r.until.toISOString()])).toEqual(out);
  });
});

describe('Data Query wire format', () => {
  it('reads a completed job and rejects a body without id', () => {
    const job = normalizeDataQueryJob(
      { data: { id: 'j1', query: 'q', queryStatus: 'COMPLETED', dataFile: 'https://s3/x.jsonl.gz', outputRows: '12', processingTime: 9 } },
      {},
    );
    expect(job).toMatchObject({ id: 'j1', queryStatus: 'completed', outputRows: 12, dataFile: 'https://s3/x.jsonl.gz' });
    expect(() => normalizeDataQueryJob({ data: { queryStatus: 'failed' } }, {})).toThrow(/without a job id/);
  });
  it.each([
    ['{"code":415,"message":"HTTP 415 Unsupported Media Type"}', 'HTTP 415 Unsupported Media Type'],
    ['{"errors":[{"message":"a"},{"message":"b"}]}', 'a; b'],
    ['<html> bad\n gateway </html>', '<html> bad gateway </html>'],
  ])('error text of %s', (body, text) => expect(dataQueryErrorText(body)).toBe(text));
});

describe('foreignKeyColumn', () => {
  it.each([
    ['Account', 'BillToContact', 'billtoid'],
    ['account', 'SoldToContact', 'soldtoid'],
    ['InvoiceItem', 'Invoice', 'invoiceid'],
    ['Invoice', 'BillToContact', 'billtocontactid'],
  ])('%s.%s -> %s', (base, rel, column) => expect(foreignKeyColumn(base, rel)).toBe(column));
});

describe('verify drill-down', () => {
  it('sorts the Ids of a day: changed in Zuora since the watermark is pending, anything else missing or extra', () => {
    const zuora = new Map([['a', 1], ['b', 1], ['c', 1]]);
    const warehouse = new Map([['b', 1], ['d', 1], ['e', 1], ['f', 1]]);
    // a: lost; c: Zuora-only but changed since (the warehouse will get it); d: updated since (warehouse holds the
    // old version); e: never in Zuora; f: deleted in Zuora since the watermark.
    expect(classifyDrill(zuora, warehouse, new Set(['c', 'd', 'f']))).toEqual({ missing: ['a'], extra: ['e'], pending: ['c', 'd', 'f'] });
    expect(classifyDrill(zuora, zuora, new Set())).toEqual({ missing: [], extra: [], pending: [] });
  });

  it('bounds a UTC day by --since and the watermark', () => {
    const until = new Date('2026-06-02T08:30:00Z');
    expect(dayWindow('2026-05-31', undefined, until)).toEqual({ from: new Date('2026-05-31T00:00:00Z'), to: new Date('2026-06-01T00:00:00Z') });
    expect(dayWindow('2026-06-02', new Date('2026-06-02T01:00:00Z'), until)).toEqual({
      from: new Date('2026-06-02T01:00:00Z'),
      to: until,
    });
  });
});
