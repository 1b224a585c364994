// Every statement the loader runs against the warehouse, as functions returning SQL text (pg-boss plans.ts
// style), so a reader finds all warehouse SQL in one place. Identifiers are always quoted with quoteIdent; the
// only other text spliced in is vetted type names (vetType) and integers checked to be safe integers.
import { ConfigError } from '../errors.ts';
import type { ColumnSpec, PgType, TableSpec } from '../plan/types.ts';
import type { StagedFile } from './types.ts';

/** Schema of the per-file UNLOGGED staging tables. */
export const STAGE_SCHEMA = 'aquasync_stage';
export const DELETED_COLUMN = '_aquasync_deleted';
export const SYNCED_AT_COLUMN = '_aquasync_synced_at';
export const JOB_ID_COLUMN = '_aquasync_job_id';
/** Warehouse columns may not start with this: it is used by the system columns and the merge's own columns. */
export const RESERVED_PREFIX = '_aquasync_';

/** Zuora prints a datetime that falls on Pacific midnight as a bare date; this is the zone it means. */
const ZUORA_SYSTEM_ZONE = 'America/Los_Angeles';

/** A statement with its bind parameters, for the statements that need some. */
export interface Statement {
  text: string;
  values: unknown[];
}

// Private until the lead dedupes it with src/db's version.
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new ConfigError('empty SQL identifier');
  if (name.includes('\0')) throw new ConfigError(`SQL identifier ${JSON.stringify(name)} contains a NUL byte`);
  // Postgres silently truncates longer names, which would make two tables or columns collide.
  if (Buffer.byteLength(name, 'utf8') > 63) {
    throw new ConfigError(`SQL identifier "${name}" is longer than Postgres' 63-byte limit`, {
      hint: 'choose a shorter table or column name',
    });
  }
  return `"${name.replaceAll('"', '""')}"`;
}

function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

function stageName(table: string): string {
  return qualified(STAGE_SCHEMA, table);
}

function stageColumns(count: number): string[] {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new ConfigError(`a stage table needs a positive whole number of columns, got ${count}`);
  }
  return Array.from({ length: count }, (_, i) => `c${i}`);
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

/**
 * The SQL expression turning a staged text value into `type`. `ref` must be a plain column reference (it may be
 * evaluated more than once). Zuora writes null as an empty field, so '' is NULL for every type.
 */
export function castExpression(ref: string, type: PgType): string {
  const t = vetType(type);
  if (t === 'text') return `NULLIF(${ref}, '')`;
  if (TIMESTAMPTZ.test(t)) {
    // A bare date is a datetime at Pacific midnight; without this, Postgres would read it in the session zone.
    const expression =
      `(CASE WHEN ${ref} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' ` +
      `THEN ${ref}::timestamp AT TIME ZONE '${ZUORA_SYSTEM_ZONE}' ELSE NULLIF(${ref}, '')::timestamptz END)`;
    return t === 'timestamptz' ? expression : `${expression}::${t}`;
  }
  // numeric, bigint, boolean (true/false/1/0), date and vetted overrides: Postgres' own input functions are
  // exact (numeric never goes through float) and strict.
  return `NULLIF(${ref}, '')::${t}`;
}

/** Checks a spec before any SQL is built from it, so mistakes surface as one clear message. */
export function validateSpec(spec: TableSpec): void {
  const where = `table ${spec.schema}.${spec.table} (${spec.object})`;
  quoteIdent(spec.schema);
  quoteIdent(spec.table);
  if (spec.columns.length === 0) throw new ConfigError(`${where} has no columns`);
  const names = new Set<string>();
  for (const column of spec.columns) {
    quoteIdent(column.name);
    vetType(column.type);
    if (column.name.startsWith(RESERVED_PREFIX)) {
      throw new ConfigError(`${where}: column name "${column.name}" starts with the reserved prefix ${RESERVED_PREFIX}`);
    }
    if (names.has(column.name)) throw new ConfigError(`${where}: column "${column.name}" appears twice`);
    names.add(column.name);
  }
  if (spec.primaryKey.length === 0) throw new ConfigError(`${where} has no primary key`);
  for (const key of spec.primaryKey) {
    if (!names.has(key)) throw new ConfigError(`${where}: primary key column "${key}" is not one of its columns`);
  }
  if (spec.updatedColumn !== undefined && !names.has(spec.updatedColumn)) {
    throw new ConfigError(`${where}: updated column "${spec.updatedColumn}" is not one of its columns`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Staging

export function createStageSchema(): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(STAGE_SCHEMA)}`;
}

export function dropStageTables(tables: string[]): string {
  return `DROP TABLE IF EXISTS ${tables.map(stageName).join(', ')}`;
}

export function createStageTable(table: string, columnCount: number): string {
  const columns = stageColumns(columnCount).map((c) => `${c} text`);
  return `CREATE UNLOGGED TABLE ${stageName(table)} (seq bigint GENERATED ALWAYS AS IDENTITY, ${columns.join(', ')})`;
}

/** Postgres parses the CSV itself; ENCODING makes it validate UTF-8 whatever the session's client_encoding. */
export function copyIntoStage(table: string, columnCount: number): string {
  return (
    `COPY ${stageName(table)} (${stageColumns(columnCount).join(', ')}) ` +
    `FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')`
  );
}

