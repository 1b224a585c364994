// Quarantine: when a merge fails on a value Postgres cannot take (an overflowing number, an impossible date, an
// empty key...), the staged rows holding such values move to aquasync.rejected_rows (with their file, line, the raw
// CSV line and why) and the merge runs again without them. Only the failure path runs these statements.
import { ConfigError } from '../../errors.ts';
import type { ColumnSpec, TableSpec } from '../../plan/types.ts';
import { quoteIdent, quoteLiteral, stageColumn, stageColumns, stageName, STATE_SCHEMA, vetType } from './names.ts';

export interface QuarantineSource {
  pipeline: string;
  /** Zuora job id. */
  jobId: string;
  fileId: string;
  /** Unqualified stage table of the file. */
  stage: string;
  /** Columns of the file (its header length). */
  columnCount: number;
}

/**
 * Text that certainly casts to the type, as a regular expression (no anchors needed by the caller). Checked
 * before the exact test, which on Postgres 15 costs a subtransaction per value. Undefined: no shortcut.
 */
function surelyValid(type: string): string | undefined {
  const day = '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])';
  const time = '([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?';
  const zone = '(Z|[+-][01][0-9](:?[0-5][0-9])?)';
  if (type === 'text') return '';
  if (type === 'bigint') return '^-?[0-9]{1,18}$';
  if (type === 'integer') return '^-?[0-9]{1,9}$';
  if (type === 'smallint') return '^-?[0-9]{1,4}$';
  if (type === 'numeric') return '^-?[0-9]+(\\.[0-9]+)?$';
  const constrained = /^numeric\((\d+)(?:,(\d+))?\)$/.exec(type);
  if (constrained) {
    // One digit spare for rounding up; Postgres regexes allow repeat counts up to 255.
    const room = Math.min(255, Number(constrained[1]) - Number(constrained[2] ?? 0) - 1);
    return room >= 1 ? `^-?[0-9]{1,${room}}(\\.[0-9]+)?$` : undefined;
  }
  if (type === 'boolean') return '^(true|false|0|1)$';
  if (type === 'date') return `^${day}$`;
  if (/^timestamp/.test(type)) return `^${day}([T ]${time}${zone}?)?$`;
  return undefined;
}

/** SQL that is true when `ref` (staged text) casts to `type`. */
export function validInput(ref: string, type: string, exactTest: 'pg_input_is_valid' | 'aquasync'): string {
  const t = vetType(type);
  const shortcut = surelyValid(t);
  if (shortcut === '') return 'true';
  const exact =
    exactTest === 'pg_input_is_valid' ? `pg_input_is_valid(${ref}, ${quoteLiteral(t)})` : `${quoteIdent(STATE_SCHEMA)}.input_is_valid(${ref}, ${quoteLiteral(t)})`;
  // The bare-date rule of castExpression makes every valid date a valid datetime too.
  const bareDate = /^timestamp/.test(t) ? ` OR (${ref} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' AND ${validInput(ref, 'date', exactTest)})` : '';
  return `(${ref} IS NULL OR ${ref} = ''${shortcut === undefined ? '' : ` OR ${ref} ~ ${quoteLiteral(shortcut)}`}${bareDate} OR ${exact})`;
}

/** Why one staged row cannot be loaded: one phrase per bad column, NULL when the row is fine. */
function problems(spec: TableSpec, exactTest: 'pg_input_is_valid' | 'aquasync'): string {
  const keyProblems = spec.primaryKey.map((key) => {
    const column = spec.columns.find((c) => c.name === key) as ColumnSpec;
    const ref = stageColumn('s', column.position);
    return `CASE WHEN ${ref} IS NULL OR ${ref} = '' THEN ${quoteLiteral(`${column.header} (primary key) is empty`)} END`;
  });
  const valueProblems = spec.columns.map((c) => {
    const ref = stageColumn('s', c.position);
    const what = `${c.header}: ` ;
    return `CASE WHEN NOT ${validInput(ref, c.type, exactTest)} THEN ${quoteLiteral(what)} || quote_literal(left(${ref}, 200)) || ${quoteLiteral(` is not a valid ${vetType(c.type)}`)} END`;
  });
  return `concat_ws('; ', ${[...keyProblems, ...valueProblems].join(', ')})`;
}

/** Keys of the rows quarantined in this transaction: a snapshot must not take them for rows Zuora deleted. */
export const QUARANTINED_KEYS = 'aquasync_quarantined_keys';

