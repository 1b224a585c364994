// The one oracle every end-to-end test and the chaos trials judge the warehouse by: a table compared with the
// emulator's truth on every column of every live row, every deletion checked against the table's delete mode
// (soft: present and flagged; hard: absent; ignore: present and live), no duplicate key, no row Zuora never had.
// Kept independent of the code under test on purpose (its own snake_case, its own value normalisation).
import type pg from 'pg';
import { expect } from 'vitest';
import { OBJECTS } from '../../src/emulator/schema.ts';
import type { StoredRow, Value } from '../../src/emulator/model.ts';

function snake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

interface FieldCheck {
  name: string;
  type: string;
  /** Warehouse column. */
  column: string;
  /** For a joined `Rel.Id`: the base object's foreign-key field that holds it (Account.BillToId for BillToContact). */
  via?: string;
}

function fieldTypes(object: string, fields: string[]): FieldCheck[] {
  const def = OBJECTS.find((o) => o.name === object);
  if (!def) throw new Error(`emulator has no object ${object}`);
  return fields.map((name) => {
    const dot = name.indexOf('.');
    if (dot < 0) return { name, type: def.fields.find((f) => f.name === name)?.type ?? 'text', column: snake(name) };
    const relationship = name.slice(0, dot);
    const via = def.related[relationship]?.via;
    if (!via || name.slice(dot + 1) !== 'Id') throw new Error(`the oracle compares joined Ids only, not ${object}.${name}`);
    return { name, type: 'text', column: `${snake(relationship)}_id`, via };
  });
}

function normaliseNumber(text: string): string {
  if (!text.includes('.')) return text.replace(/^(-?)0+(\d)/, '$1$2');
  return text.replace(/0+$/, '').replace(/\.$/, '').replace(/^(-?)0+(\d)/, '$1$2');
}

function truthValue(value: Value, type: string): unknown {
  if (value === null || value === '') return null;
  if (type === 'datetime') return Math.floor(Number(value) / 1000) * 1000;
  if (type === 'boolean') return value === true || value === 'true';
  if (type === 'decimal' || type === 'integer') return normaliseNumber(String(value));
  // Postgres text cannot hold NUL: aquasync removes it (documented).
  return String(value).replaceAll('\u0000', '');
}

function warehouseValue(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'datetime') return (value as Date).getTime();
  if (type === 'date') return typeof value === 'string' ? value : (value as Date).toISOString().slice(0, 10);
  if (type === 'decimal' || type === 'integer') return normaliseNumber(String(value));
  return value;
}

export interface TableCheck {
  object: string;
  table: string;
  fields: string[];
}


export interface DiffOptions {
  /** Only rows whose last change is before this instant must be present and equal (watermark check). */
  changedBefore?: number;
  /** How deletions must look: soft = present and flagged, hard = absent, ignore = present and live (default soft). */
  deletes?: 'soft' | 'hard' | 'ignore';
  /**
   * Start of the first job the warehouse loaded: a row deleted before it was never exported (full loads hold no
   * deleted rows), so in soft mode it may be absent. Every later deletion must show. Default: any deletion may be
   * absent (the lenient check).
   */
  firstLoadAt?: number;
  /** Rows not compared (their poison values were quarantined: the warehouse keeps an older version, or none). */
  skipIds?: ReadonlySet<string>;
  /** The current rows of joined objects, by object name, so a joined Id is compared only while its row exists. */
  related?: Readonly<Record<string, StoredRow[]>>;
}

/**
 * Differences between one warehouse table and the truth: missing or extra live rows, any column that differs, a
 * deletion not applied exactly as the delete mode says, duplicate keys. Returns [] when they agree.
 */
