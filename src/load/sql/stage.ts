// Staging: one UNLOGGED table of text columns per result file, filled by COPY (Postgres parses the CSV itself).
// Unlogged tables come back empty after a crash of the server, so staged rows are counted again before they are
// trusted (countStageRows).
import { quoteIdent, STAGE_SCHEMA, stageColumns, stageName } from './names.ts';

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

/** $1: text[] of unqualified stage table names. One row per name that exists. */
export function existingStageTables(): string {
  return `SELECT t AS name FROM unnest($1::text[]) AS t WHERE to_regclass(format('%I.%I', '${STAGE_SCHEMA}', t)) IS NOT NULL`;
}

/** Rows in each of `tables` (which must exist), in one statement: `name`, `n`. */
export function countStageRows(tables: string[]): string {
  return tables
    .map((t) => `SELECT ${quoteLiteralName(t)} AS name, count(*)::bigint AS n FROM ${stageName(t)}`)
    .join(' UNION ALL ');
}

function quoteLiteralName(table: string): string {
  // Stage names are [a-z0-9_] by construction (stageTableName); quoteIdent already vetted them via stageName.
  return `'${table.replaceAll("'", "''")}'`;
}
