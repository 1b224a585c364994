// Shared helpers for the loader tests: CSV writing, streams, a spec and "stage then merge" in one call.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { ensureTable, mergeStaged, stageFile, applyStaged } from '../../src/load/index.ts';
import type { MergeResult } from '../../src/load/index.ts';
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
      { header: 'Account.Id', name: 'id', type: 'text', joined: false },
      { header: 'Account.Name', name: 'name', type: 'text', joined: false },
      { header: 'Account.Balance', name: 'balance', type: 'numeric', joined: false },
      { header: 'Account.UpdatedDate', name: 'updated_date', type: 'timestamptz', joined: false },
      { header: 'BillToContact.Id', name: 'bill_to_id', type: 'text', joined: true },
    ],
    primaryKey: ['id'],
    updatedColumn: 'updated_date',
    deletedHeader: 'Account.IsDeleted',
    deletes: 'soft',
    ...overrides,
  };
}

export interface LoadOptions {
  jobId?: string;
  full?: boolean;
  snapshotAt?: Date;
  /** Go through applyStaged (creates the table on first load and fills it with a plain INSERT). */
  viaApply?: boolean;
}

/** Stages each CSV as one file (ordinal = position) and merges them all in one transaction. */
export async function load(pool: pg.Pool, spec: TableSpec, csvs: string[], options: LoadOptions = {}): Promise<MergeResult> {
  const columnCount = spec.columns.length + (spec.deletedHeader === undefined ? 0 : 1);
  const stages = [];
  for (const [ordinal, csv] of csvs.entries()) {
    const table = stageName();
    await stageFile(pool, { stageTable: table, columnCount, csv: streamOf(csv, 4096), fileId: table, object: spec.object });
    stages.push({ table, ordinal });
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const args = {
      stages,
      jobId: options.jobId ?? 'job-1',
      full: options.full ?? false,
      snapshotAt: options.snapshotAt ?? new Date(),
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
