// Warehouse reads and writes for `aquasync verify` and `aquasync reconcile`: live row counts per UTC day, live Ids
// (with chosen columns) in an Id range, and marking rows deleted by Id. "Live" means not flagged deleted: hard and
// ignore tables never carry the flag, so for them every row is live.
import type pg from 'pg';
import { DELETED_COLUMN, JOB_ID_COLUMN, SYNCED_AT_COLUMN, quoteIdent } from './sql/index.ts';

export interface WarehouseTableRef {
  schema: string;
  table: string;
}

function qualified(ref: WarehouseTableRef): string {
  return `${quoteIdent(ref.schema)}.${quoteIdent(ref.table)}`;
}

export async function tableExists(db: pg.Pool | pg.ClientBase, ref: WarehouseTableRef): Promise<boolean> {
  const { rows } = await db.query<{ exists: boolean }>('SELECT to_regclass($1::text) IS NOT NULL AS "exists"', [qualified(ref)]);
  return rows[0]?.exists === true;
}

/** SQL: live rows per UTC calendar day of `updatedColumn` in [$1, $2) ($1 may be NULL: no lower bound). */
export function dailyCountsSql(ref: WarehouseTableRef, updatedColumn: string): string {
  const u = quoteIdent(updatedColumn);
  return (
    `SELECT to_char((${u} AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day, count(*)::bigint AS n ` +
    `FROM ${qualified(ref)} WHERE NOT ${quoteIdent(DELETED_COLUMN)} ` +
    `AND ($1::timestamptz IS NULL OR ${u} >= $1::timestamptz) AND ${u} < $2::timestamptz GROUP BY 1 ORDER BY 1`
  );
}

/** Live rows per UTC day of UpdatedDate, in [since, until). */
export async function liveDailyCounts(
  db: pg.Pool | pg.ClientBase,
  ref: WarehouseTableRef,
  options: { updatedColumn: string; since: Date | undefined; until: Date },
): Promise<Map<string, number>> {
  const { rows } = await db.query<{ day: string; n: string }>(dailyCountsSql(ref, options.updatedColumn), [
    options.since ?? null,
    options.until,
  ]);
  return new Map(rows.map((r) => [r.day, Number(r.n)]));
}

/**
 * SQL: live rows with `idColumn` in ($1, $2] in byte order ($2 NULL: no upper bound), selecting the Id and `columns`
 * as text. COLLATE "C" matches Data Query's (Trino's) varchar ordering whatever the database collation.
 */
export function idRangeSql(ref: WarehouseTableRef, idColumn: string, columns: string[]): string {
  const id = quoteIdent(idColumn);
  const extra = columns.map((c) => `, ${quoteIdent(c)}::text AS ${quoteIdent(c)}`).join('');
  return (
    `SELECT ${id}::text AS id${extra} FROM ${qualified(ref)} ` +
    `WHERE NOT ${quoteIdent(DELETED_COLUMN)} AND ${id} COLLATE "C" > $1::text COLLATE "C" ` +
    `AND ($2::text IS NULL OR ${id} COLLATE "C" <= $2::text COLLATE "C") ORDER BY ${id} COLLATE "C"`
  );
}

export type WarehouseIdRow = { id: string } & Record<string, string | null>;

/** Live rows with Id in (after, upTo] (upTo undefined: every Id after `after`), with `columns` as text. */
export async function liveIdsInRange(
  db: pg.Pool | pg.ClientBase,
  ref: WarehouseTableRef,
  options: { idColumn: string; after: string; upTo: string | undefined; columns?: string[] },
): Promise<WarehouseIdRow[]> {
  const { rows } = await db.query<WarehouseIdRow>(idRangeSql(ref, options.idColumn, options.columns ?? []), [
    options.after,
    options.upTo ?? null,
  ]);
  return rows;
}

/**
 * Marks live rows deleted by Id, as the merge does: soft flags them (with the tag in the job-id column), hard
 * removes them. Returns how many rows changed. Run it in the caller's transaction.
 */
export async function markRowsDeleted(
  db: pg.Pool | pg.ClientBase,
  ref: WarehouseTableRef,
  options: { idColumn: string; ids: string[]; mode: 'soft' | 'hard'; tag: string },
): Promise<number> {
  if (options.ids.length === 0) return 0;
  const id = quoteIdent(options.idColumn);
  const result =
    options.mode === 'hard'
      ? await db.query(`DELETE FROM ${qualified(ref)} WHERE ${id}::text = ANY($1::text[])`, [options.ids])
      : await db.query(
          `UPDATE ${qualified(ref)} SET ${quoteIdent(DELETED_COLUMN)} = true, ${quoteIdent(SYNCED_AT_COLUMN)} = now(), ` +
            `${quoteIdent(JOB_ID_COLUMN)} = $2::text WHERE ${id}::text = ANY($1::text[]) AND NOT ${quoteIdent(DELETED_COLUMN)}`,
          [options.ids, options.tag],
        );
  return result.rowCount ?? 0;
}
