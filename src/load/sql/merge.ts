// The statements that move staged rows into a warehouse table: the first load into a new table, the guarded
// upsert into an existing one, and the deletion of rows a complete snapshot no longer holds.
//
// Rules every statement keeps:
// - one row per key: the newest UpdatedDate wins; on a tie a deletion wins (Zuora may or may not move UpdatedDate
//   when it deletes), then the later job, file and line;
// - an older row never overwrites a newer one, and a live row never brings back a deleted one unless it is
//   strictly newer than the deleted version (soft: the flagged row is the tombstone; hard: aquasync.tombstones);
// - rows that would not change are not written.
import { ConfigError } from '../../errors.ts';
import type { ColumnSpec, TableSpec } from '../../plan/types.ts';
import type { StagedFile } from '../types.ts';
import {
  castExpression,
  DELETED_AT_COLUMN,
  DELETED_COLUMN,
  JOB_ID_COLUMN,
  keyText,
  qualifiedName,
  quoteIdent,
  quoteLiteral,
  stageColumn,
  stageName,
  STATE_SCHEMA,
  SYNCED_AT_COLUMN,
  timestampLiteral,
  type Statement,
} from './names.ts';
import { QUARANTINED_KEYS } from './quarantine.ts';

const ORD = '_aquasync_ord';
const SEQ = '_aquasync_seq';
const DEL = '_aquasync_del';
const SEEN = '_aquasync_seen';
const TOMBSTONES = `${quoteIdent(STATE_SCHEMA)}.tombstones`;

export function checkStages(stages: StagedFile[]): void {
  if (stages.length === 0) throw new ConfigError('a merge needs at least one staged file');
  for (const stage of stages) {
    if (!Number.isSafeInteger(stage.ordinal)) {
      throw new ConfigError(`stage ${stage.table}: ordinal ${stage.ordinal} is not a whole number`);
    }
  }
}

function deletedFlag(spec: TableSpec): string {
  return spec.deletedPosition === undefined
    ? 'false'
    : `COALESCE(lower(btrim(${stageColumn('s', spec.deletedPosition)})) IN ('true', '1'), false)`;
}

function typedColumn(c: ColumnSpec): string {
  return castExpression(stageColumn('s', c.position), c.type);
}

/**
 * Every staged row of every file, typed, with its file ordinal, its position in the file, its deleted flag and
 * when Zuora took the snapshot it comes from (which dates a deletion).
 */
export function typedSource(spec: TableSpec, stages: StagedFile[]): string {
  const typed = spec.columns.map((c) => `${typedColumn(c)} AS ${quoteIdent(c.name)}`);
  return stages
    .map(
      (stage) =>
        `SELECT ${stage.ordinal}::int AS ${ORD}, s.seq AS ${SEQ}, ${deletedFlag(spec)} AS ${DEL}, ` +
        `${timestampLiteral(stage.seenAt)} AS ${SEEN}, ${typed.join(', ')} FROM ${stageName(stage.table)} AS s`,
    )
    .join('\n  UNION ALL\n  ');
}

/** The `src` (every staged row, typed) and `dedup` (the one row that wins per key) CTEs of both load paths. */
function dedupedSource(spec: TableSpec, stages: StagedFile[]): string[] {
  const q = quoteIdent;
  const keys = spec.primaryKey.map(q).join(', ');
  const order = [
    ...spec.primaryKey.map(q),
    ...(spec.updatedColumn === undefined ? [] : [`${q(spec.updatedColumn)} DESC NULLS LAST`]),
    `${DEL} DESC`,
    `${SEEN} DESC`,
    `${ORD} DESC`,
    `${SEQ} DESC`,
  ];
  return [
    `WITH src AS (\n  ${typedSource(spec, stages)}\n)`,
    `dedup AS (\n  SELECT DISTINCT ON (${keys}) * FROM src ORDER BY ${order.join(', ')}\n)`,
  ];
}

function keyMatch(spec: TableSpec, left: string, right: string): string {
  return spec.primaryKey.map((k) => `${left}.${quoteIdent(k)} = ${right}.${quoteIdent(k)}`).join(' AND ');
}

/** Older rows never overwrite newer ones; without an UpdatedDate on either side, the newer job wins. */
function notOlder(spec: TableSpec, existing: string, incoming: string): string {
  if (spec.updatedColumn === undefined) return 'true';
  const u = quoteIdent(spec.updatedColumn);
  return `(${existing}.${u} IS NULL OR ${incoming}.${u} IS NULL OR ${existing}.${u} <= ${incoming}.${u})`;
}

/**
 * A live row may replace a soft-deleted one only when it is strictly newer than the deleted version: a tie is the
 * same version seen before the deletion (Zuora need not move UpdatedDate when it deletes). Without an UpdatedDate
 * a deleted row stays deleted (`aquasync reconcile --apply` restores rows Zuora still has).
 */
function mayReplace(spec: TableSpec, existing: string, incoming: string): string {
  const d = quoteIdent(DELETED_COLUMN);
  const resurrect = spec.updatedColumn === undefined ? 'false' : `${existing}.${quoteIdent(spec.updatedColumn)} < ${incoming}.${quoteIdent(spec.updatedColumn)}`;
  return `(CASE WHEN ${existing}.${d} AND NOT ${incoming}.${d} THEN COALESCE(${resurrect}, false) ELSE ${notOlder(spec, existing, incoming)} END)`;
}

