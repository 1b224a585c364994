// Jobs as Zuora's submit and GET responses show them, and as the admin API summarises them.
import type { ResolvedOptions } from '../context.ts';
import { formatIsoUtc, formatWallTime } from '../time.ts';
import type { JobSummary } from '../types.ts';
import type { AquaBatch, AquaJob } from './types.ts';

/** The job as Zuora's submit/GET responses show it. */
export function jobView(job: AquaJob, options: ResolvedOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: job.id,
    name: job.name,
    status: job.status,
    version: job.version,
    format: job.format.toUpperCase(),
    encrypted: job.encrypted,
  };
  if (job.partner !== null) out.partner = job.partner;
  if (job.project !== null) out.project = job.project;
  out.useLastCompletedJobQueries = job.useLastCompletedJobQueries;
  out.offset = job.offset;
  out.sourceData = 'LIVE';
  if (job.startedAt !== undefined) {
    out.startTime =
      options.startTimeFormat === 'iso' ? formatIsoUtc(job.startedAt) : formatWallTime(job.startedAt, options.dataCenterZone);
  }
  if (job.incrementalTime !== undefined) out.incrementalTime = job.incrementalTime;
  if (job.notifyUrl !== undefined) out.notifyUrl = job.notifyUrl;
  if (job.errorCode !== undefined) {
    out.errorCode = job.errorCode;
    out.message = job.message;
  }
  out.batches = job.batches.map(batchView);
  return out;
}

function batchView(b: AquaBatch): Record<string, unknown> {
  const v: Record<string, unknown> = {
    batchId: b.batchId,
    name: b.name,
    query: b.query,
    batchType: b.batchType,
    apiVersion: b.apiVersion,
    status: b.status,
    localizedStatus: b.status,
    recordCount: b.recordCount,
    full: b.full,
  };
  if (b.deleted !== undefined) v.deleted = b.deleted;
  if (b.status === 'completed') {
    if (b.segmented) v.segments = [...b.fileIds];
    else v.fileId = b.fileIds[0];
  }
  if (b.message !== undefined || b.status === 'completed' || b.status === 'aborted') v.message = b.message ?? '';
  return v;
}

export function jobSummary(j: AquaJob): JobSummary {
  return {
    id: j.id,
    api: 'aqua',
    status: j.status,
    mode: j.mode,
    partner: j.partner,
    project: j.project,
    submittedAt: j.submittedAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    batches: j.batches.map((b) => ({
      name: b.name,
      status: b.status,
      full: b.full,
      recordCount: b.recordCount,
      fileIds: [...b.fileIds],
    })),
  };
}
