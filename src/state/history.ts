// The run history for `aquasync history`: the newest runs first, optionally of one pipeline.
import type { Kysely } from 'kysely';
import { toRunRecord } from './records.ts';
import type { StateDatabase } from '../db/index.ts';
import type { RunRecord } from './types.ts';

export async function runHistory(db: Kysely<StateDatabase>, options: { pipeline?: string; limit: number }): Promise<RunRecord[]> {
  let query = db.selectFrom('aquasync.runs').selectAll().orderBy('id', 'desc').limit(options.limit);
  if (options.pipeline !== undefined) query = query.where('pipeline', '=', options.pipeline);
  return (await query.execute()).map(toRunRecord);
}

export interface LoadedSession {
  partner: string | undefined;
  project: string | undefined;
  zuoraJobId: string | undefined;
  appliedAt: Date | undefined;
}

/**
 * The partner and project of the pipeline's last applied sync job (from the request it recorded), or undefined when
 * it never loaded or the state schema does not exist yet. Reads only.
 */
export async function lastLoadedSession(db: Kysely<StateDatabase>, pipeline: string): Promise<LoadedSession | undefined> {
  let row;
  try {
    row = await db
      .selectFrom('aquasync.jobs')
      .select(['zuora_job_id', 'request', 'applied_at'])
      .where('pipeline', '=', pipeline)
      .where('kind', '=', 'sync')
      .where('status', '=', 'applied')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  } catch (error) {
    if ((error as { code?: string }).code === '42P01' || (error as { code?: string }).code === '3F000') return undefined; // no state schema yet
    throw error;
  }
  if (!row) return undefined;
  const request = (typeof row.request === 'string' ? JSON.parse(row.request) : row.request) as { partner?: unknown; project?: unknown } | null;
  return {
    partner: typeof request?.partner === 'string' ? request.partner : undefined,
    project: typeof request?.project === 'string' ? request.project : undefined,
    zuoraJobId: row.zuora_job_id ?? undefined,
    appliedAt: row.applied_at ?? undefined,
  };
}