function tableLiterals(spec: Pick<TableSpec, 'schema' | 'table'>): { schema: string; table: string } {
  return { schema: quoteLiteral(spec.schema), table: quoteLiteral(spec.table) };
}

/** Live `dedup` rows that a hard delete's tombstone does not forbid (same rule as mayReplace, kept in a table). */
export function notTombstoned(spec: TableSpec, alias: string): string {
  const { schema, table } = tableLiterals(spec);
  const newer =
    spec.updatedColumn === undefined
      ? ''
      : ` AND (tb.updated_at IS NULL OR ${alias}.${quoteIdent(spec.updatedColumn)} IS NULL OR ${alias}.${quoteIdent(spec.updatedColumn)} <= tb.updated_at)`;
  return `NOT EXISTS (SELECT 1 FROM ${TOMBSTONES} AS tb WHERE tb.schema_name = ${schema} AND tb.table_name = ${table} AND tb.key = ${keyText(spec, alias)}${newer})`;
}

/** The keys of a table a tombstone is written for: enough of a TableSpec for statements outside the merge. */
export type TombstoneTarget = Pick<TableSpec, 'schema' | 'table' | 'primaryKey' | 'updatedColumn'>;

/** Tombstones for the rows of `source` (aliased d), deleted at `deletedAt`. $1: job id. */
export function insertTombstones(spec: TombstoneTarget, source: string, deletedAt: string, where: string): string {
  const { schema, table } = tableLiterals(spec);
  const updated = spec.updatedColumn === undefined ? 'NULL::timestamptz' : `d.${quoteIdent(spec.updatedColumn)}`;
  return `INSERT INTO ${TOMBSTONES} AS tb (schema_name, table_name, key, deleted_at, updated_at, job_id)
  SELECT ${schema}, ${table}, ${keyText(spec, 'd')}, ${deletedAt}, ${updated}, $1::text FROM ${source} AS d${where}
  ON CONFLICT (schema_name, table_name, key) DO UPDATE SET
    deleted_at = LEAST(tb.deleted_at, excluded.deleted_at),
    updated_at = GREATEST(tb.updated_at, excluded.updated_at),
    job_id = excluded.job_id`;
}

export function insertColumnList(spec: TableSpec): { insert: string[]; select: string[] } {
  return {
    insert: [
      ...spec.columns.map((c) => quoteIdent(c.name)),
      quoteIdent(DELETED_COLUMN),
      quoteIdent(DELETED_AT_COLUMN),
      quoteIdent(SYNCED_AT_COLUMN),
      quoteIdent(JOB_ID_COLUMN),
    ],
    select: [...spec.columns.map((c) => quoteIdent(c.name)), DEL, `CASE WHEN ${DEL} THEN ${SEEN} END`, 'now()', '$1::text'],
  };
}

/** Which deduplicated rows go into the table: soft keeps deleted rows flagged; hard and ignore keep live rows. */
function rowsToInsert(spec: TableSpec): string {
  if (spec.deletes === 'soft') return 'dedup';
  if (spec.deletes === 'ignore') return `dedup WHERE NOT ${DEL}`;
  return `dedup WHERE NOT ${DEL} AND ${notTombstoned(spec, 'dedup')}`;
}

/**
 * First load into a table created in this transaction (no key yet, nothing to conflict with): a plain INSERT of
 * the deduplicated rows; addPrimaryKey follows. $1: job id. Returns one row: upserted, deleted.
 */
export function insertIntoNewTable(spec: TableSpec, stages: StagedFile[]): string {
  checkStages(stages);
  const { insert, select } = insertColumnList(spec);
  const parts = [
    ...dedupedSource(spec, stages),
    `ins AS (
  INSERT INTO ${qualifiedName(spec)} (${insert.join(', ')})
  SELECT ${select.join(', ')} FROM ${rowsToInsert(spec)}
  RETURNING ${quoteIdent(DELETED_COLUMN)} AS d
)`,
  ];
  if (spec.deletes === 'hard') parts.push(`tomb AS (\n  ${insertTombstones(spec, 'dedup', `d.${SEEN}`, ` WHERE d.${DEL}`)}\n)`);
  return `${parts.join(',\n')}\nSELECT (SELECT count(*) FROM ins WHERE NOT d) AS upserted, (SELECT count(*) FROM ins WHERE d) AS deleted`;
}

/**
 * One statement applying every staged file of a table to an existing one: dedupe, upsert live rows (and
 * soft-deleted ones), hard-delete when asked (with tombstones). $1: job id. Returns one row: upserted, deleted.
 */
