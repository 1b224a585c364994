// Warehouse DDL: create a table for a spec, or bring an existing one in line: add missing columns, change a column
// to the type its `types:` override asks for. Columns are never dropped, and a described type that differs from
// an existing column (the user may have altered it) is reported and kept: values are then cast to the column's
// real type, never to another one that the column would silently round.
import type pg from 'pg';
import { ConfigError, WarehouseError } from '../errors.ts';
import type { PgType, TableSpec } from '../plan/types.ts';
import { isDataException } from './pg-error.ts';
import * as sql from './sql/index.ts';
import type { EnsureTableResult, TypeMismatch } from './types.ts';

/**
 * `deferPrimaryKey`: a table created now gets no primary key yet; the caller must load it with insertIntoNewTable
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
    return { created: true, addedColumns: [], retypedColumns: [], typeMismatches: [], spec };
  }

  await checkPrimaryKey(client, spec, name);
  const addedColumns: string[] = [];
  const wanted = [
    ...spec.columns.map((c) => ({ name: c.name, type: c.type as PgType, ddl: sql.vetType(c.type), overridden: c.overridden })),
    ...sql.SYSTEM_COLUMNS.map((c) => ({ ...c, overridden: false })),
  ];
  for (const column of wanted) {
    if (existing.has(column.name)) continue;
    await client.query(sql.addColumn(spec, column.name, column.ddl));
    addedColumns.push(column.name);
  }

  const kept = wanted.filter((c) => existing.has(c.name));
  const canonical = await canonicalTypes(client, kept.map((c) => c.type));
  const retypedColumns: TypeMismatch[] = [];
  const typeMismatches: TypeMismatch[] = [];
  const actual = new Map<string, string>();
  for (const [i, column] of kept.entries()) {
    const current = existing.get(column.name) as string;
    if (canonical[i] === current) continue;
    const mismatch = { column: column.name, existing: current, wanted: column.type };
    if (column.overridden) {
      await retype(client, spec, column.name, column.type);
      retypedColumns.push(mismatch);
    } else {
      typeMismatches.push(mismatch);
      actual.set(column.name, current);
    }
  }
  const effective: TableSpec = {
    ...spec,
    columns: spec.columns.map((c) => (actual.has(c.name) ? { ...c, type: actual.get(c.name) as string } : c)),
  };
  return { created: false, addedColumns, retypedColumns, typeMismatches, spec: effective };
}

/** The user asked for this type: existing values that cannot convert make it a configuration problem. */
async function retype(client: pg.ClientBase, spec: TableSpec, column: string, type: PgType): Promise<void> {
  await client.query('SAVEPOINT aquasync_retype');
  try {
    await client.query(sql.alterColumnType(spec, column, type));
    await client.query('RELEASE SAVEPOINT aquasync_retype');
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT aquasync_retype');
    if (!isDataException(error)) throw error;
    throw new ConfigError(
      `cannot change ${spec.schema}.${spec.table}.${column} to ${type} as its types: override asks: ${error.message}`,
      { hint: `choose a type every stored value fits, or convert the column yourself (ALTER TABLE ... ALTER COLUMN ${column} TYPE ...)` },
    );
  }
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
