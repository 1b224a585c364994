// The last verification of each object (aquasync.verifications, kind 'verify'), for /metrics and `aquasync
// status`. After a scheduled `reconcile: apply` the scheduler verifies again, so the last row is the state after
// the repair: repaired rows are not reported again.
import type { Kysely } from 'kysely';
import type { StateDatabase } from '../db/index.ts';

export interface LastVerification {
  pipeline: string;
  object: string;
  checkedAt: Date;
  trigger: 'manual' | 'scheduled';
  ok: boolean;
  rowsMissing: number;
  rowsExtra: number;
  rowsPending: number;
  /** The watermark the check compared up to. */
  until: Date | undefined;
  error: string | undefined;
}

/** Per pipeline and object, the newest `verify` row, ordered by pipeline and object. */
export async function lastVerifications(db: Kysely<StateDatabase>, pipelines: readonly string[]): Promise<LastVerification[]> {
  if (pipelines.length === 0) return [];
  const rows = await db
    .selectFrom('aquasync.verifications')
    .distinctOn(['pipeline', 'object'])
    .select(['pipeline', 'object', 'checked_at', 'trigger', 'ok', 'rows_missing', 'rows_extra', 'rows_pending', 'until', 'error'])
    .where('kind', '=', 'verify')
    .where('pipeline', 'in', [...pipelines])
    .orderBy('pipeline')
    .orderBy('object')
    .orderBy('checked_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map((r) => ({
    pipeline: r.pipeline,
    object: r.object,
    checkedAt: r.checked_at,
    trigger: r.trigger,
    ok: r.ok,
    rowsMissing: Number(r.rows_missing),
    rowsExtra: Number(r.rows_extra),
    rowsPending: Number(r.rows_pending),
    until: r.until ?? undefined,
    error: r.error ?? undefined,
  }));
}
