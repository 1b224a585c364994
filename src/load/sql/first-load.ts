// The first load of a complete snapshot into a table that is new (created in this transaction, no key yet) or
// empty: every staged row goes in as it is, typed by the same casts as the merge, without the de-duplicating sort.
// The primary key (built once, sorted, after the insert) or the existing key proves every key came once; when it
// does not, the caller rolls back to a savepoint and takes the de-duplicating path. Deleted rows go in too, so the
// key proves uniqueness over every staged row (a deleted and a live row of one key would otherwise both pass), and
// are then removed or kept as the delete mode says.
import type { TableSpec } from '../../plan/types.ts';
import type { StagedFile } from '../types.ts';
import { checkStages, insertColumnList, insertTombstones, notTombstoned, typedSource } from './merge.ts';
import { DELETED_AT_COLUMN, DELETED_COLUMN, qualifiedName, quoteIdent, quoteLiteral, STATE_SCHEMA, timestampLiteral } from './names.ts';

/** Every staged row, typed, into the table (no ON CONFLICT: a repeated key must fail). $1: job id. */
export function insertEveryRow(spec: TableSpec, stages: StagedFile[]): string {
  checkStages(stages);
  const { insert, select } = insertColumnList(spec);
  return `INSERT INTO ${qualifiedName(spec)} (${insert.join(', ')})
SELECT ${select.join(', ')} FROM (
  ${typedSource(spec, stages)}
) AS src`;
}

/** Rows flagged deleted that a soft table keeps (for the counts). Returns one row: n. */
export function countDeleted(spec: TableSpec): string {
  return `SELECT count(*) AS n FROM ${qualifiedName(spec)} WHERE ${quoteIdent(DELETED_COLUMN)}`;
}

/**
 * Soft: dates the rows flagged deleted (a typed stage's rows carry no deletion date yet). Returns one row: n, the
 * rows flagged.
 */
export function dateDeletedRows(spec: TableSpec, deletedAt: Date): string {
  const q = quoteIdent;
  return `WITH flagged AS (
  UPDATE ${qualifiedName(spec)} SET ${q(DELETED_AT_COLUMN)} = ${timestampLiteral(deletedAt)} WHERE ${q(DELETED_COLUMN)} RETURNING 1
)
SELECT count(*) AS n FROM flagged`;
}

/**
 * Removes the rows the files said were deleted, for `deletes: hard` (recording their tombstones, dated by the
 * snapshot that saw them deleted: each row's deletion date, or `deletedAt` for rows that carry none) and `ignore`.
 * $1 (hard only): job id. Returns one row: n.
 */
export function removeDeletedRows(spec: TableSpec, deletedAt?: Date): string {
  const q = quoteIdent;
  const target = qualifiedName(spec);
  if (spec.deletes !== 'hard') {
    return `WITH gone AS (DELETE FROM ${target} AS t WHERE t.${q(DELETED_COLUMN)} RETURNING 1) SELECT count(*) AS n FROM gone`;
  }
  const returning = [...spec.primaryKey, ...(spec.updatedColumn === undefined ? [] : [spec.updatedColumn]), DELETED_AT_COLUMN];
  return `WITH gone AS (
  DELETE FROM ${target} AS t WHERE t.${q(DELETED_COLUMN)}
  RETURNING ${[...new Set(returning)].map((c) => `t.${q(c)}`).join(', ')}
), tomb AS (
  ${insertTombstones(spec, 'gone', deletedAt === undefined ? `d.${q(DELETED_AT_COLUMN)}` : timestampLiteral(deletedAt), '')}
)
SELECT count(*) AS n FROM gone`;
}

/**
 * `deletes: hard`: live rows a tombstone of an earlier load forbids (the rule of the merge). The uncorrelated
 * EXISTS runs once: a table without tombstones is not scanned. Returns one row: n.
 */
export function removeTombstonedRows(spec: TableSpec): string {
  const any = `EXISTS (SELECT 1 FROM ${quoteIdent(STATE_SCHEMA)}.tombstones WHERE schema_name = ${quoteLiteral(spec.schema)} AND table_name = ${quoteLiteral(spec.table)})`;
  return `WITH gone AS (
  DELETE FROM ${qualifiedName(spec)} AS t
  WHERE ${any} AND NOT t.${quoteIdent(DELETED_COLUMN)} AND NOT ${notTombstoned(spec, 't')}
  RETURNING 1
)
SELECT count(*) AS n FROM gone`;
}

/** One row: empty, true when the table holds no row (reads at most one). */
export function tableIsEmpty(spec: TableSpec): string {
  return `SELECT NOT EXISTS (SELECT 1 FROM ${qualifiedName(spec)}) AS empty`;
}
