// The warehouse SQL aquasync generates, pinned per delete mode: a change to a merge, the missing-row pass or the
// first-load path shows up here as a text diff to review (run `npx vitest run test/load/sql-text.test.ts -u` to
// accept it). The behaviour itself is tested against Postgres in merge.test.ts.
import { describe, expect, it } from 'vitest';
import { insertEveryRow, insertIntoNewTable, markMissing, mergeStaged, removeDeletedRows } from '../../src/load/sql/index.ts';
import type { StagedFile } from '../../src/load/index.ts';
import { accountSpec } from './fixtures.ts';

const stages: StagedFile[] = [
  { table: 's_file_one', ordinal: 0, seenAt: new Date('2026-05-01T10:00:00Z') },
  { table: 's_file_two', ordinal: 1, seenAt: new Date('2026-05-01T10:00:00Z') },
];
const at = new Date('2026-05-01T10:00:00Z');

describe.each(['soft', 'hard', 'ignore'] as const)('deletes: %s', (deletes) => {
  const spec = accountSpec({ deletes });
  it('merge into an existing table', () => {
    expect(mergeStaged(spec, stages)).toMatchSnapshot();
  });
  it('first load into a new table', () => {
    expect(insertIntoNewTable(spec, stages)).toMatchSnapshot();
    expect(insertEveryRow(spec, stages)).toMatchSnapshot();
    expect(removeDeletedRows(spec)).toMatchSnapshot();
  });
  it('rows missing from a complete snapshot, with and without quarantined keys', () => {
    expect(markMissing(spec, stages, at)).toMatchSnapshot();
    expect(markMissing(spec, stages, at, { quarantined: true })).toMatchSnapshot();
  });
});
