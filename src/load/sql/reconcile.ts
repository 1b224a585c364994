// The statements `aquasync verify` and `aquasync reconcile` run against warehouse tables: live rows per UTC day,
// live Ids in an Id range or an UpdatedDate window, live versions of given Ids, and marking rows deleted by Id.
// "Live" means not flagged deleted: hard and ignore tables never carry the flag, so for them every row is live.
// Ids compare with COLLATE "C", matching Data Query's (Trino's) varchar ordering whatever the database collation.
import { insertTombstones } from './merge.ts';
import { DELETED_AT_COLUMN, DELETED_COLUMN, JOB_ID_COLUMN, qualifiedName, quoteIdent, SYNCED_AT_COLUMN } from './names.ts';

export interface WarehouseTableRef {
  schema: string;
  table: string;
}

const LIVE = `NOT ${quoteIdent(DELETED_COLUMN)}`;

function utcDay(updatedColumn: string): string {
  return `to_char((${quoteIdent(updatedColumn)} AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD')`;
}

/** `to_regclass($1)`: whether the table exists. */
export const TABLE_EXISTS_SQL = 'SELECT to_regclass($1::text) IS NOT NULL AS "exists"';

export function tableRefText(ref: WarehouseTableRef): string {
  return qualifiedName(ref);
}

/** Live rows per UTC calendar day of `updatedColumn` in [$1, $2) ($1 may be NULL: no lower bound). */
export function dailyCountsSql(ref: WarehouseTableRef, updatedColumn: string): string {
  const u = quoteIdent(updatedColumn);
  return (
    `SELECT ${utcDay(updatedColumn)} AS day, count(*)::bigint AS n ` +
    `FROM ${qualifiedName(ref)} WHERE ${LIVE} ` +
    `AND ($1::timestamptz IS NULL OR ${u} >= $1::timestamptz) AND ${u} < $2::timestamptz GROUP BY 1 ORDER BY 1`
  );
}

/** Live rows with `idColumn` in ($1, $2] in byte order ($2 NULL: no upper bound), with the Id and `columns` as text. */
export function idRangeSql(ref: WarehouseTableRef, idColumn: string, columns: string[]): string {
  const id = quoteIdent(idColumn);
  const extra = columns.map((c) => `, ${quoteIdent(c)}::text AS ${quoteIdent(c)}`).join('');
  return (
    `SELECT ${id}::text AS id${extra} FROM ${qualifiedName(ref)} ` +
    `WHERE ${LIVE} AND ${id} COLLATE "C" > $1::text COLLATE "C" ` +
    `AND ($2::text IS NULL OR ${id} COLLATE "C" <= $2::text COLLATE "C") ORDER BY ${id} COLLATE "C"`
  );
}

/** Live rows updated in [$1, $2) (one day of a verify drill-down): Id and UpdatedDate, in Id byte order. */
export function liveIdsUpdatedInSql(ref: WarehouseTableRef, idColumn: string, updatedColumn: string): string {
  const id = quoteIdent(idColumn);
  const u = quoteIdent(updatedColumn);
  return (
    `SELECT ${id}::text AS id, ${u} AS updated FROM ${qualifiedName(ref)} ` +
    `WHERE ${LIVE} AND ${u} >= $1::timestamptz AND ${u} < $2::timestamptz ORDER BY ${id} COLLATE "C"`
  );
}

/**
 * The live rows among the Ids in $1 whose UpdatedDate lies in [$2, $3) ($2 NULL: no lower bound), with the UTC day
 * of it: where the warehouse counts an older version of a row Zuora changed since.
 */
export function liveVersionsOfIdsSql(ref: WarehouseTableRef, idColumn: string, updatedColumn: string): string {
  const id = quoteIdent(idColumn);
  const u = quoteIdent(updatedColumn);
  return (
    `SELECT ${id}::text AS id, ${utcDay(updatedColumn)} AS day FROM ${qualifiedName(ref)} ` +
    `WHERE ${LIVE} AND ${id}::text = ANY($1::text[]) ` +
    `AND ($2::timestamptz IS NULL OR ${u} >= $2::timestamptz) AND ${u} < $3::timestamptz`
  );
}

/**
 * Hard mode: removes the rows with Ids in $2 and keeps their tombstones (tagged $1, dated now), as every other hard
 * deletion does, so an older version in a stale job cannot bring them back. Returns one row: n.
 */
export function deleteRowsByIdSql(ref: WarehouseTableRef, idColumn: string, updatedColumn: string | undefined): string {
  const keys = { schema: ref.schema, table: ref.table, primaryKey: [idColumn], updatedColumn };
  const returning = [idColumn, ...(updatedColumn === undefined || updatedColumn === idColumn ? [] : [updatedColumn])];
  return `WITH gone AS (
  DELETE FROM ${qualifiedName(ref)} AS t WHERE t.${quoteIdent(idColumn)}::text = ANY($2::text[])
  RETURNING ${returning.map((c) => `t.${quoteIdent(c)}`).join(', ')}
), tomb AS (
  ${insertTombstones(keys, 'gone', 'now()', '')}
)
SELECT count(*) AS n FROM gone`;
}

/** Soft mode: flags the live rows with Ids in $2 deleted now, tagging them with $1 in the job-id column. */
export function flagRowsDeletedByIdSql(ref: WarehouseTableRef, idColumn: string): string {
  return (
    `UPDATE ${qualifiedName(ref)} SET ${quoteIdent(DELETED_COLUMN)} = true, ${quoteIdent(DELETED_AT_COLUMN)} = now(), ` +
    `${quoteIdent(SYNCED_AT_COLUMN)} = now(), ${quoteIdent(JOB_ID_COLUMN)} = $1::text ` +
    `WHERE ${quoteIdent(idColumn)}::text = ANY($2::text[]) AND ${LIVE}`
  );
}
