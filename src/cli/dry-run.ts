// `--dry-run` of sync and backfill: the exact AQuA payloads and windows, as redacted JSON, without submitting
// anything. The database is only read (watermarks, unfinished jobs, loaded windows), never migrated or written.
import { sql } from 'kysely';
import type { PipelineConfig } from '../config/types.ts';
import type { Warehouse } from '../db/index.ts';
import { redact, type Logger } from '../log.ts';
import { buildJobRequest } from '../plan/index.ts';
import * as state from '../state/index.ts';
import type { BackfillPlan } from '../sync/index.ts';
import { openConfiguredWarehouse } from './common.ts';

const SUBMIT_PATH = '/v1/batch-query/';

/** Opens the warehouse without migrating it: a dry run changes nothing, not even the schema. */
export function openWarehouseReadOnly(logger: Logger): Promise<Warehouse> {
  return openConfiguredWarehouse(logger);
}

async function stateSchemaExists(warehouse: Warehouse): Promise<boolean> {
  const found = await sql<{ t: string | null }>`SELECT to_regclass('aquasync.jobs')::text AS t`.execute(warehouse.db);
  return Boolean(found.rows[0]?.t);
}

function baseUrlOf(pipeline: PipelineConfig): string {
  return pipeline.source.baseUrl === 'emulator' ? 'emulator (built in)' : pipeline.source.baseUrl;
}

/** What `aquasync sync` would send for one pipeline: the incrementalTime from the stored watermark and the body. */
export async function syncDryRun(warehouse: Warehouse, pipeline: PipelineConfig): Promise<Record<string, unknown>> {
  const migrated = await stateSchemaExists(warehouse);
  const watermark = migrated ? await state.getWatermark(warehouse.db, pipeline.name) : undefined;
  const unfinished = migrated ? await state.findUnfinishedJob(warehouse.db, pipeline.name) : undefined;
  const planned = buildJobRequest(pipeline, watermark ?? pipeline.startDate);
  return {
    pipeline: pipeline.name,
    baseUrl: baseUrlOf(pipeline),
    watermark: watermark?.toISOString() ?? null,
    ...(watermark ? {} : { note: 'no watermark yet: the first run starts from startDate and Zuora sends a full snapshot' }),
    ...(unfinished
      ? {
          resumes: {
            zuoraJobId: unfinished.zuoraJobId ?? null,
            status: unfinished.status,
            note: 'an unfinished job is recorded: sync would resume it and submit nothing',
          },
        }
      : {}),
    incrementalTime: planned.incrementalTime,
    windowFrom: planned.from.toISOString(),
    submit: { method: 'POST', path: SUBMIT_PATH, body: planned.request },
  };
}

/** What `aquasync backfill` would send: every window, whether it is loaded already, and its request body. */
export async function backfillDryRun(warehouse: Warehouse, pipeline: PipelineConfig, plan: BackfillPlan): Promise<Record<string, unknown>> {
  const objects = plan.objects.map((o) => o.name);
  const loaded = await state.loadedBackfillWindows(warehouse.db, pipeline.name, objects);
  const isLoaded = (w: { since: Date; until: Date }): boolean =>
    loaded.some((l) => l.since.getTime() <= w.since.getTime() && l.until.getTime() >= w.until.getTime());
  return {
    pipeline: pipeline.name,
    baseUrl: baseUrlOf(pipeline),
    since: plan.since.toISOString(),
    until: plan.until.toISOString(),
    objects,
    windows: plan.windows.map((w) => {
      const skip = isLoaded(w);
      return {
        since: w.since.toISOString(),
        until: w.until.toISOString(),
        action: skip ? 'skip (loaded by an earlier backfill)' : 'submit',
        ...(skip ? {} : { submit: { method: 'POST', path: SUBMIT_PATH, body: w.request } }),
      };
    }),
  };
}

export function formatDryRun(document: unknown): string {
  return redact(JSON.stringify(document, null, 2));
}
