// When a snapshot may delete the rows it lacks (issue 10, point 3): never when it holds far fewer rows than Zuora's
// live count, nor, without that count, far fewer than the warehouse's live rows. Pure: no database, no emulator.
import { describe, expect, it } from 'vitest';
import { judgeSnapshot, PLAUSIBLE_SHARE, WAREHOUSE_SHARE } from '../../src/sync/snapshots.ts';

describe('judgeSnapshot', () => {
  it('keeps the documented shares (0.9 of Zuora\'s live count, 0.5 of the warehouse\'s live rows)', () => {
    expect([PLAUSIBLE_SHARE, WAREHOUSE_SHARE]).toEqual([0.9, 0.5]);
  });

  it.each([
    // rows, Zuora's live count, warehouse live rows, trusted
    [100, 100, 0, true],
    [90, 100, 0, true],
    [89, 100, 0, false],
    [10, 1000, 0, false],
    // Zuora's count decides when it is known, whatever the warehouse holds.
    [90, 100, 10_000, true],
    [0, 0, 500, true],
    // Without it, the warehouse's live rows do.
    [50, undefined, 100, true],
    [49, undefined, 100, false],
    [0, undefined, 300, false],
    // An empty warehouse (first load) has nothing to compare with.
    [0, undefined, 0, true],
  ] as const)('%i row(s), live count %s, warehouse %i live: trusted %s', (rows, live, warehouse, trusted) => {
    const verdict = judgeSnapshot(rows, live, warehouse);
    expect(verdict.trusted).toBe(trusted);
    expect(verdict.note).toContain(String(rows));
  });
});
