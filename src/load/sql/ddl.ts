// Warehouse DDL and catalog reads: create or extend a table, change a column's type, describe what exists.
import type { PgType, TableSpec } from '../../plan/types.ts';
import { quoteIdent, qualified, qualifiedName, SYSTEM_COLUMNS, TABLE_STORAGE, vetType } from './names.ts';

export function createSchema(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`;
}

/** `withKey: false` creates the table without its primary key, for a first load that adds it afterwards. */
export function createTable(spec: TableSpec, withKey = true): string {
  const columns = [
    ...spec.columns.map((c) => `${quoteIdent(c.name)} ${vetType(c.type)}`),
    ...SYSTEM_COLUMNS.map((c) => `${quoteIdent(c.name)} ${c.ddl}`),
    ...(withKey ? [`PRIMARY KEY (${spec.primaryKey.map(quoteIdent).join(', ')})`] : []),
  ];
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName(spec)} (\n  ${columns.join(',\n  ')}\n) ${TABLE_STORAGE}`;
}

/** `ddl` is a vetted type (data columns) or one of SYSTEM_COLUMNS' definitions. */
export function addColumn(spec: TableSpec, column: string, ddl: string): string {
  return `ALTER TABLE ${qualifiedName(spec)} ADD COLUMN IF NOT EXISTS ${quoteIdent(column)} ${ddl}`;
}

/** Changes a column to the type a `types:` override asks for, converting the stored values. */
export function alterColumnType(spec: TableSpec, column: string, type: PgType): string {
  const t = vetType(type);
  return `ALTER TABLE ${qualifiedName(spec)} ALTER COLUMN ${quoteIdent(column)} TYPE ${t} USING ${quoteIdent(column)}::${t}`;
}

export function addPrimaryKey(spec: TableSpec): string {
  return `ALTER TABLE ${qualifiedName(spec)} ADD PRIMARY KEY (${spec.primaryKey.map(quoteIdent).join(', ')})`;
}

/** $1: the quoted, qualified table name. No rows when the table does not exist. */
export function describeColumns(): string {
  return `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = to_regclass($1::text) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`;
}

/** $1: the quoted, qualified table name. One row per unique, non-partial, non-deferrable index: its columns. */
export function uniqueIndexColumns(): string {
  return `SELECT array_agg(a.attname::text ORDER BY k.i) AS columns
FROM pg_catalog.pg_index x
CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, i)
JOIN pg_catalog.pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
WHERE x.indrelid = to_regclass($1::text) AND x.indisunique AND x.indimmediate AND x.indpred IS NULL
GROUP BY x.indexrelid`;
}

/** Selects a typed NULL per type: the result's field descriptions carry each type's oid and typmod. */
export function probeTypes(types: PgType[]): string {
  return `SELECT ${types.map((t, i) => `NULL::${vetType(t)} AS c${i}`).join(', ')} LIMIT 0`;
}

/** $1: oid[], $2: int4[] typmods. Postgres' canonical spelling of each type, in order. */
export function formatTypes(): string {
  return `SELECT format_type(u.t, u.m) AS type FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS u(t, m, i) ORDER BY u.i`;
}

/** Row counts of one warehouse table: all rows and those not flagged deleted (for `aquasync status`). */
export function countTableRows(schema: string, table: string): string {
  return `SELECT count(*)::bigint AS rows, count(*) FILTER (WHERE NOT ${quoteIdent(SYSTEM_COLUMNS[0]!.name)})::bigint AS live FROM ${qualified(schema, table)}`;
}
