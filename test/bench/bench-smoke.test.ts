// The benchmark at toy size, so it cannot rot: it must complete, and every variant must load exactly the rows
// the emulator served. No timing is asserted.
import { describe, expect, it } from 'vitest';
import { runBench } from '../../bench/run-bench.ts';
import { serverUrl } from '../helpers/db.ts';

describe('npm run bench (smoke)', () => {
  it('runs every variant once on 20,000 rows and loads exactly the rows served', async () => {
    const lines: string[] = [];
    const result = await runBench({
      databaseUrl: serverUrl(),
      rows: 20_000,
      runs: 1,
      format: 'gzip',
      json: false,
      segmentSize: 8_000,
      concurrency: 2,
      naive: true,
      mergeSettings: [],
      limits: true,
      vacuum: true, // the path runs; 20,000 rows take no time
      changed: undefined,
      log: (line) => lines.push(line),
    });
    // The ceiling needs psql and curl; without them it is skipped (and says so), never wrong.
    const ceiling = lines.some((l) => l.includes('ceiling skipped')) ? undefined : 20_000;
    expect(result.checks).toEqual([{ served: 20_000, loaded: 20_000, ceilingLoaded: ceiling, naiveLoaded: 20_000, copyLimitLoaded: ceiling }]);
    const m = result.measurements;
    expect(m['aquasync-full']?.[0]?.rows).toBe(20_000);
    expect(m['aquasync-incremental']?.[0]?.rows).toBe(2_000);
    expect(m['aquasync-no-change']?.[0]?.rows).toBe(0);
    expect(m.naive?.[0]?.rows).toBe(20_000);
    expect(m['aquasync-full']?.[0]?.peakRssMb).toBeGreaterThan(0);
    expect(m['aquasync-full']?.[0]?.peakDiskMb).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes('VACUUM (ANALYZE) zuora.invoice_item'))).toHaveLength(1);
    if (ceiling !== undefined) {
      expect(m.ceiling?.[0]?.rows).toBe(20_000);
      expect(m['copy-limit']?.[0]?.rows).toBe(20_000);
    }
  }, 120_000);
});
