// Every statement the status page runs: read-only, parameterised, bounded (LIMIT or one row per key), over the
// aquasync state schema. Rows come back as the API's views.
import type pg from 'pg';
import { redact } from '../log.ts';
import { UNFINISHED_JOB_STATUSES } from '../state/index.ts';
import type { JobView, RunView, VerificationView } from './types.ts';

/** Sync runs: the kinds that move the watermark and so decide freshness. */
const SYNC_KINDS = ['scheduled', 'manual'];

interface RunRow {
  id: number;
  pipeline: string;
  kind: RunView['kind'];
  status: RunView['status'];
  started_at: Date;
  finished_at: Date | null;
  rows_written: number;
  rows_read: number;
  rows_quarantined: number;
  job_id: string | null;
  error_code: string | null;
  error_message: string | null;
}

const RUN_COLUMNS = `id, pipeline, kind, status, started_at, finished_at, rows_written, rows_read, rows_quarantined, job_id,
  error_code, error_message`;

function toRunView(row: RunRow, now: Date): RunView {
  const end = row.finished_at ?? now;
  const error = row.error_message ? `${row.error_code ? `${row.error_code}: ` : ''}${row.error_message}` : row.error_code;
  return {
    id: Number(row.id),
    pipeline: row.pipeline,
    kind: row.kind,
    status: row.status,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at ? row.finished_at.toISOString() : null,
    durationSeconds: Math.max(0, (end.getTime() - row.started_at.getTime()) / 1000),
    rowsWritten: Number(row.rows_written),
    rowsRead: Number(row.rows_read),
    rowsQuarantined: Number(row.rows_quarantined),
    zuoraJobId: row.job_id,
    error: error ? redact(error) : null,
  };
}

export async function watermarks(pool: pg.Pool, pipelines: string[]): Promise<Map<string, Date>> {
  const { rows } = await pool.query<{ pipeline: string; watermark: Date }>(
    'SELECT pipeline, watermark FROM aquasync.watermarks WHERE pipeline = ANY($1::text[])',
    [pipelines],
  );
  return new Map(rows.map((r) => [r.pipeline, r.watermark]));
}

