// Shared helpers for the loader tests: CSV writing, streams, a spec and "stage then merge" in one call.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { adoptTypedStage, applyStaged, ensureTable, mergeStaged, stageFile, typedStageTable } from '../../src/load/index.ts';
import type { MergeArgs, MergeResult, StagedFile } from '../../src/load/index.ts';
import type { TableSpec } from '../../src/plan/types.ts';

/** RFC 4180: quote a field when it holds a comma, quote, CR or LF; `null` is an empty unquoted field. */
export function toCsv(rows: (string | null)[][], eol = '\r\n'): string {
  const field = (v: string | null): string => (v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  return rows.map((row) => row.map(field).join(',') + eol).join('');
}

/** Splits the bytes into small chunks so records and multi-byte characters straddle chunk boundaries. */
export function streamOf(text: string | Buffer, chunkSize = 7): Readable {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  return Readable.from(chunks);
}

export function stageName(): string {
  return `s_${randomBytes(8).toString('hex')}`;
}

export const HEADER = ['Account.IsDeleted', 'Account.Id', 'Account.Name', 'Account.Balance', 'Account.UpdatedDate', 'BillToContact.Id'];

export function accountSpec(overrides: Partial<TableSpec> = {}): TableSpec {
  return {
    schema: 'wh',
    table: 'account',
    object: 'Account',
    columns: [
      { header: 'Account.Id', name: 'id', type: 'text', joined: false, position: 1, overridden: false },
      { header: 'Account.Name', name: 'name', type: 'text', joined: false, position: 2, overridden: false },
      { header: 'Account.Balance', name: 'balance', type: 'numeric', joined: false, position: 3, overridden: false },
      { header: 'Account.UpdatedDate', name: 'updated_date', type: 'timestamptz', joined: false, position: 4, overridden: false },
      { header: 'BillToContact.Id', name: 'bill_to_id', type: 'text', joined: true, position: 5, overridden: false },
    ],
    primaryKey: ['id'],
    updatedColumn: 'updated_date',
    deletedHeader: 'Account.IsDeleted',
    deletedPosition: 0,
    deletes: 'soft',
    ...overrides,
  };
}

export interface LoadOptions {
  jobId?: string;
  /** The files are a complete snapshot taken at snapshotAt: rows missing from them are deleted. */
  full?: boolean;
  snapshotAt?: Date;
  /** When Zuora took the files' rows (dates their deletions); default now. */
  seenAt?: Date;
  /** Go through applyStaged (creates the table on first load and fills it with a plain INSERT). */
  viaApply?: boolean;
  /** The files are one complete snapshot (MergeArgs.keysLikelyDistinct): new or empty tables skip the sort. */
  keysLikelyDistinct?: boolean;
  pipeline?: string;
}

/** Stages each CSV as one file (ordinal = position) and merges them all in one transaction. */
export async function load(pool: pg.Pool, spec: TableSpec, csvs: string[], options: LoadOptions = {}): Promise<MergeResult> {
  const columnCount = spec.columns.length + (spec.deletedHeader === undefined ? 0 : 1);
  const stages: StagedFile[] = [];
  for (const [ordinal, csv] of csvs.entries()) {
    const table = stageName();
    await stageFile(pool, { stageTable: table, columnCount, csv: streamOf(csv, 4096), fileId: table, object: spec.object });
    stages.push({ table, ordinal, seenAt: options.seenAt ?? new Date() });
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const args: MergeArgs = {
      stages,
      jobId: options.jobId ?? 'job-1',
      snapshot: options.full ? { tables: stages.map((s) => s.table), at: options.snapshotAt ?? new Date() } : undefined,
      keysLikelyDistinct: options.keysLikelyDistinct,
      quarantine: { pipeline: options.pipeline ?? 'p', columnCount, origins: new Map() },
    };
    let result: MergeResult;
    if (options.viaApply) {
      result = await applyStaged(client, spec, args);
    } else {
      await ensureTable(client, spec);
      result = await mergeStaged(client, spec, args);
    }
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The first load at the COPY limit: every CSV is COPYed into one typed stage (as the loader stages a complete
 * snapshot for a table that does not exist), which then becomes the table in one transaction. Throws what
 * adoptTypedStage throws (TypedStageRefused when the stage cannot become the table) after rolling back.
 */
export async function loadTyped(
  pool: pg.Pool,
  spec: TableSpec,
  csvs: string[],
  options: { jobId?: string; seenAt?: Date; stageTable?: string } = {},
): Promise<MergeResult & { stageTable: string }> {
  const stageTable = options.stageTable ?? typedStageTable(randomBytes(8).toString('hex'), spec);
  if (stageTable === undefined) throw new Error(`${spec.table} cannot be staged typed`);
  let rows = 0;
  for (const csv of csvs) {
    const columnCount = spec.columns.length + (spec.deletedHeader === undefined ? 0 : 1);
    const staged = await stageFile(pool, { stageTable, columnCount, typed: spec, csv: streamOf(csv, 4096), fileId: stageTable, object: spec.object });
    rows += staged.rows;
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await adoptTypedStage(client, spec, { stageTable, rows, jobId: options.jobId ?? 'job-1', seenAt: options.seenAt ?? new Date() });
    await client.query('COMMIT');
    const { table: _, ...merged } = result;
    return { ...merged, stageTable };
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}
