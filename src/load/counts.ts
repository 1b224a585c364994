// Row counts per warehouse table, for `aquasync status`.
import type pg from 'pg';
import { countTableRows } from './sql/index.ts';

export interface TableRowCount {
  table: string;
  exists: boolean;
  rows: number;
  live: number;
}

/** Which of `tables` exist in `schema` (a catalog lookup, nothing is scanned). */
export async function existingTables(pool: pg.Pool, schema: string, tables: readonly string[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ name: string }>(
    'SELECT t AS name FROM unnest($2::text[]) AS t WHERE to_regclass(format(\'%I.%I\', $1::text, t)) IS NOT NULL',
    [schema, tables],
  );
  return new Set(rows.map((r) => r.name));
}

export async function tableRowCounts(pool: pg.Pool, schema: string, tables: string[]): Promise<TableRowCount[]> {
  const out: TableRowCount[] = [];
  for (const table of tables) {
    const { rows } = await pool.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [
      `"${schema.replace(/"/g, '""')}"."${table.replace(/"/g, '""')}"`,
    ]);
    if (!rows[0]?.exists) {
      out.push({ table: `${schema}.${table}`, exists: false, rows: 0, live: 0 });
      continue;
    }
    const counts = await pool.query<{ rows: string; live: string }>(countTableRows(schema, table));
    out.push({ table: `${schema}.${table}`, exists: true, rows: Number(counts.rows[0]?.rows ?? 0), live: Number(counts.rows[0]?.live ?? 0) });
  }
  return out;
}