export async function diffTable(
  pool: pg.Pool,
  schema: string,
  check: TableCheck,
  truth: StoredRow[],
  options: DiffOptions = {},
): Promise<{ problems: string[]; compared: number }> {
  const problems: string[] = [];
  const deletes = options.deletes ?? 'soft';
  const exists = await pool.query('select 1 from pg_tables where schemaname = $1 and tablename = $2', [schema, check.table]);
  const rows: Record<string, unknown>[] = exists.rowCount
    ? (await pool.query(`select * from "${schema}"."${check.table}"`)).rows
    : [];
  const byId = new Map<string, Record<string, unknown>>();
  for (const row of rows) {
    const id = String(row.id);
    if (byId.has(id)) problems.push(`${check.table}: duplicate key ${id}`);
    byId.set(id, row);
  }
  const types = fieldTypes(check.object, check.fields);
  const cutoff = options.changedBefore;
  let compared = 0;
  const liveIdsOf = (object: string): Set<string> =>
    new Set((options.related?.[object] ?? []).filter((r) => r.deletedAt === undefined).map((r) => String(r.values.Id)));
  const joinedLive = new Map<string, Set<string>>();
  const compareValues = (id: string, row: StoredRow, got: Record<string, unknown>, skip: string[] = []): void => {
    for (const field of types) {
      if (skip.includes(field.name)) continue;
      let raw: Value = row.values[field.name] ?? null;
      if (field.via !== undefined) {
        // AQuA joins live rows only, and a change of the joined row never re-exports this one: compare while it lives.
        const target = OBJECTS.find((o) => o.name === check.object)?.related[field.name.slice(0, field.name.indexOf('.'))]?.object ?? '';
        if (!joinedLive.has(target)) joinedLive.set(target, liveIdsOf(target));
        raw = row.values[field.via] ?? null;
        if (raw === null || !joinedLive.get(target)?.has(String(raw))) continue;
      }
      const want = truthValue(raw, field.type);
      const have = warehouseValue(got[field.column], field.type);
      if (JSON.stringify(want) !== JSON.stringify(have)) {
        problems.push(`${check.table}.${field.column} of ${id}: warehouse ${JSON.stringify(have)}, Zuora ${JSON.stringify(want)}`);
      }
    }
  };
  for (const row of truth) {
    const id = String(row.values.Id);
    if (options.skipIds?.has(id)) continue;
    const lastChange = Math.max(row.updatedAt, row.deletedAt ?? 0);
    if (cutoff !== undefined && lastChange >= cutoff) continue;
    const got = byId.get(id);
    compared++;
    if (row.deletedAt !== undefined) {
      const mustShow = options.firstLoadAt !== undefined && row.deletedAt >= options.firstLoadAt;
      if (deletes === 'hard') {
        if (got) problems.push(`${check.table}: row ${id} was deleted in Zuora but is still there (deletes: hard)`);
      } else if (deletes === 'soft') {
        if (got && got._aquasync_deleted !== true) problems.push(`${check.table}: row ${id} was deleted in Zuora but is not flagged`);
        if (!got && mustShow) problems.push(`${check.table}: row ${id} was deleted in Zuora but is absent (deletes: soft keeps it, flagged)`);
      } else if (got) {
        // ignore: the last live version seen stays live. Its values are what Zuora last exported alive (a column
        // added after the deletion never gets a value: deleted rows are not exported without a deleted spec).
        if (got._aquasync_deleted !== false) problems.push(`${check.table}: row ${id} is flagged deleted although deletes: ignore`);
      }
      continue;
    }
    if (!got) {
      problems.push(`${check.table}: row ${id} is missing`);
      continue;
    }
    if (got._aquasync_deleted !== false) problems.push(`${check.table}: live row ${id} is flagged deleted`);
    compareValues(id, row, got);
  }
  if (cutoff === undefined) {
    const known = new Set(truth.map((r) => String(r.values.Id)));
    const live = new Set(truth.filter((r) => r.deletedAt === undefined).map((r) => String(r.values.Id)));
    for (const [id, row] of byId) {
      if (!known.has(id)) problems.push(`${check.table}: row ${id} is not a row Zuora ever had`);
      else if (!live.has(id) && row._aquasync_deleted === false && deletes !== 'ignore') problems.push(`${check.table}: live row ${id} is not in Zuora`);
    }
  }
  return { problems, compared };
}


/** diffTable as a test assertion: every difference is listed in the failure. */
export async function expectTableMatches(pool: pg.Pool, schema: string, check: TableCheck, truth: StoredRow[], options: DiffOptions = {}): Promise<void> {
  const { problems } = await diffTable(pool, schema, check, truth, options);
  expect(problems, `${schema}.${check.table} equals Zuora`).toEqual([]);
}
