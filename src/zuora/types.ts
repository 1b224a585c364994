// Wire types of Zuora's AQuA API as aquasync sends and reads them (docs/aqua.md).

export type AquaFormat = 'csv' | 'gzip' | 'zip';

export interface AquaDeletedSpec {
  column: string;
  format: 'Boolean' | 'Numeric';
  /** Needed for stateless jobs (backfill); stateful jobs must not need it. */
  forceExport?: boolean;
}

export interface AquaQuery {
  name: string;
  query: string;
  type: 'zoqlexport';
  apiVersion?: string;
  deleted?: AquaDeletedSpec;
}

/** Body of POST /v1/batch-query/. Flags are strings because that is what every real client sends. */
export interface AquaJobRequest {
  format: AquaFormat;
  version: '1.1';
  name: string;
  encrypted: 'none';
  useQueryLabels: 'true';
  dateTimeUtc: 'true';
  partner?: string;
  project?: string;
  /** `yyyy-MM-dd HH:mm:ss` in the data center's zone (Pacific for US, UTC for EU). Stateful only. */
  incrementalTime?: string;
  offset?: number;
  nullReplacement?: string;
  queries: AquaQuery[];
}

/** Job statuses; `failed` is not documented but checked defensively. */
export type AquaJobStatus = 'submitted' | 'executing' | 'completed' | 'aborted' | 'error' | 'cancelled' | 'failed';

export const TERMINAL_JOB_STATUSES: readonly AquaJobStatus[] = ['completed', 'aborted', 'error', 'cancelled', 'failed'];

export interface AquaBatch {
  batchId: string;
  name: string;
  query: string;
  status: string;
  /** Normalised to a number even when Zuora sends a string. */
  recordCount: number;
  full: boolean;
  fileId?: string;
  segments?: string[];
  message?: string;
}

export interface AquaJob {
  id: string;
  name?: string;
  status: AquaJobStatus;
  /** `yyyy-MM-dd HH:mm:ss` (Pacific) or ISO `2021-01-18T17:13:48+0000`: parse with plan's parseZuoraTime. */
  startTime?: string;
  partner?: string;
  project?: string;
  offset?: number;
  incrementalTime?: string | number;
  batches: AquaBatch[];
}

export interface DescribedField {
  name: string;
  label: string;
  /** Zuora type as in describe XML: text, decimal, integer, boolean, date, datetime, picklist... */
  type: string;
  /** Contexts such as "export"; fields without "export" cannot be selected in AQuA. */
  contexts: string[];
}

export interface ObjectDescription {
  name: string;
  fields: DescribedField[];
  /** Names usable as joins in Export ZOQL (`Invoice.Id`). */
  relatedObjects: string[];
}

/** The result file ids of a completed batch, whether it came as fileId or segments[]. */
export function batchFileIds(batch: AquaBatch): string[] {
  if (batch.segments && batch.segments.length > 0) return batch.segments;
  return batch.fileId ? [batch.fileId] : [];
}
