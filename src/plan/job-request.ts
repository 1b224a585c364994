// AQuA request bodies: the stateful job a sync run submits and the stateless job a backfill submits.
import type { ObjectConfig, PipelineConfig } from '../config/types.ts';
import type { AquaDeletedSpec, AquaJobRequest, AquaQuery } from '../zuora/types.ts';
import { ZUORA_DELETED_COLUMN, supportsDeletedExport } from './deleted.ts';
import { incrementalTimeFor } from './time.ts';
import { buildObjectQuery, buildWindowQuery } from './zoql.ts';

const MAX_JOB_NAME = 32;

function deletedSpec(object: ObjectConfig, forceExport: boolean): AquaDeletedSpec | undefined {
  if (object.deletes === 'ignore' || !supportsDeletedExport(object.name)) return undefined;
  return forceExport
    ? { column: ZUORA_DELETED_COLUMN, format: 'Boolean', forceExport: true }
    : { column: ZUORA_DELETED_COLUMN, format: 'Boolean' };
}

function queryFor(object: ObjectConfig, query: string, forceExport: boolean): AquaQuery {
  const deleted = deletedSpec(object, forceExport);
  return deleted
    ? { name: object.table, type: 'zoqlexport', query, deleted }
    : { name: object.table, type: 'zoqlexport', query };
}

export interface PlannedJob {
  request: AquaJobRequest;
  /** The incrementalTime sent (also inside request). */
  incrementalTime: string;
  /** Earliest instant Zuora may read incrementalTime as: where this job's window really starts. */
  from: Date;
}

/**
 * Seconds always re-read before the watermark, whatever `lookback` says: Zuora's documentation disagrees on whether
 * the incrementalTime second itself is included (docs/aqua.md#window), and re-read rows are deduplicated anyway.
 */
export const MIN_OVERLAP_SECONDS = 1;

/** The stateful job of one sync run, its window starting `lookback` (at least a second) before `watermark`. */
export function buildJobRequest(pipeline: PipelineConfig, watermark: Date): PlannedJob {
  const overlap = Math.max(pipeline.lookback, MIN_OVERLAP_SECONDS);
  const { incrementalTime, from } = incrementalTimeFor(watermark, overlap, pipeline.source.dataCenter);
  const request: AquaJobRequest = {
    format: pipeline.format,
    version: '1.1',
    name: `aquasync-${pipeline.name}`.slice(0, MAX_JOB_NAME),
    encrypted: 'none',
    useQueryLabels: 'true',
    dateTimeUtc: 'true',
    partner: pipeline.partner,
    project: pipeline.project,
    incrementalTime,
    offset: pipeline.offset,
    queries: pipeline.objects.map((object) => queryFor(object, buildObjectQuery(object), false)),
  };
  return { request, incrementalTime, from };
}

/**
 * A stateless job (no partner/project, so the stateful session is untouched) re-reading `objects` for
 * `since <= UpdatedDate < until`. Deleted rows need forceExport in stateless mode (else Zuora answers 90012).
 */
export function buildBackfillRequest(
  pipeline: PipelineConfig,
  objects: readonly ObjectConfig[],
  since: Date,
  until: Date,
): AquaJobRequest {
  return {
    format: pipeline.format,
    version: '1.1',
    name: `aquasync-${pipeline.name}-backfill`.slice(0, MAX_JOB_NAME),
    encrypted: 'none',
    useQueryLabels: 'true',
    dateTimeUtc: 'true',
    queries: objects.map((object) => queryFor(object, buildWindowQuery(object, since, until), true)),
  };
}