export function mergeStaged(spec: TableSpec, stages: StagedFile[]): string {
  checkStages(stages);
  const q = quoteIdent;
  const target = qualifiedName(spec);
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
    `${q(DELETED_AT_COLUMN)} = CASE WHEN excluded.${q(DELETED_COLUMN)} THEN COALESCE(t.${q(DELETED_AT_COLUMN)}, excluded.${q(DELETED_AT_COLUMN)}) END`,
    `${q(SYNCED_AT_COLUMN)} = excluded.${q(SYNCED_AT_COLUMN)}`,
    `${q(JOB_ID_COLUMN)} = excluded.${q(JOB_ID_COLUMN)}`,
  ];
  const before = [...nonKey.map((c) => `t.${q(c.name)}`), `t.${q(DELETED_COLUMN)}`];
  const after = [...nonKey.map(newValue), `excluded.${q(DELETED_COLUMN)}`];
  const { insert, select } = insertColumnList(spec);

  const parts = [
    ...dedupedSource(spec, stages),
    `up AS (
  INSERT INTO ${target} AS t (${insert.join(', ')})
  SELECT ${select.join(', ')} FROM ${rowsToInsert(spec)}
  ON CONFLICT (${keys}) DO UPDATE SET ${set.join(', ')}
  WHERE ${mayReplace(spec, 't', 'excluded')}
    AND ROW(${before.join(', ')}) IS DISTINCT FROM ROW(${after.join(', ')})
  RETURNING t.${q(DELETED_COLUMN)} AS d
)`,
  ];
  // The delete touches only keys whose winning row is deleted, the upsert only the others: they never meet.
  if (spec.deletes === 'hard') {
    parts.push(`del AS (
  DELETE FROM ${target} AS t USING dedup AS d
  WHERE d.${DEL} AND ${keyMatch(spec, 't', 'd')} AND ${notOlder(spec, 't', 'd')}
  RETURNING 1
)`);
    parts.push(`tomb AS (\n  ${insertTombstones(spec, 'dedup', `d.${SEEN}`, ` WHERE d.${DEL}`)}\n)`);
  }
  const deleted =
    spec.deletes === 'hard' ? '(SELECT count(*) FROM del)' : spec.deletes === 'soft' ? '(SELECT count(*) FROM up WHERE d)' : '0';
  return `${parts.join(',\n')}\nSELECT (SELECT count(*) FROM up WHERE NOT d) AS upserted, ${deleted} AS deleted`;
}

/** Only the typed key columns of every staged row (for the snapshot anti-join). */
function sourceKeys(spec: TableSpec, stages: StagedFile[]): string {
  const keys = spec.primaryKey.map((key) => {
    const column = spec.columns.find((c) => c.name === key);
    if (!column) throw new ConfigError(`primary key column "${key}" of ${spec.table} is not one of its columns`);
    return `${typedColumn(column)} AS ${quoteIdent(key)}`;
  });
  return stages.map((stage) => `SELECT ${keys.join(', ')} FROM ${stageName(stage.table)} AS s`).join(' UNION ALL ');
}

/**
 * After a complete snapshot (taken at `at`): warehouse rows whose key is in none of its files, not already
 * deleted and not updated after the snapshot, are deleted (soft: flagged; hard: removed, with a tombstone).
 * Undefined for `deletes: ignore`. $1: job id. Returns one row: n.
 */
export function markMissing(spec: TableSpec, snapshot: StagedFile[], at: Date, options: { quarantined?: boolean } = {}): string | undefined {
  checkStages(snapshot);
  if (spec.deletes === 'ignore') return undefined;
  const q = quoteIdent;
  const target = qualifiedName(spec);
  // A quarantined row was in the snapshot: it is not missing, only not loadable.
  const held = options.quarantined
    ? ` AND NOT EXISTS (SELECT 1 FROM ${QUARANTINED_KEYS} AS qk WHERE qk.table_name = ${quoteLiteral(`${spec.schema}.${spec.table}`)} AND qk.key = ${keyText(spec, 't')})`
    : '';
  const absent = `NOT EXISTS (SELECT 1 FROM (${sourceKeys(spec, snapshot)}) AS k WHERE ${keyMatch(spec, 'k', 't')})${held}`;
  const updated = spec.updatedColumn === undefined ? undefined : q(spec.updatedColumn);
  const guard = updated === undefined ? '' : ` AND (t.${updated} IS NULL OR t.${updated} <= ${timestampLiteral(at)})`;
  if (spec.deletes === 'hard') {
    const returning = [...spec.primaryKey.map(q), ...(updated === undefined ? [] : [updated])];
    return `WITH gone AS (
  DELETE FROM ${target} AS t WHERE ${absent}${guard}
  RETURNING ${returning.map((c) => `t.${c}`).join(', ')}
), tomb AS (
  ${insertTombstones(spec, 'gone', timestampLiteral(at), '')}
)
SELECT count(*) AS n FROM gone`;
  }
  return `WITH marked AS (
  UPDATE ${target} AS t SET ${q(DELETED_COLUMN)} = true, ${q(DELETED_AT_COLUMN)} = ${timestampLiteral(at)}, ${q(SYNCED_AT_COLUMN)} = now(), ${q(JOB_ID_COLUMN)} = $1::text
  WHERE NOT t.${q(DELETED_COLUMN)}${guard} AND ${absent}
  RETURNING 1
)
SELECT count(*) AS n FROM marked`;
}

export type { Statement };
