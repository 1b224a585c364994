// The vocabulary every warehouse statement is built from: quoted identifiers and literals, vetted type names,
// the cast of a staged text value into its column type, and aquasync's own columns. Nothing else is ever spliced
// into SQL text.
import { ConfigError } from '../../errors.ts';
import { RESERVED_COLUMN_PREFIX } from '../../plan/index.ts';
import type { PgType, TableSpec } from '../../plan/types.ts';
import { quoteIdent } from '../../db/index.ts';

/** Schema of the per-file UNLOGGED staging tables. */
export const STAGE_SCHEMA = 'aquasync_stage';
/** Schema of aquasync's state tables (tombstones and quarantined rows are written by warehouse statements). */
export const STATE_SCHEMA = 'aquasync';
export const DELETED_COLUMN = '_aquasync_deleted';
/** By when the row was known deleted (the snapshot time of the job that saw it deleted); NULL for live rows. */
export const DELETED_AT_COLUMN = '_aquasync_deleted_at';
export const SYNCED_AT_COLUMN = '_aquasync_synced_at';
export const JOB_ID_COLUMN = '_aquasync_job_id';
/** Warehouse columns may not start with this: it is used by the system columns and the merge's own columns. */
export const RESERVED_PREFIX = RESERVED_COLUMN_PREFIX;

/** Zuora prints a datetime that falls on Pacific midnight as a bare date; this is the zone it means. */
export const ZUORA_SYSTEM_ZONE = 'America/Los_Angeles';

/**
 * Storage of every table aquasync creates: a tenth of each page is left free, so an incremental's updated row
 * version fits on its page (a HOT update: no new primary-key entry). With full pages every update also inserts
 * into the key's index at a random place, and an incremental's cost grew with the table, not the change.
 */
export const TABLE_STORAGE = 'WITH (fillfactor = 90)';

/** The columns aquasync adds to every warehouse table, with their DDL. */
export const SYSTEM_COLUMNS: readonly { name: string; type: string; ddl: string }[] = [
  { name: DELETED_COLUMN, type: 'boolean', ddl: 'boolean NOT NULL DEFAULT false' },
  { name: DELETED_AT_COLUMN, type: 'timestamptz', ddl: 'timestamptz' },
  { name: SYNCED_AT_COLUMN, type: 'timestamptz', ddl: 'timestamptz NOT NULL DEFAULT now()' },
  { name: JOB_ID_COLUMN, type: 'text', ddl: 'text' },
];

/** A statement with its bind parameters, for the statements that need some. */
export interface Statement {
  text: string;
  values: unknown[];
}

export { quoteIdent };

/** A string literal (standard_conforming_strings is on in every supported Postgres). */
export function quoteLiteral(text: string): string {
  if (text.includes('\0')) throw new ConfigError(`SQL literal ${JSON.stringify(text)} contains a NUL byte`);
  return `'${text.replaceAll("'", "''")}'`;
}

/** A timestamptz literal from a Date: toISOString's characters are all safe. */
export function timestampLiteral(instant: Date): string {
  if (Number.isNaN(instant.getTime())) throw new RangeError('invalid Date in a SQL literal');
  return `'${instant.toISOString()}'::timestamptz`;
}

export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

export function qualifiedName(spec: Pick<TableSpec, 'schema' | 'table'>): string {
  return qualified(spec.schema, spec.table);
}

export function stageName(table: string): string {
  return qualified(STAGE_SCHEMA, table);
}

const TYPE_SHAPE =
  /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?( [a-z_][a-z0-9_]*)*(\(\d+(,-?\d+)?\))?( [a-z_][a-z0-9_]*)*(\[\])?$/;

/**
 * Normalises a type name (lower case, single spaces, no spaces around parentheses) and rejects anything that is
 * not shaped like one, so an override from the config can be spliced into SQL safely.
 */
export function vetType(type: PgType): string {
  const normal = type
    .trim()
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/ ?\( ?/g, '(')
    .replace(/ ?, ?/g, ',')
    .replace(/ ?\)/g, ')')
    .replace(/ ?\[ ?\]/g, '[]');
  if (!TYPE_SHAPE.test(normal)) {
    throw new ConfigError(`"${type}" is not a Postgres type name aquasync accepts`, {
      hint: 'use a plain type such as numeric(22,9), text, bigint, boolean, date or timestamptz',
    });
  }
  return normal;
}

const TIMESTAMPTZ = /^(timestamptz(\(\d+\))?|timestamp(\(\d+\))? with time zone)$/;
const TIMESTAMP = /^(timestamp(\(\d+\))?|timestamp(\(\d+\))? without time zone)$/;

