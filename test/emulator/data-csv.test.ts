import { parse } from 'csv-parse/sync';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { compileQuery, createTenant, csvField, formatDateTime, NASTY_DECIMALS, NASTY_TEXTS, renderCsv } from '../../src/emulator/data.ts';
import type { OutputColumn, RenderOptions, Value } from '../../src/emulator/model.ts';

const BEFORE = Date.parse('2024-01-01T00:00:00Z');
const OPTIONS: RenderOptions = {
  useQueryLabels: true,
  dateTimeUtc: true,
  nullReplacement: undefined,
  deleted: undefined,
  tenantZone: 'America/Los_Angeles',
};

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function records(csv: string): string[][] {
  return parse(csv, { relax_column_count: false }) as string[][];
}

describe('csvField', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['a\r\nb', '"a\r\nb"'],
    ['a\nb', '"a\nb"'],
    ['a\rb', '"a\rb"'],
    [' lead', '" lead"'],
    ['trail ', '"trail "'],
    ['', ''],
    ['日本 🚀', '日本 🚀'],
  ])('%j -> %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });
});

describe('formatDateTime', () => {
  it.each([
    ['2024-03-05T08:00:00Z', true, 'America/Los_Angeles', '2024-03-05T08:00:00+0000'],
    ['2024-03-05T08:00:00Z', false, 'America/Los_Angeles', '2024-03-05T00:00:00-0800'],
    ['2024-07-05T08:00:00Z', false, 'America/Los_Angeles', '2024-07-05T01:00:00-0700'],
    ['2024-07-05T08:00:00.999Z', false, 'Asia/Kolkata', '2024-07-05T13:30:00+0530'],
    ['2026-08-04T10:11:15Z', false, 'Australia/Sydney', '2026-08-04T20:11:15+1000'],
    ['2024-11-03T08:30:00Z', false, 'America/Los_Angeles', '2024-11-03T01:30:00-0700'],
    ['2024-11-03T09:30:00Z', false, 'America/Los_Angeles', '2024-11-03T01:30:00-0800'],
  ])('%s utc=%s %s -> %s', (iso, utc, zone, expected) => {
    expect(formatDateTime(Date.parse(iso), utc, zone)).toBe(expected);
  });
});

