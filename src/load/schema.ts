// Warehouse DDL: create a table for a spec, or add the columns an existing one lacks. Columns are never dropped
// or retyped (that would lose data or break users' views); differing types are reported for the caller to log.
import type pg from 'pg';
import { WarehouseError } from '../errors.ts';
import type { PgType, TableSpec } from '../plan/types.ts';
import * as sql from './sql.ts';
import type { EnsureTableResult, TypeMismatch } from './types.ts';

/**
 * `deferPrimaryKey`: a table created now gets no primary key yet; the caller must load it with loadIntoNewTable
 * (which adds the key) in the same transaction. applyStaged does exactly that.
 */
export async function ensureTable(
  client: pg.ClientBase,
  spec: TableSpec,
  options: { deferPrimaryKey?: boolean } = {},
): Promise<EnsureTableResult> {
  sql.validateSpec(spec);
  const name = sql.qualifiedName(spec);
  await client.query(sql.createSchema(spec.schema));
  const existing = await describe(client, name);
  if (existing.size === 0) {
    await client.query(sql.createTable(spec, !options.deferPrimaryKey));
    return { created: true, addedColumns: [], typeMismatches: [] };
  }

  await checkPrimaryKey(client, spec, name);
  const addedColumns: string[] = [];
  const wanted = [
    ...spec.columns.map((c) => ({ name: c.name, type: c.type as PgType, ddl: sql.vetType(c.type) })),
    ...sql.SYSTEM_COLUMNS,
  ];
  for (const column of wanted) {
    if (existing.has(column.name)) continue;
    await client.query(sql.addColumn(spec, column.name, column.ddl));
    addedColumns.push(column.name);
  }

  const kept = wanted.filter((c) => existing.has(c.name));
  const canonical = await canonicalTypes(client, kept.map((c) => c.type));
  const typeMismatches: TypeMismatch[] = [];
  kept.forEach((column, i) => {
    const current = existing.get(column.name) as string;
    if (canonical[i] !== current) typeMismatches.push({ column: column.name, existing: current, wanted: column.type });
  });
  return { created: false, addedColumns, typeMismatches };
}

async function describe(client: pg.ClientBase, name: string): Promise<Map<string, string>> {
  const result = await client.query<{ name: string; type: string }>(sql.describeColumns(), [name]);
  return new Map(result.rows.map((r) => [r.name, r.type]));
}

/** ON CONFLICT needs a unique index on exactly the key; an existing table without one cannot be merged into. */
async function checkPrimaryKey(client: pg.ClientBase, spec: TableSpec, name: string): Promise<void> {
  const result = await client.query<{ columns: string[] }>(sql.uniqueIndexColumns(), [name]);
  const want = [...spec.primaryKey].sort().join(',');
  if (result.rows.some((r) => [...r.columns].sort().join(',') === want)) return;
  throw new WarehouseError(
    `table ${name} exists but has no primary key or unique index on (${spec.primaryKey.join(', ')})`,
    {
      hint: `add one (ALTER TABLE ${name} ADD PRIMARY KEY (...)) or drop the table so aquasync recreates it`,
      context: { table: name },
    },
  );
}

/**
 * Postgres' own spelling of each type (`timestamptz` -> `timestamp with time zone`, `numeric(22,9)` kept), taken
 * from the field descriptions of a query selecting a typed NULL per type, so comparing with format_type is exact.
 */
async function canonicalTypes(client: pg.ClientBase, types: PgType[]): Promise<string[]> {
  if (types.length === 0) return [];
  const probe = await client.query(sql.probeTypes(types));
  const formatted = await client.query<{ type: string }>(sql.formatTypes(), [
    probe.fields.map((f) => f.dataTypeID),
    probe.fields.map((f) => f.dataTypeModifier),
  ]);
  return formatted.rows.map((r) => r.type);
}
