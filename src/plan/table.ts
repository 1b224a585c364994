// How one CSV header maps onto one warehouse table: column names and types, key, UpdatedDate column, deleted flag.
import type { ObjectConfig } from '../config/types.ts';
import { ConfigError, DataError } from '../errors.ts';
import type { ObjectDescription } from '../zuora/types.ts';
import { ZUORA_DELETED_COLUMN } from './deleted.ts';
import { columnNameFor } from './names.ts';
import { pgTypeFor } from './pg-types.ts';
import type { ColumnSpec, PgType, TableSpec } from './types.ts';
import { expectedHeaders } from './zoql.ts';
import { outsideList, outsideText } from '../text.ts';

/** Warehouse columns starting with this belong to aquasync (`_aquasync_deleted`, ...); no Zuora field may map there. */
export const RESERVED_COLUMN_PREFIX = '_aquasync_';

export interface PlanTableArgs {
  schema: string;
  object: ObjectConfig;
  /** The CSV header row as Zuora wrote it. */
  header: string[];
  /** Deleted-flag column name requested from Zuora; defaults to IsDeleted. */
  deletedColumn?: string;
  describe: (objectName: string) => ObjectDescription | undefined;
}

function split(header: string): { prefix: string | undefined; field: string } {
  const dot = header.indexOf('.');
  if (dot < 0) return { prefix: undefined, field: header };
  return { prefix: header.slice(0, dot), field: header.slice(dot + 1) };
}

function describedType(description: ObjectDescription | undefined, field: string): PgType {
  const lower = field.toLowerCase();
  const described = description?.fields.find((candidate) => candidate.name.toLowerCase() === lower);
  return described ? pgTypeFor(described.type) : 'text';
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
// Header cells come from the result file: shown on one line, few and short (a file may have 10,000 columns).
const list = (items: readonly string[]): string => outsideList(items);
const cell = (name: string): string => outsideText(name, 80);

export function planTable(args: PlanTableArgs): TableSpec {
  const { schema, object, header } = args;
  const base = object.name;
  if (header.length === 0) {
    throw new DataError(`CSV header of ${base} is empty`, { context: { object: base } });
  }
  const deletedName = `${base}.${args.deletedColumn ?? ZUORA_DELETED_COLUMN}`;
  const deletedIndex = header.findIndex((name) => same(name, deletedName));
  const deletedPosition = deletedIndex < 0 ? undefined : deletedIndex;
  const deletedHeader = deletedPosition === undefined ? undefined : header[deletedPosition];
  // Each data column keeps its CSV position: the staging table has one column per header cell, c0..cN.
  const data = header.map((name, position) => ({ name, position })).filter((h) => h.position !== deletedPosition);
  const dataHeaders = data.map((h) => h.name);

  const expected = expectedHeaders(object);
  if (
    expected &&
    (expected.length !== dataHeaders.length || expected.some((name, i) => !same(name, dataHeaders[i] ?? '')))
  ) {
    throw new DataError(
      `CSV header of ${base} does not match the query: expected ${list(expected)}, got ${list(dataHeaders)}`,
      {
        hint: 'the job must be submitted with useQueryLabels "true"; if the query changed, run a new job',
        context: { object: base },
      },
    );
  }

  const baseDescription = args.describe(base);
  const seen = new Map<string, string>();
  const columns: ColumnSpec[] = data.map(({ name, position }) => {
    const { prefix, field } = split(name);
    const joined = prefix !== undefined && !same(prefix, base);
    const column = columnNameFor(name, base);
    const previous = seen.get(column);
    if (previous !== undefined) {
      throw new DataError(`CSV headers "${cell(previous)}" and "${cell(name)}" of ${base} both map to column "${cell(column)}"`, {
        hint: 'remove one of them from the query',
        context: { object: base, column: cell(column) },
      });
    }
    seen.set(column, name);
    let type: PgType = 'text';
    if (!same(field, 'Id')) type = describedType(joined ? args.describe(prefix ?? '') : baseDescription, field);
    if (column.startsWith(RESERVED_COLUMN_PREFIX)) {
      // Only a broken or foreign file can carry such a header (config names cannot): the job is abandoned.
      throw new DataError(`CSV header "${cell(name)}" of ${base} maps to column "${cell(column)}", which is reserved for aquasync`, {
        context: { object: base, column },
      });
    }
    return { header: name, name: column, type, joined, position, overridden: false };
  });

  for (const [column, type] of Object.entries(object.types)) {
    const target = columns.find((candidate) => candidate.name === column);
    if (!target) {
      throw new ConfigError(
        `type override for "${column}" of ${base}: no such column (columns: ${columns.map((c) => c.name).join(', ')})`,
        { hint: 'keys of `types` are warehouse column names (snake_case), e.g. balance or invoice_id' },
      );
    }
    target.type = type;
    target.overridden = true;
  }

  const primaryKey = object.primaryKey.map((field) => {
    const column = columnNameFor(field, base);
    if (!columns.some((candidate) => candidate.name === column)) {
      throw new DataError(`primary key field ${field} of ${base} is not in the CSV header ${list(dataHeaders)}`, {
        hint: `select ${field} in the query of ${base} or change its primaryKey`,
        context: { object: base, field },
      });
    }
    return column;
  });

  const updated = dataHeaders.find((name) => same(name, `${base}.UpdatedDate`));
  return {
    schema,
    table: object.table,
    object: base,
    columns,
    primaryKey,
    updatedColumn: updated === undefined ? undefined : columnNameFor(updated, base),
    deletedHeader,
    deletedPosition,
    deletes: object.deletes,
  };
}
