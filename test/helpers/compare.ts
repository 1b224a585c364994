// Compares warehouse tables with the emulator's truth, column by column.
import pg from 'pg';
import { expect } from 'vitest';
import type { StoredRow, Value } from '../../src/emulator/model.ts';

/** snake_case as aquasync names columns (kept here independently on purpose: the test must not reuse the code under test). */
export function snake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

function normaliseTruth(value: Value, type: string): unknown {
  if (value === null || value === '') return null;
  switch (type) {
    case 'datetime':
      return Math.floor(Number(value) / 1000) * 1000;
    case 'boolean':
      return value === true || value === 'true';
    case 'decimal':
    case 'integer':
      return normaliseNumber(String(value));
    default:
      return String(value);
  }
}

function normaliseNumber(text: string): string {
  // numeric keeps the scale it was given; compare numerically exact strings without trailing zeros
  if (!text.includes('.')) return text.replace(/^(-?)0+(\d)/, '$1$2');
  return text.replace(/0+$/, '').replace(/\.$/, '').replace(/^(-?)0+(\d)/, '$1$2');
}

function normaliseWarehouse(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'datetime':
      return (value as Date).getTime();
    case 'date':
      return typeof value === 'string' ? value : (value as Date).toISOString().slice(0, 10);
    case 'decimal':
    case 'integer':
      return normaliseNumber(String(value));
    default:
      return value;
  }
}

export interface CompareOptions {
  schema: string;
  table: string;
  /** Zuora field names selected (own fields of the base object only). */
  fields: { name: string; type: string }[];
  truth: StoredRow[];
  /** How deleted rows are expected: soft = present and flagged, hard/ignore = absent/unflagged. */
  deletes: 'soft' | 'hard' | 'ignore';
}

/** Asserts the table holds exactly the truth: every live row with every value, and deleted rows per mode. */
export async function expectTableMatches(pool: pg.Pool, options: CompareOptions): Promise<void> {
  const { rows } = await pool.query(
    `select *, _aquasync_deleted as __deleted from "${options.schema}"."${options.table}" order by id`,
  );
  const byId = new Map<string, Record<string, unknown>>(rows.map((r: Record<string, unknown>) => [String(r.id), r]));
  expect(byId.size, 'no duplicate keys').toBe(rows.length);
  const live = options.truth.filter((r) => r.deletedAt === undefined);
  const deleted = options.truth.filter((r) => r.deletedAt !== undefined);

  for (const row of live) {
    const id = String(row.values.Id);
    const got = byId.get(id);
    expect(got, `row ${id} of ${options.table} is in the warehouse`).toBeDefined();
    if (!got) continue;
    expect(got.__deleted, `row ${id} is live`).toBe(false);
    for (const field of options.fields) {
      const want = normaliseTruth(row.values[field.name] ?? null, field.type);
      const have = normaliseWarehouse(got[snake(field.name)], field.type);
      expect(have, `${options.table}.${snake(field.name)} of ${id}`).toEqual(want);
    }
  }
  for (const row of deleted) {
    const got = byId.get(String(row.values.Id));
    if (options.deletes === 'soft' && got) expect(got.__deleted, `row ${String(row.values.Id)} flagged deleted`).toBe(true);
    if (options.deletes === 'hard') expect(got, `row ${String(row.values.Id)} removed`).toBeUndefined();
  }
  const liveIds = new Set(live.map((r) => String(r.values.Id)));
  const extra = rows.filter((r: Record<string, unknown>) => !liveIds.has(String(r.id)) && r.__deleted === false);
  expect(extra.map((r: Record<string, unknown>) => r.id), 'no live rows that Zuora does not have').toEqual([]);
}
