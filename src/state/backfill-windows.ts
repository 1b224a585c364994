// Backfill windows (migrations/0003_backfill.ts): which slices of a backfill's range are loaded, and by which job,
// so a re-run skips what is done and resumes what a dead process left in flight.
import { sql, type ColumnType, type Generated, type Kysely } from 'kysely';
import type { StateDatabase } from '../db/index.ts';
import { storedText } from '../text.ts';

export type BackfillWindowStatus = 'pending' | 'running' | 'loaded' | 'failed';

export interface BackfillWindowsTable {
  id: Generated<number>;
  pipeline: string;
  /** The window's object names, sorted and comma-joined: one set of objects, one row per window. */
  objects: string;
  since: ColumnType<Date, Date | string, Date | string>;
  until: ColumnType<Date, Date | string, Date | string>;
  status: ColumnType<BackfillWindowStatus, BackfillWindowStatus | undefined, BackfillWindowStatus>;
  /** Row id in aquasync.jobs of the job loading (or that loaded) the window. */
  job_id: number | null;
  run_id: number | null;
  rows: ColumnType<number, number | undefined, number>;
  error: string | null;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  loaded_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface BackfillDatabase extends StateDatabase {
  'aquasync.backfill_windows': BackfillWindowsTable;
}

export interface BackfillWindowRecord {
  id: number;
  since: Date;
  until: Date;
  status: BackfillWindowStatus;
  jobId: number | undefined;
  rows: number;
  error: string | undefined;
}

function windows(db: Kysely<StateDatabase>): Kysely<BackfillDatabase> {
  return db.withTables<{ 'aquasync.backfill_windows': BackfillWindowsTable }>();
}

/** The canonical object-set key of a window row. */
export function objectSetKey(objects: readonly string[]): string {
  return [...new Set(objects)].sort().join(',');
}

/**
 * Records the windows of a backfill (existing rows are kept as they are) and returns every one of them with its
 * state, in `since` order. A window also counts as loaded when one loaded window of the same object set contains
 * it (a re-run with a smaller --window does not reload what a larger one loaded).
 */
export async function ensureBackfillWindows(
  db: Kysely<StateDatabase>,
  input: { pipeline: string; objects: readonly string[]; windows: readonly { since: Date; until: Date }[]; reload?: boolean },
): Promise<BackfillWindowRecord[]> {
  const objects = objectSetKey(input.objects);
  const w = windows(db);
  if (input.windows.length === 0) return [];
  if (input.reload) {
    // Loaded before, to be loaded again: back to pending, and no containing window counts as loaded either.
    for (const win of input.windows) {
      await w
        .updateTable('aquasync.backfill_windows')
        .set({ status: 'pending', job_id: null, error: null, updated_at: new Date() })
        .where('pipeline', '=', input.pipeline)
        .where('objects', '=', objects)
        .where('since', '=', win.since)
        .where('until', '=', win.until)
        .where('status', '=', 'loaded')
        .execute();
    }
  }
  await w
    .insertInto('aquasync.backfill_windows')
    .values(input.windows.map((win) => ({ pipeline: input.pipeline, objects, since: win.since, until: win.until })))
    .onConflict((oc) => oc.columns(['pipeline', 'objects', 'since', 'until']).doNothing())
    .execute();
  const records: BackfillWindowRecord[] = [];
  for (const win of input.windows) {
    const row = await w
      .selectFrom('aquasync.backfill_windows')
      .selectAll()
      .where('pipeline', '=', input.pipeline)
      .where('objects', '=', objects)
      .where('since', '=', win.since)
      .where('until', '=', win.until)
      .executeTakeFirstOrThrow();
    let status = row.status;
    if (status !== 'loaded' && !input.reload) {
      const container = await w
        .selectFrom('aquasync.backfill_windows')
        .select('id')
        .where('pipeline', '=', input.pipeline)
        .where('objects', '=', objects)
        .where('status', '=', 'loaded')
        .where('since', '<=', win.since)
        .where('until', '>=', win.until)
        .limit(1)
        .executeTakeFirst();
      if (container) status = 'loaded';
    }
    records.push({
      id: row.id,
      since: row.since,
      until: row.until,
      status,
      jobId: row.job_id ?? undefined,
      rows: Number(row.rows),
      error: row.error ?? undefined,
    });
  }
  return records;
}

/**
 * The loaded windows of a pipeline's object set, read-only and tolerant of a database that was never migrated
 * (dry runs must not create anything).
 */
export async function loadedBackfillWindows(
  db: Kysely<StateDatabase>,
  pipeline: string,
  objects: readonly string[],
): Promise<{ since: Date; until: Date }[]> {
  const exists = await sql<{ t: string | null }>`SELECT to_regclass('aquasync.backfill_windows')::text AS t`.execute(db);
  if (!exists.rows[0]?.t) return [];
  return windows(db)
    .selectFrom('aquasync.backfill_windows')
    .select(['since', 'until'])
    .where('pipeline', '=', pipeline)
    .where('objects', '=', objectSetKey(objects))
    .where('status', '=', 'loaded')
    .orderBy('since')
    .execute();
}

/** The window is being loaded by this job (recorded before the job is submitted, like a sync's job row). */
export async function markWindowRunning(db: Kysely<StateDatabase>, id: number, input: { jobId: number; runId: number }): Promise<void> {
  await windows(db)
    .updateTable('aquasync.backfill_windows')
    .set({ status: 'running', job_id: input.jobId, run_id: input.runId, error: null, updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '!=', 'loaded')
    .execute();
}

/** Call inside the transaction that applies the window's job, so the window and its rows commit together. */
export async function markWindowLoaded(db: Kysely<StateDatabase>, id: number, rows: number): Promise<void> {
  const now = new Date();
  await windows(db)
    .updateTable('aquasync.backfill_windows')
    .set({ status: 'loaded', rows, error: null, loaded_at: now, updated_at: now })
    .where('id', '=', id)
    .execute();
}

export async function markWindowFailed(db: Kysely<StateDatabase>, id: number, error: string): Promise<void> {
  await windows(db)
    .updateTable('aquasync.backfill_windows')
    .set({ status: 'failed', error: storedText(error), updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '!=', 'loaded')
    .execute();
}