/** Per pipeline: the last finished sync run, and every run going on now. */
export async function latestRuns(
  pool: pg.Pool,
  pipelines: string[],
  now: Date,
): Promise<{ lastFinished: Map<string, RunView>; running: Map<string, RunView[]> }> {
  const [finished, running] = await Promise.all([
    pool.query<RunRow>(
      `SELECT DISTINCT ON (pipeline) ${RUN_COLUMNS} FROM aquasync.runs
        WHERE pipeline = ANY($1::text[]) AND kind = ANY($2::text[]) AND status <> 'running'
        ORDER BY pipeline, started_at DESC, id DESC`,
      [pipelines, SYNC_KINDS],
    ),
    pool.query<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM aquasync.runs WHERE pipeline = ANY($1::text[]) AND status = 'running'
        ORDER BY started_at LIMIT 100`,
      [pipelines],
    ),
  ]);
  const byPipeline = new Map<string, RunView[]>();
  for (const row of running.rows) byPipeline.set(row.pipeline, [...(byPipeline.get(row.pipeline) ?? []), toRunView(row, now)]);
  return { lastFinished: new Map(finished.rows.map((r) => [r.pipeline, toRunView(r, now)])), running: byPipeline };
}

/** Runs started since `since`, oldest first; at most `limit` (the newest), and whether more exist. */
export async function runsSince(
  pool: pg.Pool,
  pipelines: string[],
  since: Date,
  limit: number,
  now: Date,
): Promise<{ runs: RunView[]; truncated: boolean }> {
  const { rows } = await pool.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM aquasync.runs WHERE pipeline = ANY($1::text[]) AND started_at >= $2
      ORDER BY started_at DESC, id DESC LIMIT $3`,
    [pipelines, since, limit + 1],
  );
  const truncated = rows.length > limit;
  return { runs: rows.slice(0, limit).reverse().map((r) => toRunView(r, now)), truncated };
}

/** Unfinished jobs per pipeline (a sync job and the snapshot job it is applied with), with their file progress. */
export async function unfinishedJobs(pool: pg.Pool, pipelines: string[]): Promise<Map<string, JobView[]>> {
  const { rows } = await pool.query<{
    pipeline: string;
    zuora_job_id: string | null;
    kind: string;
    status: JobView['phase'];
    zuora_status: string | null;
    created_at: Date;
    submitted_at: Date | null;
    completed_at: Date | null;
    files: number;
    files_staged: number;
  }>(
    `SELECT j.pipeline, j.zuora_job_id, j.kind, j.status, j.zuora_status, j.created_at, j.submitted_at, j.completed_at,
            (SELECT count(*) FROM aquasync.files f WHERE f.job_id = j.id)::int AS files,
            (SELECT count(*) FROM aquasync.files f WHERE f.job_id = j.id AND f.status <> 'pending')::int AS files_staged
       FROM aquasync.jobs j
      WHERE j.pipeline = ANY($1::text[]) AND j.status = ANY($2::text[])
      ORDER BY j.id DESC LIMIT 100`,
    [pipelines, [...UNFINISHED_JOB_STATUSES]],
  );
  const out = new Map<string, JobView[]>();
  for (const r of rows) {
    const view: JobView = {
      zuoraJobId: r.zuora_job_id,
      kind: r.kind,
      phase: r.status,
      zuoraStatus: r.zuora_status,
      createdAt: r.created_at.toISOString(),
      submittedAt: r.submitted_at ? r.submitted_at.toISOString() : null,
      completedAt: r.completed_at ? r.completed_at.toISOString() : null,
      files: r.files,
      filesStaged: r.files_staged,
    };
    out.set(r.pipeline, [...(out.get(r.pipeline) ?? []), view]);
  }
  return out;
}

/** The last verify or reconcile result per pipeline and table (key `pipeline/table`). */
export async function latestVerifications(pool: pg.Pool, pipelines: string[]): Promise<Map<string, VerificationView>> {
  const { rows } = await pool.query<{
    pipeline: string;
    table_name: string;
    kind: VerificationView['kind'];
    checked_at: Date;
    ok: boolean;
    zuora_rows: number;
    warehouse_rows: number;
    rows_missing: number;
    rows_extra: number;
    error: string | null;
  }>(
    `SELECT DISTINCT ON (pipeline, table_name) pipeline, table_name, kind, checked_at, ok, zuora_rows, warehouse_rows,
            rows_missing, rows_extra, error
       FROM aquasync.verifications WHERE pipeline = ANY($1::text[])
      ORDER BY pipeline, table_name, checked_at DESC, id DESC`,
    [pipelines],
  );
  return new Map(
    rows.map((r) => [
      `${r.pipeline}/${r.table_name}`,
      {
        kind: r.kind,
        checkedAt: r.checked_at.toISOString(),
        ok: r.ok,
        zuoraRows: Number(r.zuora_rows),
        warehouseRows: Number(r.warehouse_rows),
        rowsMissing: Number(r.rows_missing),
        rowsExtra: Number(r.rows_extra),
        error: r.error ? redact(r.error) : null,
      },
    ]),
  );
}

/** Unresolved quarantined rows per pipeline and table (key `pipeline/table`). */
export async function quarantinedCounts(pool: pg.Pool, pipelines: string[]): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ pipeline: string; table_name: string; n: number }>(
    `SELECT pipeline, table_name, count(*)::int AS n FROM aquasync.rejected_rows
      WHERE pipeline = ANY($1::text[]) AND resolved_at IS NULL GROUP BY 1, 2`,
    [pipelines],
  );
  return new Map(rows.map((r) => [`${r.pipeline}/${r.table_name}`, r.n]));
}

/** Owed complete snapshots per pipeline and table (key `pipeline/table`). */
export async function owedSnapshots(pool: pg.Pool, pipelines: string[]): Promise<Map<string, { reason: string; since: string | null }>> {
  const { rows } = await pool.query<{ pipeline: string; table_name: string; owed_reason: string; owed_since: Date | null }>(
    `SELECT pipeline, table_name, owed_reason, owed_since FROM aquasync.snapshots
      WHERE pipeline = ANY($1::text[]) AND owed_reason IS NOT NULL`,
    [pipelines],
  );
  return new Map(
    rows.map((r) => [`${r.pipeline}/${r.table_name}`, { reason: redact(r.owed_reason), since: r.owed_since ? r.owed_since.toISOString() : null }]),
  );
}

export async function recentEvents(
  pool: pg.Pool,
  pipelines: string[],
  limit: number,
): Promise<{ id: number; pipeline: string; at: Date; kind: string; message: string; zuora_job_id: string | null }[]> {
  const { rows } = await pool.query<{ id: number; pipeline: string; at: Date; kind: string; message: string; zuora_job_id: string | null }>(
    `SELECT e.id, e.pipeline, e.at, e.kind, e.message, j.zuora_job_id
       FROM aquasync.events e LEFT JOIN aquasync.jobs j ON j.id = e.job_id
      WHERE e.pipeline = ANY($1::text[]) ORDER BY e.at DESC, e.id DESC LIMIT $2`,
    [pipelines, limit],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id), message: redact(r.message) }));
}
