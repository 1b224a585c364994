// Reads of the quarantine (aquasync.rejected_rows, written by the loader's merge) for status and metrics.
import type { Kysely } from 'kysely';
import type { StateDatabase } from '../db/index.ts';

export interface QuarantineSummary {
  /** Distinct quarantined rows not marked resolved. */
  open: number;
  lastSeenAt: Date | undefined;
}

/** Per pipeline: quarantined rows not yet resolved. Pipelines without any are absent. */
export async function openQuarantine(db: Kysely<StateDatabase>, pipelines: readonly string[]): Promise<Map<string, QuarantineSummary>> {
  if (pipelines.length === 0) return new Map();
  const rows = await db
    .selectFrom('aquasync.rejected_rows')
    .select((eb) => ['pipeline', eb.fn.countAll<number>().as('open'), eb.fn.max('last_seen_at').as('last')])
    .where('pipeline', 'in', pipelines)
    .where('resolved_at', 'is', null)
    .groupBy('pipeline')
    .execute();
  return new Map(rows.map((r) => [r.pipeline, { open: Number(r.open), lastSeenAt: r.last ?? undefined }]));
}