/**
 * The SQL expression turning a staged text value into `type`. `ref` must be a plain column reference (it may be
 * evaluated more than once). Zuora writes null as an empty field, so '' is NULL for every type.
 */
export function castExpression(ref: string, type: PgType): string {
  const t = vetType(type);
  if (t === 'text') return `NULLIF(${ref}, '')`;
  if (TIMESTAMPTZ.test(t) || TIMESTAMP.test(t)) {
    // A bare date is a datetime at Pacific midnight; without this, Postgres would read it in the session zone.
    // The length test (O(1) on the stored value) spares the regex for the datetimes that make up most values: it
    // cost more than the timestamptz input function itself (2.4 s per column per 2M rows measured).
    const instant =
      `(CASE WHEN octet_length(${ref}) = 10 AND ${ref} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' ` +
      `THEN ${ref}::timestamp AT TIME ZONE '${ZUORA_SYSTEM_ZONE}' ELSE NULLIF(${ref}, '')::timestamptz END)`;
    // A zone-less `timestamp` column holds UTC wall time (Postgres would otherwise drop the offset Zuora wrote).
    if (TIMESTAMP.test(t)) return `(${instant} AT TIME ZONE 'UTC')::${t}`;
    return t === 'timestamptz' ? instant : `${instant}::${t}`;
  }
  // numeric, bigint, boolean (true/false/1/0), date and vetted overrides: Postgres' own input functions are
  // exact (numeric never goes through float) and strict.
  return `NULLIF(${ref}, '')::${t}`;
}

/**
 * True when COPY's own input function, run with the session TimeZone set to ZUORA_SYSTEM_ZONE and every column
 * FORCE_NULL, reads each value Zuora renders (§9.2 of the API notes: '' as NULL, a bare date as Pacific midnight, a
 * datetime with its offset) exactly as castExpression does. Not so for a zone-less `timestamp`, which castExpression
 * converts to UTC wall time.
 */
export function copyReadsLikeCast(type: PgType): boolean {
  return !TIMESTAMP.test(vetType(type));
}

/** Checks a spec before any SQL is built from it, so mistakes surface as one clear message. */
export function validateSpec(spec: TableSpec): void {
  const where = `table ${spec.schema}.${spec.table} (${spec.object})`;
  quoteIdent(spec.schema);
  quoteIdent(spec.table);
  if (spec.columns.length === 0) throw new ConfigError(`${where} has no columns`);
  const names = new Set<string>();
  const positions = new Set<number>(spec.deletedPosition === undefined ? [] : [spec.deletedPosition]);
  for (const column of spec.columns) {
    quoteIdent(column.name);
    vetType(column.type);
    if (column.name.startsWith(RESERVED_PREFIX)) {
      throw new ConfigError(`${where}: column name "${column.name}" starts with the reserved prefix ${RESERVED_PREFIX}`);
    }
    if (names.has(column.name)) throw new ConfigError(`${where}: column "${column.name}" appears twice`);
    if (!Number.isSafeInteger(column.position) || column.position < 0 || positions.has(column.position)) {
      throw new ConfigError(`${where}: column "${column.name}" has an invalid or repeated CSV position ${column.position}`);
    }
    names.add(column.name);
    positions.add(column.position);
  }
  if (spec.primaryKey.length === 0) throw new ConfigError(`${where} has no primary key`);
  for (const key of spec.primaryKey) {
    if (!names.has(key)) throw new ConfigError(`${where}: primary key column "${key}" is not one of its columns`);
  }
  if (spec.updatedColumn !== undefined && !names.has(spec.updatedColumn)) {
    throw new ConfigError(`${where}: updated column "${spec.updatedColumn}" is not one of its columns`);
  }
}

/** Stage column holding CSV position `position`. */
export function stageColumn(alias: string, position: number): string {
  if (!Number.isSafeInteger(position) || position < 0) throw new ConfigError(`invalid CSV position ${position}`);
  return `${alias}.c${position}`;
}

/** The stage column list c0..c(count-1). */
export function stageColumns(count: number): string[] {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new ConfigError(`a stage table needs a positive whole number of columns, got ${count}`);
  }
  return Array.from({ length: count }, (_, i) => `c${i}`);
}

/** The key of a row as text, as stored in aquasync.tombstones: the value itself, or a JSON array when composite. */
export function keyText(spec: Pick<TableSpec, 'primaryKey'>, alias: string): string {
  const refs = spec.primaryKey.map((k) => `${alias}.${quoteIdent(k)}`);
  return refs.length === 1 ? `(${refs[0]})::text` : `jsonb_build_array(${refs.join(', ')})::text`;
}
