// Warehouse reads and writes for `aquasync verify` and `aquasync reconcile` (the SQL is in sql/reconcile.ts).
import type pg from 'pg';
import {
  dailyCountsSql,
  deleteRowsByIdSql,
  flagRowsDeletedByIdSql,
  idRangeSql,
  liveIdsUpdatedInSql,
  liveVersionsOfIdsSql,
  TABLE_EXISTS_SQL,
  tableRefText,
  type WarehouseTableRef,
} from './sql/index.ts';

export { dailyCountsSql, idRangeSql, type WarehouseTableRef };

export async function tableExists(db: pg.Pool | pg.ClientBase, ref: WarehouseTableRef): Promise<boolean> {
  const { rows } = await db.query<{ exists: boolean }>(TABLE_EXISTS_SQL, [tableRefText(ref)]);
  return rows[0]?.exists === true;
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

/** Live rows updated in [from, to): Id -> UpdatedDate. */
export async function liveIdsUpdatedIn(
  db: pg.Pool | pg.ClientBase,
  ref: WarehouseTableRef,
  options: { idColumn: string; updatedColumn: string; from: Date; to: Date },
): Promise<Map<string, Date>> {
  const { rows } = await db.query<{ id: string; updated: Date }>(liveIdsUpdatedInSql(ref, options.idColumn, options.updatedColumn), [
    options.from,
    options.to,
  ]);
  return new Map(rows.map((r) => [r.id, r.updated]));
}

/** Of `ids`, the live rows updated in [since, until), with the UTC day of their UpdatedDate. */
export async function liveVersionsOfIds(
  db: pg.Pool | pg.ClientBase,
  ref: WarehouseTableRef,
  options: { idColumn: string; updatedColumn: string; ids: readonly string[]; since: Date | undefined; until: Date },
): Promise<{ id: string; day: string }[]> {
  if (options.ids.length === 0) return [];
  const { rows } = await db.query<{ id: string; day: string }>(liveVersionsOfIdsSql(ref, options.idColumn, options.updatedColumn), [
    options.ids,
    options.since ?? null,
    options.until,
  ]);
  return rows;
}

/**
 * Marks live rows deleted by Id, as the merge does: soft flags them (dated now, with the tag in the job-id column),
 * hard removes them and keeps their tombstones. Returns how many rows changed. Run it in the caller's transaction.
 */
export async function markRowsDeleted(
  db: pg.Pool | pg.ClientBase,
  ref: WarehouseTableRef,
  options: { idColumn: string; updatedColumn: string | undefined; ids: string[]; mode: 'soft' | 'hard'; tag: string },
): Promise<number> {
  if (options.ids.length === 0) return 0;
  const values = [options.tag, options.ids];
  if (options.mode === 'soft') return (await db.query(flagRowsDeletedByIdSql(ref, options.idColumn), values)).rowCount ?? 0;
  const { rows } = await db.query<{ n: string }>(deleteRowsByIdSql(ref, options.idColumn, options.updatedColumn), values);
  return Number(rows[0]?.n ?? 0);
}