export function createQuarantinedKeys(): string {
  return `CREATE TEMP TABLE IF NOT EXISTS ${QUARANTINED_KEYS} (table_name text NOT NULL, key text NOT NULL) ON COMMIT DROP`;
}

/** A staged row's key as text, in the form keyText gives a table row's key (raw text: the key may be the bad value). */
function stagedKeyText(spec: TableSpec, alias: string): string {
  const refs = spec.primaryKey.map((key) => stageColumn(alias, (spec.columns.find((c) => c.name === key) as ColumnSpec).position));
  return refs.length === 1 ? `(${refs[0]})` : `jsonb_build_array(${refs.join(', ')})::text`;
}

/** The staged row written back as one CSV line (RFC 4180 quoting), the way it arrived minus NUL bytes. */
function rawLine(columnCount: number): string {
  const field = (c: string): string =>
    `CASE WHEN s.${c} IS NULL THEN '' WHEN s.${c} ~ '[",\\r\\n]' OR s.${c} = '' THEN '"' || replace(s.${c}, '"', '""') || '"' ELSE s.${c} END`;
  return stageColumns(columnCount).map(field).join(" || ',' || ");
}

/** Line breaks inside the row's values, so physical line numbers can be told. */
function newlines(columnCount: number): string {
  return stageColumns(columnCount)
    .map((c) => `COALESCE(length(s.${c}) - length(replace(s.${c}, E'\\n', '')), 0)`)
    .join(' + ');
}

/**
 * Moves every staged row of one file that cannot be loaded into aquasync.rejected_rows (one entry per distinct raw
 * line and table: seeing it again only counts it) and deletes it from the stage, keeping its key in
 * QUARANTINED_KEYS (create it first with createQuarantinedKeys). Returns one row: n (rows moved).
 */
export function quarantineRows(spec: TableSpec, source: QuarantineSource, exactTest: 'pg_input_is_valid' | 'aquasync'): string {
  if (!Number.isSafeInteger(source.columnCount) || source.columnCount < 1) {
    throw new ConfigError(`stage ${source.stage}: invalid column count ${source.columnCount}`);
  }
  const rejected = `${quoteIdent(STATE_SCHEMA)}.rejected_rows`;
  const stage = stageName(source.stage);
  return `WITH lines AS (
  SELECT s.*, 1 + s.seq + COALESCE(sum(${newlines(source.columnCount)}) OVER (ORDER BY s.seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS _aquasync_line
  FROM ${stage} AS s
), bad AS (
  SELECT s.seq, s._aquasync_line AS line, ${rawLine(source.columnCount)} AS raw, ${problems(spec, exactTest)} AS reason,
    ${stagedKeyText(spec, 's')} AS key
  FROM lines AS s
), rejected AS (
  SELECT * FROM bad WHERE reason <> ''
), kept AS (
  INSERT INTO ${rejected} AS r (pipeline, object, table_name, job_id, file_id, line, record, raw_line, error, fingerprint)
  SELECT DISTINCT ON (md5(raw)) ${quoteLiteral(source.pipeline)}, ${quoteLiteral(spec.object)}, ${quoteLiteral(spec.table)},
    ${quoteLiteral(source.jobId)}, ${quoteLiteral(source.fileId)}, line, seq, raw, reason, md5(raw)
  FROM rejected ORDER BY md5(raw), seq
  ON CONFLICT (pipeline, table_name, fingerprint) DO UPDATE SET
    last_seen_at = now(), times_seen = r.times_seen + 1, job_id = excluded.job_id, file_id = excluded.file_id,
    line = excluded.line, record = excluded.record, error = excluded.error, resolved_at = NULL
  RETURNING 1
), gone AS (
  DELETE FROM ${stage} AS s USING rejected WHERE s.seq = rejected.seq RETURNING 1
), held AS (
  INSERT INTO ${QUARANTINED_KEYS} (table_name, key) SELECT ${quoteLiteral(`${spec.schema}.${spec.table}`)}, key FROM rejected WHERE key <> ''
)
SELECT (SELECT count(*) FROM gone) AS n, (SELECT count(*) FROM kept) AS entries`;
}

/** True on servers that have pg_input_is_valid (Postgres 16 and later). */
export function hasInputIsValid(): string {
  return `SELECT current_setting('server_version_num')::int >= 160000 AS yes`;
}
