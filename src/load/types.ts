// What the loader exposes: staging of result files, warehouse DDL and the merge of staged files.
import type { Readable } from 'node:stream';
import type pg from 'pg';

export interface StageFileArgs {
  /** Unqualified table name in schema aquasync_stage, e.g. `s_<fileId>` (at most 63 bytes). */
  stageTable: string;
  /** CSV columns including the deleted flag column when the batch carries one. */
  columnCount: number;
  /** The complete (decompressed) CSV, header line included. */
  csv: Readable;
  fileId: string;
  /** Zuora object name, for messages. */
  object: string;
  /** Runs inside the staging transaction after COPY, so the caller can record the file as staged atomically. */
  onStaged?: (client: pg.PoolClient, rows: number) => Promise<void>;
}

export interface StageFileResult {
  /** Data rows COPY stored (the header excluded). */
  rows: number;
}

export interface TypeMismatch {
  column: string;
  /** The existing column's type as Postgres prints it (`format_type`). */
  existing: string;
  /** The type the spec asks for, as written in the spec. */
  wanted: string;
}

export interface EnsureTableResult {
  created: boolean;
  /** Columns added to an existing table (never dropped or retyped). */
  addedColumns: string[];
  typeMismatches: TypeMismatch[];
}

export interface StagedFile {
  /** Unqualified stage table name in schema aquasync_stage. */
  table: string;
  /** Position of the file within the job (segments in order); later ordinals win ties. */
  ordinal: number;
}

export interface MergeArgs {
  stages: StagedFile[];
  jobId: string;
  /** True when the staged files are a complete snapshot of the object (a full load). */
  full: boolean;
  /** With `full`: rows last updated after this instant are not treated as missing. */
  snapshotAt: Date;
}

export interface MergeResult {
  /** Live rows inserted or changed (unchanged rows and rows older than the warehouse's are not counted). */
  upserted: number;
  /** Rows soft-deleted (including tombstones for unknown keys) or hard-deleted because the file said so. */
  deleted: number;
  /** With `full`: warehouse rows absent from the snapshot that were soft- or hard-deleted. */
  missingMarkedDeleted: number;
}