/** $1: unqualified stage table name. to_regclass answers NULL instead of failing the transaction. */
export function stageTableExists(): string {
  return `SELECT to_regclass(format('%I.%I', '${STAGE_SCHEMA}', $1::text)) IS NOT NULL AS "exists"`;
}

export function countStageRows(table: string): string {
  return `SELECT count(*) AS n FROM ${stageName(table)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Warehouse DDL

export function createSchema(schema: string): string {
  return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`;
}

/** The columns aquasync adds to every warehouse table, with their DDL. */
export const SYSTEM_COLUMNS: readonly { name: string; type: string; ddl: string }[] = [
  { name: DELETED_COLUMN, type: 'boolean', ddl: 'boolean NOT NULL DEFAULT false' },
  { name: SYNCED_AT_COLUMN, type: 'timestamptz', ddl: 'timestamptz NOT NULL DEFAULT now()' },
  { name: JOB_ID_COLUMN, type: 'text', ddl: 'text' },
];

/** `withKey: false` creates the table without its primary key, for a first load that adds it afterwards. */
export function createTable(spec: TableSpec, withKey = true): string {
  const columns = [
    ...spec.columns.map((c) => `${quoteIdent(c.name)} ${vetType(c.type)}`),
    ...SYSTEM_COLUMNS.map((c) => `${quoteIdent(c.name)} ${c.ddl}`),
    ...(withKey ? [`PRIMARY KEY (${spec.primaryKey.map(quoteIdent).join(', ')})`] : []),
  ];
  return `CREATE TABLE IF NOT EXISTS ${qualified(spec.schema, spec.table)} (\n  ${columns.join(',\n  ')}\n)`;
}

