// The first load at the COPY limit: a complete snapshot for a table that does not exist yet is staged typed (every
// file COPYs into one logged table of the warehouse table's own types) and that table becomes the warehouse table
// in the applying transaction. Nothing is re-read or cast again; only the primary key is built. When the stage
// cannot be used as it is (a repeated or empty key, a table that appeared meanwhile), TypedStageRefused tells the
// caller to stage the files as text and take the paths that de-duplicate and quarantine.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { DataError } from '../errors.ts';
import type { TableSpec } from '../plan/types.ts';
import { settleDeletedRows } from './merge.ts';
import { isPgError } from './pg-error.ts';
import { tableExists } from './reconcile.ts';
import * as sql from './sql/index.ts';
import type { EnsureTableResult, MergeResult } from './types.ts';

/** The typed stage cannot serve this load; stage the table's files as text and apply them the usual way. */
export class TypedStageRefused extends DataError {
  constructor(message: string, cause?: unknown) {
    super(message, { hint: 'the files are staged again as text, where bad rows are quarantined and repeated keys de-duplicated', cause });
  }
}

/**
 * The typed stage's name for one job's table: `t_<job>_<table>_<shape>`, the last two hashed. Equal inputs give an
 * equal name, and a changed column type (a new `types:` override between two attempts) a new one, so a stage is never
 * filled under two shapes; the prefixes find a job's or a table's stages without knowing the shape (typedStagePrefix).
 * Undefined when a column's type cannot be read by COPY as the merge's casts read it (see copyReadsLikeCast).
 */
export function typedStageTable(job: string, spec: TableSpec): string | undefined {
  if (!spec.columns.every((c) => sql.copyReadsLikeCast(c.type))) return undefined;
  return `${typedStagePrefix(job, spec)}${hash(sql.typedStageShape(spec), 12)}`;
}

/** Typed stages are named t_…; text stages (one per file) s_<file id>. */
const TYPED = 't_';

/** The name prefix of a job's typed stages, or of one table's when `table` is given. */
export function typedStagePrefix(job: string, table?: Pick<TableSpec, 'schema' | 'table'>): string {
  const key = job.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (key === '' || key.length > 20) throw new RangeError(`a typed stage needs a short job key, got ${JSON.stringify(job)}`);
  return table === undefined ? `${TYPED}${key}_` : `${TYPED}${key}_${hash(`${table.schema}.${table.table}`, 8)}_`;
}

/** Whether a recorded stage table is a typed stage (else a file's own text stage). */
export function isTypedStageTable(table: string): boolean {
  return table.startsWith(TYPED);
}

function hash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** Drops every typed stage whose name starts with `prefix` (from typedStagePrefix). */
export async function dropTypedStages(client: pg.ClientBase, prefix: string): Promise<void> {
  const found = await client.query<{ name: string }>(sql.stageTablesLike(), [prefix]);
  if (found.rows.length > 0) await client.query(sql.dropStageTables(found.rows.map((r) => r.name)));
}

export interface AdoptArgs {
  /** The typed stage (unqualified, in aquasync_stage). */
  stageTable: string;
  /** Rows the staged files hold (recorded at staging, proven present by the caller). */
  rows: number;
  jobId: string;
  /** When Zuora took the snapshot: it dates the rows flagged deleted. */
  seenAt: Date;
}

/**
 * Makes the typed stage the warehouse table `spec` names. Must run in the applying transaction; after a refusal
 * (or any error) that transaction must be rolled back, which leaves the stage as it was.
 */
export async function adoptTypedStage(
  client: pg.ClientBase,
  spec: TableSpec,
  args: AdoptArgs,
): Promise<MergeResult & { table: EnsureTableResult }> {
  sql.validateSpec(spec);
  if (await tableExists(client, spec)) {
    throw new TypedStageRefused(`${spec.schema}.${spec.table} exists now; its rows must be merged`);
  }
  await client.query(sql.createSchema(spec.schema));
  try {
    for (const statement of sql.adoptTypedStage(args.stageTable, spec, args.jobId)) await client.query(statement);
  } catch (error) {
    // 23505: a key came twice (Zuora's snapshot repeated a row); 23502: a row without a key.
    if (isPgError(error) && (error.code === '23505' || error.code === '23502')) {
      throw new TypedStageRefused(`the complete snapshot of ${spec.object} cannot become ${spec.schema}.${spec.table} as it is: ${error.message}`, error);
    }
    throw error;
  }
  const settled = await settleDeletedRows(client, spec, args.jobId, args.rows, args.seenAt);
  return {
    ...settled,
    load: 'copied',
    repeatedKeys: false,
    missingMarkedDeleted: 0,
    quarantined: 0,
    table: { created: true, addedColumns: [], retypedColumns: [], typeMismatches: [], spec },
  };
}
