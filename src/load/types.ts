// What the loader exposes: staging of result files, warehouse DDL and the merge of staged files.
import type { Readable } from 'node:stream';
import type pg from 'pg';
import type { TableSpec } from '../plan/types.ts';

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
  /**
   * COPY into the typed stage `stageTable` (shared by every file of the table; see sql/typed-stage.ts) with the
   * columns of this spec, instead of a text stage of the file's own. A value COPY cannot read fails the file with
   * TypedStageRefused: stage the table's files as text instead, where such rows are quarantined.
   */
  typed?: TableSpec | undefined;
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
  /** Columns added to an existing table (never dropped). */
  addedColumns: string[];
  /** Columns changed to the type their `types:` override asks for. */
  retypedColumns: TypeMismatch[];
  /** Columns whose type differs from the described one without an override: the existing type is kept. */
  typeMismatches: TypeMismatch[];
  /**
   * The spec as the table really is: non-overridden columns carry the existing column's type, so staged values
   * are cast to what the column holds (never to a type the column would then silently round).
   */
  spec: TableSpec;
}

export interface StagedFile {
  /** Unqualified stage table name in schema aquasync_stage. */
  table: string;
  /** Position of the file within the job(s) applied together; later ordinals win ties. */
  ordinal: number;
  /** When Zuora took the snapshot the file's rows come from (its job's start): it dates the deletions in it. */
  seenAt: Date;
}

/** Where a staged file came from, for quarantine entries. */
export interface StagedFileOrigin {
  fileId: string;
  /** Zuora job id. */
  jobId: string;
}

export interface MergeArgs {
  stages: StagedFile[];
  /** Written to `_aquasync_job_id` of every row written. */
  jobId: string;
  /**
   * Stages (by table name) forming a complete snapshot of the object taken at `at`: warehouse rows missing from
   * them, and not updated after `at`, are deleted as the object's delete mode says.
   */
  snapshot?: { tables: string[]; at: Date } | undefined;
  /**
   * The files are one complete snapshot, so each key is expected once: a new or empty table is loaded without the
   * de-duplicating sort (the primary key checks the expectation; the sorting path runs when it fails).
   */
  keysLikelyDistinct?: boolean | undefined;
  /** Rows whose values Postgres cannot take go to aquasync.rejected_rows instead of failing the merge. */
  quarantine: { pipeline: string; columnCount: number; origins: ReadonlyMap<string, StagedFileOrigin> };
}

/**
 * How a table's rows went in: `copied` (a complete snapshot into a table that did not exist: COPY typed the rows
 * while staging and the typed stage became the table), `unsorted` (a complete snapshot into a new or empty table, every row inserted as it
 * came, the key proving each key once), `sorted` (a new table filled by the de-duplicating sort) or `merge` (the
 * guarded upsert).
 */
export type LoadPath = 'copied' | 'unsorted' | 'sorted' | 'merge';

export interface MergeResult {
  load: LoadPath;
  /** The unsorted first load met a key twice, and the rows went through the de-duplicating path instead. */
  repeatedKeys: boolean;
  /** Live rows inserted or changed (unchanged rows and rows older than the warehouse's are not counted). */
  upserted: number;
  /** Rows soft-deleted (including tombstones for unknown keys) or hard-deleted because the file said so. */
  deleted: number;
  /** With a snapshot: warehouse rows absent from it that were soft- or hard-deleted. */
  missingMarkedDeleted: number;
  /** Staged rows moved to aquasync.rejected_rows. */
  quarantined: number;
}