describe('renderCsv', () => {
  const tenant = createTenant({ seed: 3, rows: 1200, generatedBefore: BEFORE });
  const snapshot = tenant.snapshot(BEFORE);

  it('round-trips every nasty value exactly through csv-parse, with CRLF records', async () => {
    const query = compileQuery('select * from InvoiceItem limit 1010', tenant, { spaceLiteralTrap: true, defaultZone: 'UTC' });
    const rows = [...query.rows(snapshot, { includeDeleted: false })];
    const csv = await text(renderCsv(rows, query.columns, OPTIONS, query.baseObject));
    const header = query.columns.map((c) => c.header).join(',');
    expect(csv.startsWith(`${header}\r\n`)).toBe(true);
    expect(csv.endsWith('\r\n')).toBe(true);

    const parsed = records(csv);
    expect(parsed[0]).toEqual(query.columns.map((c) => c.header));
    expect(parsed).toHaveLength(rows.length + 1);
    const name = query.columns.findIndex((c) => c.header === 'InvoiceItem.ChargeName');
    const amount = query.columns.findIndex((c) => c.header === 'InvoiceItem.ChargeAmount');
    const created = query.columns.findIndex((c) => c.header === 'InvoiceItem.CreatedDate');
    NASTY_TEXTS.forEach((value, k) => {
      expect(parsed[k + 1]?.[name]).toBe(value);
      expect(parsed[k + 1]?.[amount]).toBe(NASTY_DECIMALS[k]);
    });
    expect(parsed[3]?.[name]).toContain('\r\n');
    expect(parsed[6]?.[name]?.length).toBeGreaterThanOrEqual(10_240);
    expect(parsed[5]?.[name]).toBe('Café 日本 🚀 naïve');

    rows.forEach((row, r) => {
      const cells = parsed[r + 1] as string[];
      row.values.forEach((value, c) => {
        const column = query.columns[c] as OutputColumn;
        const expected =
          value === null
            ? ''
            : column.type === 'datetime'
              ? formatDateTime(value as number, true, 'UTC')
              : String(value);
        expect(cells[c]).toBe(expected);
      });
    });
    expect(parsed[1]?.[created]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0000$/);
  });

  it('renders empty string and null alike, unless nullReplacement is set', async () => {
    const columns: OutputColumn[] = [
      { header: 'X.A', labelHeader: 'X: A', type: 'text' },
      { header: 'X.B', labelHeader: 'X: B', type: 'date' },
      { header: 'X.C', labelHeader: 'X: C', type: 'boolean' },
      { header: 'X.D', labelHeader: 'X: D', type: 'decimal' },
    ];
    const rows: { values: Value[]; deleted: boolean }[] = [
      { values: ['', null, true, '-0.000000000000000000001'], deleted: false },
      { values: [null, '2024-02-29', false, '12345678901234567890.123456789'], deleted: true },
    ];
    expect(await text(renderCsv(rows, columns, OPTIONS))).toBe(
      'X.A,X.B,X.C,X.D\r\n,,true,-0.000000000000000000001\r\n,2024-02-29,false,12345678901234567890.123456789\r\n',
    );
    const replaced = await text(renderCsv(rows, columns, { ...OPTIONS, nullReplacement: 'NULL' }));
    expect(records(replaced).slice(1)).toEqual([
      ['', 'NULL', 'true', '-0.000000000000000000001'],
      ['NULL', '2024-02-29', 'false', '12345678901234567890.123456789'],
    ]);
  });

  it.each([
    [{ column: 'IsDeleted', format: 'Boolean' as const }, true, 'X.IsDeleted,X.A', ['false', 'true']],
    [{ column: 'IsDeleted', format: 'Numeric' as const }, false, 'X.IsDeleted,X: A', ['0', '1']],
  ])('writes the deleted column first (%o, useQueryLabels %s)', async (deleted, useQueryLabels, header, flags) => {
    const columns: OutputColumn[] = [{ header: 'X.A', labelHeader: 'X: A', type: 'text' }];
    const rows = [
      { values: ['live'], deleted: false },
      { values: ['gone'], deleted: true },
    ];
    const csv = await text(renderCsv(rows, columns, { ...OPTIONS, useQueryLabels, deleted }, 'X'));
    expect(records(csv)).toEqual([header.split(','), [flags[0], 'live'], [flags[1], 'gone']]);
  });

  it('names the deleted column after the base object even when a join comes first', async () => {
    const query = compileQuery('select Account.Name, Id from InvoiceItem limit 1', tenant, { spaceLiteralTrap: true, defaultZone: 'UTC' });
    const deleted = { column: 'IsDeleted', format: 'Boolean' as const };
    const csv = await text(renderCsv(query.rows(snapshot, { includeDeleted: false }), query.columns, { ...OPTIONS, deleted }, query.baseObject));
    expect(csv.split('\r\n')[0]).toBe('InvoiceItem.IsDeleted,Account.Name,InvoiceItem.Id');
    const labels = await text(renderCsv([], query.columns, { ...OPTIONS, useQueryLabels: false }));
    expect(labels).toBe('Account: Account Name,Invoice Item: ID\r\n');
  });

  it('renders datetimes in the tenant zone when dateTimeUtc is false', async () => {
    const columns: OutputColumn[] = [{ header: 'X.T', labelHeader: 'X: T', type: 'datetime' }];
    const rows = [{ values: [Date.parse('2024-03-05T08:00:00Z')], deleted: false }];
    expect(await text(renderCsv(rows, columns, { ...OPTIONS, dateTimeUtc: false }))).toBe('X.T\r\n2024-03-05T00:00:00-0800\r\n');
  });

  it('pulls rows only as the consumer reads (backpressure)', async () => {
    let pulled = 0;
    function* endless() {
      for (;;) {
        pulled++;
        yield { values: [`row ${pulled}, with a comma`] as Value[], deleted: false };
      }
    }
    const stream = renderCsv(endless(), [{ header: 'X.A', labelHeader: 'X: A', type: 'text' }], OPTIONS);
    // Paused mode: nothing is consumed unless read() is called, so the generator must stay (nearly) untouched.
    await new Promise((resolve) => stream.once('readable', resolve));
    const first = stream.read(1024) as Buffer | null;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(first?.length).toBe(1024);
    const afterOneRead = pulled;
    expect(afterOneRead).toBeGreaterThan(0);
    expect(afterOneRead).toBeLessThan(20_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pulled).toBe(afterOneRead);
    stream.destroy();
  });

  it('destroys the stream with the error when the row source throws', async () => {
    function* failing() {
      yield { values: ['ok'] as Value[], deleted: false };
      throw new Error('source broke');
    }
    await expect(text(renderCsv(failing(), [{ header: 'X.A', labelHeader: 'X: A', type: 'text' }], OPTIONS))).rejects.toThrow(
      'source broke',
    );
  });
});
