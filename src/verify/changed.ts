// What Zuora changed at or after the watermark: the rows the next sync brings. A difference they explain is
// pending, not a fault; verify and reconcile both ask this of Zuora rather than guess it.
import { AquasyncError } from '../errors.ts';
import type { DataQueryClient, DataQueryRow } from '../zuora/index.ts';
import { changedSinceQuery, type VerifyTarget } from './plan.ts';

/** Every Id, live or deleted (Zuora keeps deleted rows 30 days), that Zuora changed at or after `watermark`. */
export async function changedSince(dq: DataQueryClient, target: VerifyTarget, watermark: Date, pageSize: number): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const readDeleted of [false, true]) {
    for (let after = ''; ; ) {
      const rows = await dq.query(changedSinceQuery(target, watermark, after, pageSize), { readDeleted });
      for (const row of rows) ids.add(idOf(row, target));
      if (rows.length < pageSize) break;
      after = idOf(rows.at(-1), target);
    }
  }
  return ids;
}

export function idOf(row: DataQueryRow | undefined, target: VerifyTarget): string {
  const id = row?.id;
  if (typeof id !== 'string' || id === '') {
    throw new AquasyncError('ZUORA_PROTOCOL', `Data Query returned a ${target.dataQueryTable} row without an id: ${JSON.stringify(row).slice(0, 200)}`);
  }
  return id;
}
