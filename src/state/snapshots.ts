// Snapshots owed, per pipeline and table. Zuora answers a changed query, a changed deleted setting, a new object
// or a session it forgot with a full batch, and records the new query in its session as soon as that job
// completes: if that job is then lost (abandoned, expired, failed), the next job is incremental and the snapshot
// is gone for good. So what is owed is written here, and stays owed until a complete snapshot is applied.
import { sql, type Kysely } from 'kysely';
import type { StateDatabase } from '../db/index.ts';

export type SnapshotReason = 'new-object' | 'query-changed' | 'zuora-full-batch' | 'table-missing';

export interface SnapshotTarget {
  table: string;
  object: string;
  /** The query as submitted (ZOQL text and deleted spec): a different one owes a snapshot. */
  query: string;
}

export interface OwedSnapshot {
  table: string;
  object: string;
  reason: SnapshotReason;
  since: Date;
  /** The query the snapshot must be taken with. */
  query: string;
}

/**
 * Brings the ledger in line with the queries a new job is about to submit. A table seen for the first time owes a
 * snapshot only when the pipeline has loaded before (its watermark is past the start date, so the incremental
 * window would miss older rows); a changed query always owes one. Returns what is owed afterwards.
 */
export async function noteSubmittedQueries(
  db: Kysely<StateDatabase>,
  pipeline: string,
  targets: readonly SnapshotTarget[],
  options: { loadedBefore: boolean },
): Promise<OwedSnapshot[]> {
  const now = new Date();
  for (const target of targets) {
    await db
      .insertInto('aquasync.snapshots')
      .values({
        pipeline,
        table_name: target.table,
        object: target.object,
        query: target.query,
        owed_reason: options.loadedBefore ? 'new-object' : null,
        owed_since: options.loadedBefore ? now : null,
      })
      .onConflict((oc) =>
        oc.columns(['pipeline', 'table_name']).doUpdateSet({
          object: target.object,
          query: target.query,
          owed_reason: sql<string>`COALESCE(aquasync.snapshots.owed_reason, 'query-changed')`,
          owed_since: sql<Date>`COALESCE(aquasync.snapshots.owed_since, ${now}::timestamptz)`,
          updated_at: now,
        }).where('aquasync.snapshots.query', '!=', target.query),
      )
      .execute();
  }
  return owedSnapshots(db, pipeline);
}

export async function owedSnapshots(db: Kysely<StateDatabase>, pipeline: string): Promise<OwedSnapshot[]> {
  const rows = await db
    .selectFrom('aquasync.snapshots')
    .select(['table_name', 'object', 'owed_reason', 'owed_since', 'query'])
    .where('pipeline', '=', pipeline)
    .where('owed_reason', 'is not', null)
    .orderBy('table_name')
    .execute();
  return rows.map((r) => ({
    table: r.table_name,
    object: r.object,
    reason: r.owed_reason as SnapshotReason,
    since: r.owed_since ?? new Date(0),
    query: r.query,
  }));
}

/** Zuora sent a full batch nobody asked for: it may lack rows (and never lists deletions), so a snapshot is owed. */
export async function markSnapshotOwed(
  db: Kysely<StateDatabase>,
  pipeline: string,
  target: SnapshotTarget,
  reason: SnapshotReason,
): Promise<void> {
  const now = new Date();
  await db
    .insertInto('aquasync.snapshots')
    .values({ pipeline, table_name: target.table, object: target.object, query: target.query, owed_reason: reason, owed_since: now })
    .onConflict((oc) =>
      oc.columns(['pipeline', 'table_name']).doUpdateSet({
        owed_reason: sql<string>`COALESCE(aquasync.snapshots.owed_reason, ${reason})`,
        owed_since: sql<Date>`COALESCE(aquasync.snapshots.owed_since, ${now}::timestamptz)`,
        updated_at: now,
      }),
    )
    .execute();
}

/**
 * A complete snapshot taken at `at` with `query` was applied (call it in the apply transaction). Clears what is
 * owed only if nothing newer is owed: a snapshot of an older query does not pay for the new one.
 */
export async function markSnapshotApplied(
  db: Kysely<StateDatabase>,
  pipeline: string,
  snapshot: { table: string; query: string; at: Date; zuoraJobId: string },
): Promise<boolean> {
  const result = await db
    .updateTable('aquasync.snapshots')
    .set({
      owed_reason: null,
      owed_since: null,
      last_snapshot_at: snapshot.at,
      last_snapshot_job: snapshot.zuoraJobId,
      updated_at: new Date(),
    })
    .where('pipeline', '=', pipeline)
    .where('table_name', '=', snapshot.table)
    .where('query', '=', snapshot.query)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
