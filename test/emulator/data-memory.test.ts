import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expect, it } from 'vitest';
import { compileQuery, createTenant, renderCsv } from '../../src/emulator/data.ts';
import type { Value } from '../../src/emulator/model.ts';

const ROWS = 400_000; // enough to show growth if rows were retained (~150 MB), small enough for CI
const WARM_UP_ROWS = 20_000;

it('streams 400,000 generated InvoiceItem rows through rows() and renderCsv in flat memory', async () => {
  const before = Date.parse('2025-01-01T00:00:00Z');
  const tenant = createTenant({ seed: 9, rows: ROWS, generatedBefore: before });
  const snapshot = tenant.snapshot(before);
  const query = compileQuery('select *, Invoice.InvoiceNumber from InvoiceItem', tenant, {
    spaceLiteralTrap: true,
    defaultZone: 'America/Los_Angeles',
  });

  let rows = 0;
  let baseline = 0;
  let peak = 0;
  function* counted(): Generator<{ values: Value[]; deleted: boolean }> {
    for (const row of query.rows(snapshot, { includeDeleted: false })) {
      rows++;
      // Measure from after a warm-up, so JIT code and caches are not counted as growth.
      if (rows === WARM_UP_ROWS) baseline = process.memoryUsage().rss;
      if (rows > WARM_UP_ROWS && rows % 10_000 === 0) peak = Math.max(peak, process.memoryUsage().rss);
      yield row;
    }
  }

  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback();
    },
  });
  await pipeline(
    renderCsv(counted(), query.columns, {
      useQueryLabels: true,
      dateTimeUtc: false,
      nullReplacement: undefined,
      deleted: { column: 'IsDeleted', format: 'Boolean' },
      tenantZone: 'America/Los_Angeles',
    }, query.baseObject),
    sink,
  );

  expect(rows).toBe(ROWS);
  expect(bytes).toBeGreaterThan(ROWS * 100);
  expect(baseline).toBeGreaterThan(0);
  const growthMb = (peak - baseline) / 1024 / 1024;
  expect(growthMb).toBeLessThan(100);
}, 120_000);