/** `ddl` is a vetted type (data columns) or one of SYSTEM_COLUMNS' definitions. */
export function addColumn(spec: TableSpec, column: string, ddl: string): string {
  return `ALTER TABLE ${qualified(spec.schema, spec.table)} ADD COLUMN IF NOT EXISTS ${quoteIdent(column)} ${ddl}`;
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

export function qualifiedName(spec: TableSpec): string {
  return qualified(spec.schema, spec.table);
}

/** Selects a typed NULL per type: the result's field descriptions carry each type's oid and typmod. */
export function probeTypes(types: PgType[]): string {
  return `SELECT ${types.map((t, i) => `NULL::${vetType(t)} AS c${i}`).join(', ')} LIMIT 0`;
}

/** $1: oid[], $2: int4[] typmods. Postgres' canonical spelling of each type, in order. */
export function formatTypes(): string {
  return `SELECT format_type(u.t, u.m) AS type FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS u(t, m, i) ORDER BY u.i`;
}

// ---------------------------------------------------------------------------------------------------------------
// Merge

const ORD = '_aquasync_ord';
const SEQ = '_aquasync_seq';
const DEL = '_aquasync_del';

function checkStages(stages: StagedFile[]): void {
  if (stages.length === 0) throw new ConfigError('a merge needs at least one staged file');
  for (const stage of stages) {
    if (!Number.isSafeInteger(stage.ordinal)) {
      throw new ConfigError(`stage ${stage.table}: ordinal ${stage.ordinal} is not a whole number`);
    }
  }
}

/** Stage column of each data column: the deleted flag, when present, is the first CSV column (c0). */
function dataColumnRef(spec: TableSpec, index: number): string {
  return `s.c${index + (spec.deletedHeader === undefined ? 0 : 1)}`;
}

/** Every staged row of every file, typed, with its file ordinal, its position in the file and its deleted flag. */
function typedSource(spec: TableSpec, stages: StagedFile[]): string {
  const deleted =
    spec.deletedHeader === undefined ? 'false' : `COALESCE(lower(btrim(s.c0)) IN ('true', '1'), false)`;
  const typed = spec.columns.map((c, i) => `${castExpression(dataColumnRef(spec, i), c.type)} AS ${quoteIdent(c.name)}`);
  return stages
    .map(
      (stage) =>
        `SELECT ${stage.ordinal}::int AS ${ORD}, s.seq AS ${SEQ}, ${deleted} AS ${DEL}, ${typed.join(', ')} ` +
        `FROM ${stageName(stage.table)} AS s`,
    )
    .join('\n  UNION ALL\n  ');
}

/** Only the typed key columns of every staged row (for the full-snapshot anti-join). */
function sourceKeys(spec: TableSpec, stages: StagedFile[]): string {
  const keys = spec.primaryKey.map((key) => {
    const index = spec.columns.findIndex((c) => c.name === key);
    const column = spec.columns[index] as ColumnSpec;
    return `${castExpression(dataColumnRef(spec, index), column.type)} AS ${quoteIdent(key)}`;
  });
  return stages.map((stage) => `SELECT ${keys.join(', ')} FROM ${stageName(stage.table)} AS s`).join(' UNION ALL ');
}

function keyMatch(spec: TableSpec, left: string, right: string): string {
  return spec.primaryKey.map((k) => `${left}.${quoteIdent(k)} = ${right}.${quoteIdent(k)}`).join(' AND ');
}

/** Never let an older row overwrite a newer one; without an UpdatedDate on either side, the newer job wins. */
function notOlder(spec: TableSpec, existing: string, incoming: string): string {
  if (spec.updatedColumn === undefined) return 'true';
  const u = quoteIdent(spec.updatedColumn);
  return `(${existing}.${u} IS NULL OR ${incoming}.${u} IS NULL OR ${existing}.${u} <= ${incoming}.${u})`;
}

/**
 * One statement applying every staged file of a table: dedupe by key (newest UpdatedDate, then the last
 * occurrence), upsert live rows (and soft-deleted ones), hard-delete when asked. Rows older than the warehouse's
 * and rows that would not change are not written. $1: job id. Returns one row: upserted, deleted.
 */
/** The `src` (every staged row, typed) and `dedup` (the newest row per key) CTEs shared by both load paths. */
function dedupedSource(spec: TableSpec, stages: StagedFile[]): string[] {
  const q = quoteIdent;
  const keys = spec.primaryKey.map(q).join(', ');
  const order = [
    ...spec.primaryKey.map(q),
    ...(spec.updatedColumn === undefined ? [] : [`${q(spec.updatedColumn)} DESC NULLS LAST`]),
    `${ORD} DESC`,
    `${SEQ} DESC`,
  ];
  return [
    `WITH src AS (\n  ${typedSource(spec, stages)}\n)`,
    `dedup AS (\n  SELECT DISTINCT ON (${keys}) * FROM src ORDER BY ${order.join(', ')}\n)`,
  ];
}

function insertColumnList(spec: TableSpec): { insert: string[]; select: string[] } {
  return {
    insert: [...spec.columns.map((c) => quoteIdent(c.name)), quoteIdent(DELETED_COLUMN), quoteIdent(SYNCED_AT_COLUMN), quoteIdent(JOB_ID_COLUMN)],
    select: [...spec.columns.map((c) => quoteIdent(c.name)), DEL, 'now()', '$1::text'],
  };
}

/**
 * First load into a table created in this transaction (no key yet, nothing to conflict with): a plain INSERT of
 * the deduplicated rows, measured ~1.5x faster than the upsert; addPrimaryKey follows. Deleted rows are kept as
 * tombstones for soft deletes and skipped otherwise. $1: job id. Returns one row: upserted, deleted.
 */
export function insertIntoNewTable(spec: TableSpec, stages: StagedFile[]): string {
  checkStages(stages);
  const { insert, select } = insertColumnList(spec);
  return `${[
    ...dedupedSource(spec, stages),
    `ins AS (
  INSERT INTO ${qualified(spec.schema, spec.table)} (${insert.join(', ')})
  SELECT ${select.join(', ')} FROM dedup${spec.deletes === 'soft' ? '' : ` WHERE NOT ${DEL}`}
  RETURNING ${quoteIdent(DELETED_COLUMN)} AS d
)`,
  ].join(',\n')}\nSELECT (SELECT count(*) FROM ins WHERE NOT d) AS upserted, (SELECT count(*) FROM ins WHERE d) AS deleted`;
}

export function addPrimaryKey(spec: TableSpec): string {
  return `ALTER TABLE ${qualified(spec.schema, spec.table)} ADD PRIMARY KEY (${spec.primaryKey.map(quoteIdent).join(', ')})`;
}

export function mergeStaged(spec: TableSpec, stages: StagedFile[]): string {
  checkStages(stages);
  const q = quoteIdent;
  const target = qualified(spec.schema, spec.table);
  const keys = spec.primaryKey.map(q).join(', ');
  const soft = spec.deletes === 'soft';
  const nonKey = spec.columns.filter((c) => !spec.primaryKey.includes(c.name));
  // Zuora leaves joined columns empty in deleted rows: a soft delete keeps what the warehouse knew.
  const newValue = (c: ColumnSpec): string =>
    soft && c.joined
      ? `CASE WHEN excluded.${q(DELETED_COLUMN)} THEN COALESCE(excluded.${q(c.name)}, t.${q(c.name)}) ELSE excluded.${q(c.name)} END`
      : `excluded.${q(c.name)}`;
  const set = [
    ...nonKey.map((c) => `${q(c.name)} = ${newValue(c)}`),
    `${q(DELETED_COLUMN)} = excluded.${q(DELETED_COLUMN)}`,
    `${q(SYNCED_AT_COLUMN)} = excluded.${q(SYNCED_AT_COLUMN)}`,
    `${q(JOB_ID_COLUMN)} = excluded.${q(JOB_ID_COLUMN)}`,
  ];
  const before = [...nonKey.map((c) => `t.${q(c.name)}`), `t.${q(DELETED_COLUMN)}`];
  const after = [...nonKey.map(newValue), `excluded.${q(DELETED_COLUMN)}`];
  const { insert: insertColumns, select: selectColumns } = insertColumnList(spec);

  const parts = [
    ...dedupedSource(spec, stages),
    `up AS (
  INSERT INTO ${target} AS t (${insertColumns.join(', ')})
  SELECT ${selectColumns.join(', ')} FROM dedup${soft ? '' : ` WHERE NOT ${DEL}`}
  ON CONFLICT (${keys}) DO UPDATE SET ${set.join(', ')}
  WHERE ${notOlder(spec, 't', 'excluded')}
    AND ROW(${before.join(', ')}) IS DISTINCT FROM ROW(${after.join(', ')})
  RETURNING t.${q(DELETED_COLUMN)} AS d
)`,
  ];
  // The delete touches only keys whose newest row is deleted, the upsert only the others: they never meet.
  if (spec.deletes === 'hard') {
    parts.push(`del AS (
  DELETE FROM ${target} AS t USING dedup AS d
  WHERE d.${DEL} AND ${keyMatch(spec, 't', 'd')} AND ${notOlder(spec, 't', 'd')}
  RETURNING 1
)`);
  }
  const deleted =
    spec.deletes === 'hard' ? '(SELECT count(*) FROM del)' : spec.deletes === 'soft' ? '(SELECT count(*) FROM up WHERE d)' : '0';
  return `${parts.join(',\n')}\nSELECT (SELECT count(*) FROM up WHERE NOT d) AS upserted, ${deleted} AS deleted`;
}

/**
 * After a full snapshot: warehouse rows whose key is in none of the staged files, not already deleted and not
 * updated after the snapshot, are deleted (soft: flagged, hard: removed). Undefined for `deletes: ignore`.
 */
export function markMissing(spec: TableSpec, stages: StagedFile[], jobId: string, snapshotAt: Date): Statement | undefined {
  checkStages(stages);
  if (spec.deletes === 'ignore') return undefined;
  const q = quoteIdent;
  const target = qualified(spec.schema, spec.table);
  const absent = `NOT EXISTS (SELECT 1 FROM (${sourceKeys(spec, stages)}) AS k WHERE ${keyMatch(spec, 'k', 't')})`;
  const updated = spec.updatedColumn === undefined ? undefined : q(spec.updatedColumn);
  if (spec.deletes === 'hard') {
    const guard = updated === undefined ? '' : ` AND (t.${updated} IS NULL OR t.${updated} <= $1::timestamptz)`;
    return {
      text: `DELETE FROM ${target} AS t WHERE ${absent}${guard}`,
      values: updated === undefined ? [] : [snapshotAt],
    };
  }
  const guard = updated === undefined ? '' : ` AND (t.${updated} IS NULL OR t.${updated} <= $2::timestamptz)`;
  return {
    text:
      `UPDATE ${target} AS t SET ${q(DELETED_COLUMN)} = true, ${q(SYNCED_AT_COLUMN)} = now(), ${q(JOB_ID_COLUMN)} = $1::text ` +
      `WHERE NOT t.${q(DELETED_COLUMN)}${guard} AND ${absent}`,
    values: updated === undefined ? [jobId] : [jobId, snapshotAt],
  };
}

/** Row counts of one warehouse table: all rows and those not flagged deleted (for `aquasync status`). */
export function countTableRows(schema: string, table: string): string {
  return `SELECT count(*)::bigint AS rows, count(*) FILTER (WHERE NOT ${quoteIdent(DELETED_COLUMN)})::bigint AS live FROM ${quoteIdent(schema)}.${quoteIdent(table)}`;
}
