// Row counts per warehouse table, for `aquasync status`.
import type pg from 'pg';
import { countTableRows } from './sql/index.ts';

export interface TableRowCount {
  table: string;
  exists: boolean;
  rows: number;
  live: number;
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
