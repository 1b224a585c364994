// The typed stage of a first load: one LOGGED table per job and warehouse table, with the warehouse table's own
// column types, that every result file of a complete snapshot COPYs into (COPY casts while it parses: no text copy
// of the rows to re-read and cast). In the applying transaction it becomes the warehouse table itself: moved into
// the warehouse schema, renamed, given aquasync's columns (catalogue-only: their defaults are stored once, not per
// row) and its primary key. Logged, so a crash of the server keeps what was committed.
import type { TableSpec } from '../../plan/types.ts';
import {
  DELETED_AT_COLUMN,
  DELETED_COLUMN,
  JOB_ID_COLUMN,
  qualifiedName,
  quoteIdent,
  quoteLiteral,
  stageName,
  STAGE_SCHEMA,
  SYNCED_AT_COLUMN,
  SYSTEM_COLUMNS,
  TABLE_STORAGE,
  vetType,
} from './names.ts';

/** The stage's columns in the order of the CSV header: the data columns and, where the CSV has it, the deleted flag. */
function typedStageColumns(spec: TableSpec): { name: string; type: string }[] {
  const width = spec.columns.length + (spec.deletedPosition === undefined ? 0 : 1);
  const byPosition = new Map(spec.columns.map((c) => [c.position, c]));
  return Array.from({ length: width }, (_, position) => {
    const column = byPosition.get(position);
    // Zuora always writes the flag (true/false or 1/0): NOT NULL from the start spares the apply a pass over every
    // row, and an empty flag refuses the file (the text path reads it as false).
    return column === undefined ? { name: DELETED_COLUMN, type: 'boolean NOT NULL DEFAULT false' } : { name: column.name, type: vetType(column.type) };
  });
}

/** The table's DDL in one line: equal text means an equal table (the loader names the stage by its hash). */
export function typedStageShape(spec: TableSpec): string {
  return typedStageColumns(spec).map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ');
}

/** $1: a name prefix ([a-z0-9_] only). The stage tables whose names start with it: `name`. */
export function stageTablesLike(): string {
  return `SELECT tablename AS name FROM pg_catalog.pg_tables WHERE schemaname = ${quoteLiteral(STAGE_SCHEMA)} AND starts_with(tablename, $1::text)`;
}

export function createTypedStage(table: string, spec: TableSpec): string {
  // Created as the warehouse table will be stored: it becomes that table.
  return `CREATE TABLE IF NOT EXISTS ${stageName(table)} (${typedStageShape(spec)}) ${TABLE_STORAGE}`;
}

/**
 * FORCE_NULL on every column: a quoted empty value ("") is NULL too, as castExpression's NULLIF makes it. The
 * session TimeZone must be ZUORA_SYSTEM_ZONE (a bare date in a datetime column is Pacific midnight).
 */
export function copyIntoTypedStage(table: string, spec: TableSpec): string {
  const columns = typedStageColumns(spec).map((c) => quoteIdent(c.name)).join(', ');
  return (
    `COPY ${stageName(table)} (${columns}) ` +
    `FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8', FORCE_NULL (${columns}))`
  );
}

/**
 * The statements turning the typed stage into the warehouse table `spec` names, in order, inside the applying
 * transaction (readers see nothing before its commit). The primary key comes last, built once by one sort, and
 * takes the table's own name (`<table>_pkey`) as a table created by createTable would.
 */
export function adoptTypedStage(table: string, spec: TableSpec, jobId: string): string[] {
  const q = quoteIdent;
  const target = qualifiedName(spec);
  const system = new Map(SYSTEM_COLUMNS.map((c) => [c.name, c.ddl]));
  const statements = [
    `ALTER TABLE ${stageName(table)} SET SCHEMA ${q(spec.schema)}`,
    `ALTER TABLE ${q(spec.schema)}.${q(table)} RENAME TO ${q(spec.table)}`,
  ];
  if (spec.deletedPosition === undefined) {
    statements.push(`ALTER TABLE ${target} ADD COLUMN ${q(DELETED_COLUMN)} ${system.get(DELETED_COLUMN) as string}`);
  }
  // A constant default is kept in the catalogue, not written into each row; the job id's is then dropped, so later
  // rows name their own job. now() is the transaction's start, as in the rows every other path writes.
  statements.push(
    `ALTER TABLE ${target} ADD COLUMN ${q(DELETED_AT_COLUMN)} ${system.get(DELETED_AT_COLUMN) as string}, ` +
      `ADD COLUMN ${q(SYNCED_AT_COLUMN)} ${system.get(SYNCED_AT_COLUMN) as string}, ` +
      `ADD COLUMN ${q(JOB_ID_COLUMN)} text DEFAULT ${quoteLiteral(jobId)}`,
    `ALTER TABLE ${target} ALTER COLUMN ${q(JOB_ID_COLUMN)} DROP DEFAULT`,
  );
  statements.push(`ALTER TABLE ${target} ADD PRIMARY KEY (${spec.primaryKey.map(q).join(', ')})`);
  return statements;
}
