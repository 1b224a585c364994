// How long Zuora took to run each pipeline's last completed sync job (submitted → completed), for /metrics: the
// "job wait" a dashboard plots to tell Zuora's queue apart from aquasync's own download and load time.
import type pg from 'pg';

export async function lastJobWaits(pool: pg.Pool, pipelines: string[]): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ pipeline: string; wait: number }>(
    `SELECT DISTINCT ON (pipeline) pipeline, extract(epoch FROM completed_at - submitted_at)::float8 AS wait
       FROM aquasync.jobs
      WHERE pipeline = ANY($1::text[]) AND kind = 'sync' AND submitted_at IS NOT NULL AND completed_at IS NOT NULL
      ORDER BY pipeline, completed_at DESC, id DESC`,
    [pipelines],
  );
  return new Map(rows.map((r) => [r.pipeline, Math.max(0, r.wait)]));
}
