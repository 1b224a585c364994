// Paying owed snapshots. A stateful batch Zuora marks `full` is not proof of completeness: whether Zuora applies
// incrementalTime to it is undocumented, and a full batch never lists deletions. So an owed snapshot is paid with a
// stateless export of the object, complete by definition, submitted after the stateful job started (so it is at
// least as new as the window the watermark moves to) and applied in the same transaction. Warehouse rows missing
// from it are deleted, unless it holds far fewer rows than Zuora's live count says: that is reported, and the
// deletions are left to `aquasync reconcile`.
import type { PipelineConfig } from '../config/types.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../log.ts';
import { DataQueryClient, type AquaJobRequest, type AquaQuery, type ZuoraClient } from '../zuora/index.ts';
import type * as state from '../state/index.ts';

const MAX_JOB_NAME = 32;
/** A snapshot holding fewer rows than this share of Zuora's live count is not trusted to delete anything. */
export const PLAUSIBLE_SHARE = 0.9;
/** Without a live count, fewer rows than this share of the warehouse's live rows is doubtful. */
export const WAREHOUSE_SHARE = 0.5;

/** What identifies a query in Zuora's session: its text and its deleted spec (either change restarts it). */
export function querySignature(query: AquaQuery): string {
  return JSON.stringify({ query: query.query, deleted: query.deleted ?? null });
}

export function snapshotTargets(pipeline: PipelineConfig, request: AquaJobRequest): state.SnapshotTarget[] {
  return request.queries.map((q) => ({
    table: q.name,
    object: pipeline.objects.find((o) => o.table === q.name)?.name ?? q.name,
    query: querySignature(q),
  }));
}

/**
 * The stateless job paying the snapshots of `tables`: the stateful job's own queries (so the files have the same
 * header), deleted rows forced out as stateless jobs need (90012 otherwise), no partner/project (the stateful
 * session is untouched) and no window.
 */
export function snapshotRequest(pipeline: PipelineConfig, parent: AquaJobRequest, tables: readonly string[]): AquaJobRequest {
  const queries = parent.queries
    .filter((q) => tables.includes(q.name))
    .map((q) => (q.deleted ? { ...q, deleted: { ...q.deleted, forceExport: true } } : { ...q }));
  return {
    format: parent.format,
    version: '1.1',
    name: `aquasync-${pipeline.name}-snapshot`.slice(0, MAX_JOB_NAME),
    encrypted: 'none',
    useQueryLabels: 'true',
    dateTimeUtc: 'true',
    queries,
  };
}

export type Plausibility = { trusted: true; note: string } | { trusted: false; note: string };

/**
 * Decides whether a snapshot of `rows` rows may delete what it lacks. Pure: `liveCount` is Zuora's live count
 * (Data Query) when known, `warehouseLive` the warehouse's live rows.
 */
export function judgeSnapshot(rows: number, liveCount: number | undefined, warehouseLive: number): Plausibility {
  if (liveCount !== undefined) {
    if (rows < Math.floor(liveCount * PLAUSIBLE_SHARE)) {
      return { trusted: false, note: `it holds ${rows} row(s) but Zuora's live count is ${liveCount}` };
    }
    return { trusted: true, note: `${rows} row(s), Zuora's live count ${liveCount}` };
  }
  if (warehouseLive > 0 && rows < Math.floor(warehouseLive * WAREHOUSE_SHARE)) {
    return { trusted: false, note: `it holds ${rows} row(s) while the warehouse has ${warehouseLive} live row(s), and Zuora's live count is unavailable` };
  }
  return { trusted: true, note: `${rows} row(s); Zuora's live count unavailable` };
}

/**
 * Zuora's live row count of an object through Data Query, or undefined when it cannot be had (no permission, no
 * such table, a query with its own filter that Data Query cannot repeat, a timeout).
 */
export async function liveCount(
  client: ZuoraClient,
  object: string,
  filtered: boolean,
  options: { logger: Logger; signal?: AbortSignal | undefined },
): Promise<number | undefined> {
  if (filtered) return undefined;
  const dataQuery = new DataQueryClient(client, {
    logger: options.logger,
    maxInFlight: 1,
    jobTimeoutMs: 10 * 60_000,
    poll: { minIntervalMs: 200, maxIntervalMs: 5000 },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  try {
    const rows = await dataQuery.query(`select count(*) as n from ${object.toLowerCase()}`);
    const n = Number(rows[0]?.n);
    return Number.isFinite(n) ? n : undefined;
  } catch (error) {
    options.logger.info(`could not count ${object} with Data Query (${errorMessage(error)}); judging its snapshot without it`);
    return undefined;
  }
}
