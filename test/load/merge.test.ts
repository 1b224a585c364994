// ensureTable and mergeStaged on real Postgres: last-writer-wins, dedupe, deletes, full snapshots, no-op re-runs.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, WarehouseError } from '../../src/errors.ts';
import { ensureTable } from '../../src/load/index.ts';
import type { TableSpec } from '../../src/plan/types.ts';
import { createTestDatabase, type TestDatabase, testPool } from '../helpers/db.ts';
import { accountSpec, HEADER, load, toCsv } from './fixtures.ts';

let db: TestDatabase;
let pool: pg.Pool;
let tableNo = 0;

beforeAll(async () => {
  db = await createTestDatabase('load_merge');
  pool = testPool({ connectionString: db.url, max: 4 });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** A fresh table per test, so tests do not see each other's rows. */
function spec(overrides: Partial<TableSpec> = {}): TableSpec {
  tableNo += 1;
  return accountSpec({ table: `account_${tableNo}`, ...overrides });
}

type Row = [deleted: string, id: string, name: string | null, balance: string | null, updated: string | null, billTo: string | null];
const file = (...rows: Row[]): string => toCsv([HEADER, ...rows]);
const T1 = '2024-01-01T00:00:00+0000';
const T2 = '2024-02-01T00:00:00+0000';
const T3 = '2024-03-01T00:00:00+0000';

async function rows(s: TableSpec): Promise<{ id: string; name: string | null; bill_to_id: string | null; deleted: boolean }[]> {
  const result = await pool.query(
    `SELECT id, name, bill_to_id, _aquasync_deleted AS deleted FROM ${s.schema}.${s.table} ORDER BY id`,
  );
  return result.rows;
}

describe('ensureTable', () => {
  it('creates the table, then adds new columns and reports type mismatches without changing them', async () => {
    const s = spec();
    const client = await pool.connect();
    try {
      expect(await ensureTable(client, s)).toEqual({ created: true, addedColumns: [], typeMismatches: [] });
      expect(await ensureTable(client, s)).toEqual({ created: false, addedColumns: [], typeMismatches: [] });
      const changed: TableSpec = {
        ...s,
        columns: [
          ...s.columns.map((c) => (c.name === 'balance' ? { ...c, type: 'numeric(22,9)' } : c.name === 'name' ? { ...c, type: 'TEXT' } : c)),
          { header: 'Account.Status', name: 'Status "quoted"', type: 'boolean', joined: false },
        ],
      };
      expect(await ensureTable(client, changed)).toEqual({
        created: false,
        addedColumns: ['Status "quoted"'],
        typeMismatches: [{ column: 'balance', existing: 'numeric', wanted: 'numeric(22,9)' }],
      });
      const columns = await client.query(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'wh' AND table_name = $1 ORDER BY ordinal_position`,
        [s.table],
      );
      expect(columns.rows.map((r) => `${r.column_name}:${r.data_type}`)).toEqual([
        'id:text',
        'name:text',
        'balance:numeric',
        'updated_date:timestamp with time zone',
        'bill_to_id:text',
        '_aquasync_deleted:boolean',
        '_aquasync_synced_at:timestamp with time zone',
        '_aquasync_job_id:text',
        'Status "quoted":boolean',
      ]);
    } finally {
      client.release();
    }
  });

  it('adds the system columns to a table the user made, and refuses one without a usable key', async () => {
    const s = spec();
    await pool.query(`CREATE TABLE wh.${s.table} (id text PRIMARY KEY, name varchar(20))`);
    const client = await pool.connect();
    try {
      const result = await ensureTable(client, s);
      expect(result.addedColumns).toEqual(['balance', 'updated_date', 'bill_to_id', '_aquasync_deleted', '_aquasync_synced_at', '_aquasync_job_id']);
      expect(result.typeMismatches).toEqual([{ column: 'name', existing: 'character varying(20)', wanted: 'text' }]);
      const nokey = spec();
      await client.query(`CREATE TABLE wh.${nokey.table} (id text, name text)`);
      await expect(ensureTable(client, nokey)).rejects.toThrow(WarehouseError);
    } finally {
      client.release();
    }
  });
});

describe('applyStaged: first load into a new table (plain INSERT, key added after)', () => {
  it('resolves duplicates like the merge, keeps soft tombstones and ends with the primary key in place', async () => {
    const s = spec();
    const result = await load(
      pool,
      s,
      [
        file(['false', 'a', 'a-old', '1', T1, null], ['true', 'b', 'b-gone', '1', T2, 'c1'], ['false', 'a', 'a-new', '2', T2, null]),
        file(['false', 'c', 'c-seg1', '3', T1, null]),
      ],
      { viaApply: true },
    );
    expect(result).toMatchObject({ upserted: 2, deleted: 1, missingMarkedDeleted: 0 });
    expect(await rows(s)).toEqual([
      { id: 'a', name: 'a-new', bill_to_id: null, deleted: false },
      { id: 'b', name: 'b-gone', bill_to_id: 'c1', deleted: true },
      { id: 'c', name: 'c-seg1', bill_to_id: null, deleted: false },
    ]);
    const key = await pool.query(
      `SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'`,
      [`${s.schema}.${s.table}`],
    );
    expect(key.rowCount).toBe(1);
    // The second load finds the table and merges, guard included.
    expect(await load(pool, s, [file(['false', 'a', 'older', '0', T1, null])], { viaApply: true })).toMatchObject({ upserted: 0 });
    expect(await load(pool, s, [file(['false', 'a', 'newer', '0', T3, null])], { viaApply: true })).toMatchObject({ upserted: 1 });
    expect((await rows(s)).map((r) => r.name)).toEqual(['newer', 'b-gone', 'c-seg1']);
  });

  it('skips deleted rows for hard deletes on a first load', async () => {
    const s = spec({ deletes: 'hard' });
    const result = await load(pool, s, [file(['false', 'a', 'kept', '1', T1, null], ['true', 'b', 'gone', '1', T1, null])], { viaApply: true });
    expect(result).toMatchObject({ upserted: 1, deleted: 0 });
    expect((await rows(s)).map((r) => r.id)).toEqual(['a']);
  });

  it('reports an empty key as a DataError and leaves no table behind', async () => {
    const s = spec();
    await expect(load(pool, s, [file(['false', '', 'no key', '1', T1, null])], { viaApply: true })).rejects.toBeInstanceOf(DataError);
    const exists = await pool.query('SELECT to_regclass($1) AS t', [`${s.schema}.${s.table}`]);
    expect(exists.rows[0]?.t).toBeNull();
  });
});

describe('mergeStaged', () => {
  it('applies a newer row and ignores an older one (UpdatedDate guard)', async () => {
    const s = spec();
    expect(await load(pool, s, [file(['false', 'a', 'v1', '1', T2, 'c'])])).toMatchObject({ upserted: 1 });
    expect(await load(pool, s, [file(['false', 'a', 'v2', '2', T3, 'c'])])).toMatchObject({ upserted: 1 });
    expect(await load(pool, s, [file(['false', 'a', 'old', '0', T1, 'c'])])).toMatchObject({ upserted: 0 });
    // Same UpdatedDate, different content: the later job wins.
    expect(await load(pool, s, [file(['false', 'a', 'v3', '2', T3, 'c'])])).toMatchObject({ upserted: 1 });
    expect((await rows(s)).map((r) => r.name)).toEqual(['v3']);
  });

  it('resolves duplicates inside a file: newest UpdatedDate first, then the last occurrence', async () => {
    const s = spec();
    const result = await load(pool, s, [
      file(
        ['false', 'a', 'a-first', '1', T1, null],
        ['false', 'b', 'b-newest', '1', T3, null],
        ['false', 'a', 'a-newer', '1', T2, null],
        ['false', 'b', 'b-older-but-later', '1', T1, null],
        ['false', 'a', 'a-last-of-newest', '1', T2, null],
      ),
    ]);
    expect(result.upserted).toBe(2);
    expect((await rows(s)).map((r) => r.name)).toEqual(['a-last-of-newest', 'b-newest']);
  });

  it('resolves duplicates across segments by ordinal', async () => {
    const s = spec();
    const result = await load(pool, s, [
      file(['false', 'a', 'seg0', '1', T1, null], ['false', 'b', 'seg0-newer', '1', T2, null]),
      file(['false', 'a', 'seg1', '1', T1, null], ['false', 'b', 'seg1-older', '1', T1, null]),
    ]);
    expect(result.upserted).toBe(2);
    expect((await rows(s)).map((r) => r.name)).toEqual(['seg1', 'seg0-newer']);
  });

  it('soft-deletes, keeps joined columns, inserts tombstones, honours the guard and restores', async () => {
    const s = spec();
    await load(pool, s, [file(['false', 'a', 'Acme', '5', T1, 'contact-1'], ['false', 'b', 'Beta', '5', T3, 'contact-2'])]);
    const result = await load(pool, s, [
      file(
        ['true', 'a', 'Acme (gone)', '5', T2, null], // joined column empty, as Zuora writes deleted rows
        ['1', 'b', 'Beta', '5', T2, null], // older than the warehouse row: ignored
        ['true', 'x', 'Never seen', '0', T2, null], // unknown key: tombstone
      ),
    ]);
    expect(result).toEqual({ upserted: 0, deleted: 2, missingMarkedDeleted: 0 });
    expect(await rows(s)).toEqual([
      { id: 'a', name: 'Acme (gone)', bill_to_id: 'contact-1', deleted: true },
      { id: 'b', name: 'Beta', bill_to_id: 'contact-2', deleted: false },
      { id: 'x', name: 'Never seen', bill_to_id: null, deleted: true },
    ]);
    expect(await load(pool, s, [file(['false', 'a', 'Acme again', '5', T3, 'contact-3'])])).toMatchObject({ upserted: 1, deleted: 0 });
    expect((await rows(s))[0]).toEqual({ id: 'a', name: 'Acme again', bill_to_id: 'contact-3', deleted: false });
  });

  it('hard-deletes keys, guarded by UpdatedDate', async () => {
    const s = spec({ deletes: 'hard' });
    await load(pool, s, [file(['false', 'a', 'A', '1', T1, null], ['false', 'b', 'B', '1', T3, null], ['false', 'c', 'C', '1', T1, null])]);
    const result = await load(pool, s, [
      file(['true', 'a', 'A', '1', T2, null], ['true', 'b', 'B', '1', T2, null], ['true', 'x', 'X', '1', T2, null], ['false', 'd', 'D', '1', T2, null]),
    ]);
    expect(result).toEqual({ upserted: 1, deleted: 1, missingMarkedDeleted: 0 });
    expect((await rows(s)).map((r) => r.id)).toEqual(['b', 'c', 'd']);
  });

  it('ignores deleted rows with deletes: ignore', async () => {
    const s = spec({ deletes: 'ignore' });
    await load(pool, s, [file(['false', 'a', 'A', '1', T1, 'c1'])]);
    const result = await load(pool, s, [file(['true', 'a', 'A gone', '1', T2, null], ['true', 'x', 'X', '1', T2, null])]);
    expect(result).toEqual({ upserted: 0, deleted: 0, missingMarkedDeleted: 0 });
    expect(await rows(s)).toEqual([{ id: 'a', name: 'A', bill_to_id: 'c1', deleted: false }]);
  });

  it.each([
    ['soft', 2, ['a:live', 'b:deleted', 'c:deleted', 'd:live', 'e:deleted']],
    // hard mirrors Zuora: a leftover flagged row absent from the snapshot goes too.
    ['hard', 3, ['a:live', 'd:live']],
    ['ignore', 0, ['a:live', 'b:live', 'c:live', 'd:live', 'e:deleted']],
  ] as const)('full snapshot with deletes: %s marks the missing rows', async (deletes, marked, expected) => {
    const s = spec({ deletes });
    await load(pool, s, [
      file(
        ['false', 'a', 'A', '1', T1, null],
        ['false', 'b', 'B', '1', T1, null],
        ['false', 'c', 'C', '1', null, null], // no UpdatedDate: missing means deleted
        ['false', 'd', 'D', '1', T3, null], // changed after the snapshot was taken: kept
      ),
    ]);
    // A row flagged deleted earlier (e.g. while the table used deletes: soft).
    await pool.query(`INSERT INTO wh.${s.table} (id, _aquasync_deleted) VALUES ('e', true)`);
    const result = await load(pool, s, [file(['false', 'a', 'A', '1', T1, null])], { full: true, snapshotAt: new Date('2024-02-15T00:00:00Z'), jobId: 'full-1' });
    expect(result).toEqual({ upserted: 0, deleted: 0, missingMarkedDeleted: marked });
    expect((await rows(s)).map((r) => `${r.id}:${r.deleted ? 'deleted' : 'live'}`)).toEqual(expected);
    if (deletes === 'soft') {
      const jobs = await pool.query(`SELECT id, _aquasync_job_id AS job FROM wh.${s.table} WHERE id IN ('b', 'c') ORDER BY id`);
      expect(jobs.rows).toEqual([{ id: 'b', job: 'full-1' }, { id: 'c', job: 'full-1' }]);
    }
  });

  it('writes nothing when the same data is merged again (xmin unchanged)', async () => {
    const s = spec();
    const data = [
      file(
        ['false', 'a', 'A', '12345678901234567890.123456789', T1, 'c1'],
        ['false', 'b', null, '-1', null, null],
        ['true', 'c', 'C', '0', T2, null],
      ),
    ];
    expect(await load(pool, s, data, { jobId: 'first' })).toEqual({ upserted: 2, deleted: 1, missingMarkedDeleted: 0 });
    const before = await pool.query(`SELECT id, xmin::text AS xmin, balance::text AS balance FROM wh.${s.table} ORDER BY id`);
    expect(await load(pool, s, data, { jobId: 'second' })).toEqual({ upserted: 0, deleted: 0, missingMarkedDeleted: 0 });
    expect(await load(pool, s, data, { jobId: 'third', full: true })).toEqual({ upserted: 0, deleted: 0, missingMarkedDeleted: 0 });
    const after = await pool.query(`SELECT id, xmin::text AS xmin, balance::text AS balance, _aquasync_job_id AS job FROM wh.${s.table} ORDER BY id`);
    expect(after.rows.map(({ id, xmin, balance }) => ({ id, xmin, balance }))).toEqual(before.rows);
    expect(after.rows.map((r) => r.job)).toEqual(['first', 'first', 'first']);
    expect(after.rows[0]?.balance).toBe('12345678901234567890.123456789');
  });

  it('works with a composite key, no UpdatedDate and no deleted flag', async () => {
    const s: TableSpec = {
      schema: 'wh',
      table: `line_${++tableNo}`,
      object: 'InvoiceItem',
      columns: [
        { header: 'Invoice.Id', name: 'invoice_id', type: 'text', joined: true },
        { header: 'InvoiceItem.Line', name: 'line', type: 'bigint', joined: false },
        { header: 'InvoiceItem.Amount', name: 'amount', type: 'numeric(22,9)', joined: false },
      ],
      primaryKey: ['invoice_id', 'line'],
      updatedColumn: undefined,
      deletedHeader: undefined,
      deletes: 'hard',
    };
    const header = ['Invoice.Id', 'InvoiceItem.Line', 'InvoiceItem.Amount'];
    await load(pool, s, [toCsv([header, ['i1', '1', '10'], ['i1', '2', '20'], ['i2', '1', '30'], ['i1', '1', '11']])]);
    const result = await load(pool, s, [toCsv([header, ['i1', '1', '12'], ['i2', '1', '30']])], { full: true });
    expect(result).toEqual({ upserted: 1, deleted: 0, missingMarkedDeleted: 1 });
    const data = await pool.query(`SELECT invoice_id, line::text AS line, amount::text AS amount FROM wh.${s.table} ORDER BY 1, 2`);
    expect(data.rows).toEqual([
      { invoice_id: 'i1', line: '1', amount: '12.000000000' },
      { invoice_id: 'i2', line: '1', amount: '30.000000000' },
    ]);
  });

  it.each([
    ['a value the type cannot read', ['false', 'a', 'A', 'twelve', T1, null] as Row, /invalid input syntax for type numeric: "twelve"/],
    ['an empty primary key', ['false', '', 'A', '1', T1, null] as Row, /null value in column "id"/],
  ])('turns %s into a DataError', async (_name, row, message) => {
    const s = spec();
    const error = await load(pool, s, [file(row)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).message).toMatch(/^merging Account into wh\.account_\d+: /);
    expect((error as DataError).message).toMatch(message);
  });
});
