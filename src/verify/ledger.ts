// Where verify and reconcile leave their results: aquasync.verifications (one row per object per check, for
// charts) and, for reconcile --apply, one aquasync.runs row of kind 'reconcile' (migrations/0004_verify.ts).
import os from 'node:os';
import type pg from 'pg';

export interface VerificationRow {
  pipeline: string;
  object: string;
  table: string;
  kind: 'verify' | 'reconcile';
  /** A person's command or the pipeline's verify.schedule (default manual). */
  trigger?: 'manual' | 'scheduled';
  since: Date | undefined;
  until: Date | undefined;
  ok: boolean;
  daysChecked?: number;
  daysMatching?: number;
  zuoraRows: number;
  warehouseRows: number;
  rowsMissing: number;
  rowsExtra: number;
  rowsStale?: number;
  /** Differing rows Zuora changed at or after the watermark: the next sync brings them. */
  rowsPending?: number;
  worstDay?: { day: string; diff: number } | undefined;
  applied?: boolean;
  rowsMarkedDeleted?: number;
  rowsRepulled?: number;
  runId?: number | undefined;
  error?: string | undefined;
  details?: unknown;
}

export async function recordVerification(db: pg.Pool | pg.ClientBase, row: VerificationRow): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO aquasync.verifications (pipeline, object, table_name, kind, since, until, ok, days_checked, days_matching,
       zuora_rows, warehouse_rows, rows_missing, rows_extra, rows_stale, worst_day, worst_day_diff, applied,
       rows_marked_deleted, rows_repulled, run_id, error, details, rows_pending, trigger)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::date, $16, $17, $18, $19, $20, $21, $22::jsonb, $23, $24)
     RETURNING id`,
    [
      row.pipeline,
      row.object,
      row.table,
      row.kind,
      row.since ?? null,
      row.until ?? null,
      row.ok,
      row.daysChecked ?? null,
      row.daysMatching ?? null,
      row.zuoraRows,
      row.warehouseRows,
      row.rowsMissing,
      row.rowsExtra,
      row.rowsStale ?? 0,
      row.worstDay?.day ?? null,
      row.worstDay?.diff ?? null,
      row.applied ?? false,
      row.rowsMarkedDeleted ?? 0,
      row.rowsRepulled ?? 0,
      row.runId ?? null,
      row.error ?? null,
      row.details === undefined ? null : JSON.stringify(row.details),
      row.rowsPending ?? 0,
      row.trigger ?? 'manual',
    ],
  );
  return Number(rows[0]?.id);
}

export async function startReconcileRun(db: pg.Pool | pg.ClientBase, pipeline: string): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO aquasync.runs (pipeline, kind, status, host, pid) VALUES ($1, 'reconcile', 'running', $2, $3) RETURNING id`,
    [pipeline, os.hostname(), process.pid],
  );
  return Number(rows[0]?.id);
}

export async function finishReconcileRun(
  db: pg.Pool | pg.ClientBase,
  runId: number,
  outcome: { ok: boolean; rows: number; details: unknown; error?: { code: string; message: string } | undefined },
): Promise<void> {
  await db.query(
    `UPDATE aquasync.runs SET status = $2, finished_at = now(), rows_written = $3, details = $4::jsonb,
       error_code = $5, error_message = $6 WHERE id = $1`,
    [
      runId,
      outcome.ok ? 'succeeded' : 'failed',
      outcome.rows,
      JSON.stringify(outcome.details),
      outcome.error?.code ?? null,
      outcome.error?.message ?? null,
    ],
  );
}
