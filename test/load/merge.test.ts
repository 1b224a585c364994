// ensureTable and mergeStaged on real Postgres: last-writer-wins, dedupe, deletes, full snapshots, no-op re-runs.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WarehouseError } from '../../src/errors.ts';
import { ensureTable, markRowsDeleted } from '../../src/load/index.ts';
import type { TableSpec } from '../../src/plan/types.ts';
import { migrate, openWarehouse } from '../../src/db/index.ts';
import { createTestDatabase, type TestDatabase, testPool } from '../helpers/db.ts';
import { accountSpec, HEADER, load, toCsv } from './fixtures.ts';

let db: TestDatabase;
let pool: pg.Pool;
let tableNo = 0;

beforeAll(async () => {
  db = await createTestDatabase('load_merge');
  // Tombstones and quarantined rows live in the state schema.
  const warehouse = await openWarehouse({ databaseUrl: db.url });
  await migrate(warehouse.db);
  await warehouse.close();
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
  it('creates the table, adds new columns, retypes overridden columns and keeps (and casts to) other existing types', async () => {
    const s = spec();
    const client = await pool.connect();
    try {
      await client.query('BEGIN'); // ensureTable runs in the apply transaction (a retype uses a savepoint)
      expect(await ensureTable(client, s)).toMatchObject({ created: true, addedColumns: [], retypedColumns: [], typeMismatches: [] });
      expect(await ensureTable(client, s)).toMatchObject({ created: false, addedColumns: [], retypedColumns: [], typeMismatches: [] });
      const changed: TableSpec = {
        ...s,
        columns: [
          ...s.columns.map((c) =>
            c.name === 'balance'
              ? { ...c, type: 'numeric(22,9)', overridden: true }
              : c.name === 'name'
                ? { ...c, type: 'TEXT' }
                : c.name === 'updated_date'
                  ? { ...c, type: 'text' } // as if describe said text: the column stays timestamptz
                  : c,
          ),
          { header: 'Account.Status', name: 'Status "quoted"', type: 'boolean', joined: false, position: 6, overridden: false },
        ],
      };
      const result = await ensureTable(client, changed);
      expect(result).toMatchObject({
        created: false,
        addedColumns: ['Status "quoted"'],
        retypedColumns: [{ column: 'balance', existing: 'numeric', wanted: 'numeric(22,9)' }],
        typeMismatches: [{ column: 'updated_date', existing: 'timestamp with time zone', wanted: 'text' }],
      });
      expect(result.spec.columns.find((c) => c.name === 'updated_date')?.type).toBe('timestamp with time zone');
      const columns = await client.query(
        `SELECT column_name, data_type, numeric_scale FROM information_schema.columns WHERE table_schema = 'wh' AND table_name = $1 ORDER BY ordinal_position`,
        [s.table],
      );
      expect(columns.rows.map((r) => `${r.column_name}:${r.data_type}${r.numeric_scale === null ? '' : `,${r.numeric_scale}`}`)).toEqual([
        'id:text',
        'name:text',
        'balance:numeric,9',
        'updated_date:timestamp with time zone',
        'bill_to_id:text',
        '_aquasync_deleted:boolean',
        '_aquasync_deleted_at:timestamp with time zone',
        '_aquasync_synced_at:timestamp with time zone',
        '_aquasync_job_id:text',
        'Status "quoted":boolean',
      ]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  });

  it('a types: override added later changes the column, so values are no longer rounded to the old type', async () => {
    const s = spec({ columns: accountSpec().columns.map((c) => (c.name === 'balance' ? { ...c, type: 'numeric(10,2)', overridden: true } : c)) });
    await load(pool, s, [file(['false', 'a', 'A', '1234.5', T1, null])]);
    const wider = { ...s, columns: s.columns.map((c) => (c.name === 'balance' ? { ...c, type: 'numeric(22,9)' } : c)) };
    await load(pool, wider, [file(['false', 'a', 'A', '1234.56789', T2, null])], { viaApply: true });
    const { rows: stored } = await pool.query(`SELECT balance::text AS balance FROM wh.${s.table}`);
    expect(stored).toEqual([{ balance: '1234.567890000' }]);
  });

  it('adds the system columns to a table the user made, and refuses one without a usable key', async () => {
    const s = spec();
    await pool.query(`CREATE TABLE wh.${s.table} (id text PRIMARY KEY, name varchar(20))`);
    const client = await pool.connect();
    try {
      const result = await ensureTable(client, s);
      expect(result.addedColumns).toEqual(['balance', 'updated_date', 'bill_to_id', '_aquasync_deleted', '_aquasync_deleted_at', '_aquasync_synced_at', '_aquasync_job_id']);
      expect(result.typeMismatches).toEqual([{ column: 'name', existing: 'character varying(20)', wanted: 'text' }]);
      const nokey = spec();
      await client.query(`CREATE TABLE wh.${nokey.table} (id text, name text)`);
      await expect(ensureTable(client, nokey)).rejects.toThrow(WarehouseError);
    } finally {
      client.release();
    }
  });
});

// Both first-load paths must give the same table: the sorting one (files of several jobs) and the one for a single
// complete snapshot, which inserts every row unsorted and lets the key prove each key came once.
describe.each([
  ['de-duplicating sort', false],
  ['complete snapshot, key proves uniqueness', true],
])('applyStaged: first load into a new table (%s)', (_, keysLikelyDistinct) => {
  it('resolves duplicates like the merge, keeps soft tombstones and ends with the primary key in place', async () => {
    const s = spec();
    const result = await load(
      pool,
      s,
      [
        file(['false', 'a', 'a-old', '1', T1, null], ['true', 'b', 'b-gone', '1', T2, 'c1'], ['false', 'a', 'a-new', '2', T2, null]),
        file(['false', 'c', 'c-seg1', '3', T1, null]),
      ],
      { viaApply: true, keysLikelyDistinct },
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
    expect(await load(pool, s, [file(['false', 'a', 'older', '0', T1, null])], { viaApply: true, keysLikelyDistinct })).toMatchObject({ upserted: 0 });
    expect(await load(pool, s, [file(['false', 'a', 'newer', '0', T3, null])], { viaApply: true, keysLikelyDistinct })).toMatchObject({ upserted: 1 });
    expect((await rows(s)).map((r) => r.name)).toEqual(['newer', 'b-gone', 'c-seg1']);
  });

  it('skips deleted rows for hard deletes on a first load', async () => {
    const s = spec({ deletes: 'hard' });
    const result = await load(pool, s, [file(['false', 'a', 'kept', '1', T1, null], ['true', 'b', 'gone', '1', T1, null])], { viaApply: true, keysLikelyDistinct });
    expect(result).toMatchObject({ upserted: 1, deleted: 0 });
    expect((await rows(s)).map((r) => r.id)).toEqual(['a']);
  });

  it('quarantines a row with an empty key and loads the others', async () => {
    const s = spec();
    const result = await load(pool, s, [file(['false', '', 'no key', '1', T1, null], ['false', 'k', 'keyed', '1', T1, null])], { viaApply: true, keysLikelyDistinct });
    expect(result).toMatchObject({ upserted: 1, quarantined: 1 });
    expect((await rows(s)).map((r) => r.id)).toEqual(['k']);
    const { rows: rejected } = await pool.query(`SELECT error FROM aquasync.rejected_rows WHERE table_name = $1`, [s.table]);
    expect(rejected).toEqual([{ error: 'Account.Id (primary key) is empty' }]);
  });

  it('keeps hard-delete tombstones: a table dropped and loaded again does not bring deleted rows back', async () => {
    const s = spec({ deletes: 'hard' });
    await load(pool, s, [file(['false', 'a', 'A', '1', T1, null], ['true', 'b', 'B', '1', T2, null])], { viaApply: true, keysLikelyDistinct });
    await pool.query(`DROP TABLE wh.${s.table}`);
    const stale = await load(pool, s, [file(['false', 'a', 'A', '1', T1, null], ['false', 'b', 'B', '1', T1, null])], { viaApply: true, keysLikelyDistinct });
    expect(stale).toMatchObject({ upserted: 1 });
    expect((await rows(s)).map((r) => r.id)).toEqual(['a']);
  });
});

describe('applyStaged: first load of a complete snapshot', () => {
  const fast = { viaApply: true, keysLikelyDistinct: true } as const;

  async function physicalOrder(s: TableSpec): Promise<string[]> {
    return (await pool.query<{ id: string }>(`SELECT id FROM wh.${s.table} ORDER BY ctid`)).rows.map((r) => r.id);
  }

  it('inserts the rows in file order (no sort) when every key comes once, and builds the key afterwards', async () => {
    const s = spec();
    const result = await load(pool, s, [file(['false', 'c', 'C', '1', T1, null], ['false', 'a', 'A', '1', T1, null]), file(['false', 'b', 'B', '1', T1, null])], fast);
    expect(result).toMatchObject({ upserted: 3, deleted: 0, quarantined: 0, load: 'unsorted', repeatedKeys: false });
    expect(await physicalOrder(s)).toEqual(['c', 'a', 'b']);
    const key = await pool.query(`SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'`, [`wh.${s.table}`]);
    expect(key.rowCount).toBe(1);
  });

  it('stores exactly the values the sorting path stores (empty fields, bare dates, offsets, numerics)', async () => {
    const rowsOf = (...ids: string[]): Row[] => [
      ['false', ids[0] ?? '', '', '00012.50', '2024-03-10', ''],
      ['TRUE', ids[1] ?? '', 'x "quoted", y', '-0.000000001', '2024-03-10T23:59:59.123456-0800', 'c9'],
      ['', ids[2] ?? '', 'ünïcode', '', '2024-11-03 01:30:00+01:00', null],
    ];
    const slow = spec();
    const quick = spec();
    await load(pool, slow, [file(...rowsOf('a', 'b', 'c'))], { viaApply: true, jobId: 'j' });
    await load(pool, quick, [file(...rowsOf('a', 'b', 'c'))], { ...fast, jobId: 'j' });
    const cols = 'id, name, balance, updated_date, bill_to_id, _aquasync_deleted, _aquasync_job_id';
    const diff = await pool.query(
      `(SELECT ${cols} FROM wh.${slow.table} EXCEPT SELECT ${cols} FROM wh.${quick.table})
       UNION ALL (SELECT ${cols} FROM wh.${quick.table} EXCEPT SELECT ${cols} FROM wh.${slow.table})`,
    );
    expect(diff.rows).toEqual([]);
    expect((await pool.query(`SELECT count(*)::int AS n FROM wh.${quick.table}`)).rows[0].n).toBe(3);
  });

  it('falls back to the sort when a key repeats: newest UpdatedDate wins, then the later file', async () => {
    const s = spec();
    const result = await load(
      pool,
      s,
      [file(['false', 'b', 'b-newest', '1', T3, null], ['false', 'a', 'a-old', '1', T1, null]), file(['false', 'a', 'a-new', '1', T2, null], ['false', 'b', 'b-older', '1', T2, null])],
      fast,
    );
    expect(result).toMatchObject({ upserted: 2, load: 'sorted', repeatedKeys: true });
    expect((await rows(s)).map((r) => r.name)).toEqual(['a-new', 'b-newest']);
    expect(await physicalOrder(s)).toEqual(['a', 'b']); // the sorted path wrote them
  });

  it.each([['hard'], ['ignore']] as const)(
    'deletes: %s — a deleted row and a live row of one key still go through the sort (the newer, deleted, wins)',
    async (deletes) => {
      const s = spec({ deletes });
      const result = await load(pool, s, [file(['false', 'a', 'live-old', '1', T1, null], ['true', 'a', 'gone', '1', T2, null], ['false', 'k', 'K', '1', T1, null])], fast);
      expect(result).toMatchObject({ upserted: 1, deleted: 0 });
      expect((await rows(s)).map((r) => r.id)).toEqual(['k']);
    },
  );

  it('deletes: hard records a tombstone per deleted row, dated by the snapshot', async () => {
    const s = spec({ deletes: 'hard' });
    const seenAt = new Date('2024-05-01T00:00:00Z');
    const result = await load(pool, s, [file(['false', 'a', 'A', '1', T1, null], ['true', 'b', 'B', '1', T2, null])], { ...fast, seenAt });
    expect(result).toMatchObject({ upserted: 1, deleted: 0 });
    expect((await rows(s)).map((r) => r.id)).toEqual(['a']);
    const { rows: tombs } = await pool.query(`SELECT key, deleted_at, updated_at FROM aquasync.tombstones WHERE table_name = $1`, [s.table]);
    expect(tombs).toEqual([{ key: 'b', deleted_at: seenAt, updated_at: new Date(T2.replace('+0000', 'Z')) }]);
  });

  it('quarantines a value the column cannot take and loads the other rows unsorted', async () => {
    const s = spec();
    const result = await load(pool, s, [file(['false', 'z', 'Z', 'not a number', T1, null], ['false', 'y', 'Y', '1', T1, null], ['false', 'x', 'X', '2', T1, null])], fast);
    expect(result).toMatchObject({ upserted: 2, quarantined: 1 });
    expect(await physicalOrder(s)).toEqual(['y', 'x']);
  });

  it('an existing empty table is filled without the sort and without the snapshot anti-join, its key checking each row', async () => {
    const s = spec();
    await load(pool, s, [file(['false', 'a', 'A', '1', T1, null])], { viaApply: true });
    await pool.query(`DELETE FROM wh.${s.table}`);
    const first = await load(pool, s, [file(['false', 'c', 'C', '1', T1, null], ['true', 'a', 'A', '1', T1, null])], { ...fast, full: true });
    expect(first).toMatchObject({ upserted: 1, deleted: 1, missingMarkedDeleted: 0, load: 'unsorted' });
    expect(await physicalOrder(s)).toEqual(['c', 'a']);
    // Not empty any more: the merge runs, and a repeated key in an empty table falls back to it as well.
    await pool.query(`DELETE FROM wh.${s.table}`);
    const repeated = await load(pool, s, [file(['false', 'd', 'd-new', '1', T2, null], ['false', 'd', 'd-old', '1', T1, null])], fast);
    expect(repeated).toMatchObject({ upserted: 1, load: 'merge', repeatedKeys: true });
    expect((await rows(s)).map((r) => r.name)).toEqual(['d-new']);
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
    expect(result).toEqual({ upserted: 0, deleted: 2, missingMarkedDeleted: 0, quarantined: 0, load: 'merge', repeatedKeys: false });
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
    expect(result).toEqual({ upserted: 1, deleted: 1, missingMarkedDeleted: 0, quarantined: 0, load: 'merge', repeatedKeys: false });
    expect((await rows(s)).map((r) => r.id)).toEqual(['b', 'c', 'd']);
  });

  it('ignores deleted rows with deletes: ignore', async () => {
    const s = spec({ deletes: 'ignore' });
    await load(pool, s, [file(['false', 'a', 'A', '1', T1, 'c1'])]);
    const result = await load(pool, s, [file(['true', 'a', 'A gone', '1', T2, null], ['true', 'x', 'X', '1', T2, null])]);
    expect(result).toEqual({ upserted: 0, deleted: 0, missingMarkedDeleted: 0, quarantined: 0, load: 'merge', repeatedKeys: false });
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
    expect(result).toEqual({ upserted: 0, deleted: 0, missingMarkedDeleted: marked, quarantined: 0, load: 'merge', repeatedKeys: false });
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
    expect(await load(pool, s, data, { jobId: 'first' })).toEqual({ upserted: 2, deleted: 1, missingMarkedDeleted: 0, quarantined: 0, load: 'merge', repeatedKeys: false });
    const before = await pool.query(`SELECT id, xmin::text AS xmin, balance::text AS balance FROM wh.${s.table} ORDER BY id`);
    expect(await load(pool, s, data, { jobId: 'second' })).toEqual({ upserted: 0, deleted: 0, missingMarkedDeleted: 0, quarantined: 0, load: 'merge', repeatedKeys: false });
    expect(await load(pool, s, data, { jobId: 'third', full: true })).toEqual({ upserted: 0, deleted: 0, missingMarkedDeleted: 0, quarantined: 0, load: 'merge', repeatedKeys: false });
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
        { header: 'Invoice.Id', name: 'invoice_id', type: 'text', joined: true, position: 0, overridden: false },
        { header: 'InvoiceItem.Line', name: 'line', type: 'bigint', joined: false, position: 1, overridden: false },
        { header: 'InvoiceItem.Amount', name: 'amount', type: 'numeric(22,9)', joined: false, position: 2, overridden: true },
      ],
      primaryKey: ['invoice_id', 'line'],
      updatedColumn: undefined,
      deletedHeader: undefined,
      deletedPosition: undefined,
      deletes: 'hard',
    };
    const header = ['Invoice.Id', 'InvoiceItem.Line', 'InvoiceItem.Amount'];
    await load(pool, s, [toCsv([header, ['i1', '1', '10'], ['i1', '2', '20'], ['i2', '1', '30'], ['i1', '1', '11']])]);
    const result = await load(pool, s, [toCsv([header, ['i1', '1', '12'], ['i2', '1', '30']])], { full: true });
    expect(result).toEqual({ upserted: 1, deleted: 0, missingMarkedDeleted: 1, quarantined: 0, load: 'merge', repeatedKeys: false });
    const tomb = await pool.query(`SELECT key FROM aquasync.tombstones WHERE table_name = $1`, [s.table]);
    expect(tomb.rows).toEqual([{ key: '["i1", 2]' }]);
    const data = await pool.query(`SELECT invoice_id, line::text AS line, amount::text AS amount FROM wh.${s.table} ORDER BY 1, 2`);
    expect(data.rows).toEqual([
      { invoice_id: 'i1', line: '1', amount: '12.000000000' },
      { invoice_id: 'i2', line: '1', amount: '30.000000000' },
    ]);
  });

  it('quarantines rows whose values the column types cannot take, loads every other row, and counts repeats once', async () => {
    const s = spec({ columns: accountSpec().columns.map((c) => (c.name === 'balance' ? { ...c, type: 'numeric(6,2)', overridden: true } : c)) });
    const bad = file(
      ['false', 'a', 'A', '1.5', T1, null],
      ['false', 'b', 'multi\nline "name"', 'twelve', T1, null],
      ['false', 'c', 'C', '123456789', T1, null], // overflows numeric(6,2)
      ['false', 'd', 'D', '2', 'not a date', null],
    );
    const first = await load(pool, s, [bad], { jobId: 'job-q1' });
    expect(first).toMatchObject({ upserted: 1, quarantined: 3 });
    expect((await rows(s)).map((r) => r.id)).toEqual(['a']);
    const { rows: rejected } = await pool.query(
      `SELECT line::int, record::int, raw_line, error, times_seen, job_id FROM aquasync.rejected_rows WHERE table_name = $1 ORDER BY record`,
      [s.table],
    );
    expect(rejected).toEqual([
      {
        line: 3,
        record: 2,
        raw_line: `false,b,"multi\nline ""name""",twelve,${T1},`,
        error: `Account.Balance: 'twelve' is not a valid numeric(6,2)`,
        times_seen: 1,
        job_id: 'job-q1',
      },
      { line: 5, record: 3, raw_line: `false,c,C,123456789,${T1},`, error: `Account.Balance: '123456789' is not a valid numeric(6,2)`, times_seen: 1, job_id: 'job-q1' },
      { line: 6, record: 4, raw_line: 'false,d,D,2,not a date,', error: `Account.UpdatedDate: 'not a date' is not a valid timestamptz`, times_seen: 1, job_id: 'job-q1' },
    ]);
    // The same rows again (an overlapping window): no new entries, only counted.
    expect(await load(pool, s, [bad], { jobId: 'job-q2' })).toMatchObject({ quarantined: 3 });
    const { rows: again } = await pool.query(`SELECT count(*)::int AS n, sum(times_seen)::int AS seen FROM aquasync.rejected_rows WHERE table_name = $1`, [s.table]);
    expect(again).toEqual([{ n: 3, seen: 6 }]);
  });
});

describe('the deleted flag is read where the header has it', () => {
  it('loads a file whose IsDeleted column is not the first', async () => {
    const header = ['Account.Id', 'Account.Name', 'Account.IsDeleted', 'Account.Balance', 'Account.UpdatedDate', 'BillToContact.Id'];
    const base = accountSpec();
    const positions: Record<string, number> = { id: 0, name: 1, balance: 3, updated_date: 4, bill_to_id: 5 };
    const s = spec({ columns: base.columns.map((c) => ({ ...c, position: positions[c.name] as number })), deletedPosition: 2 });
    await load(pool, s, [toCsv([header, ['a', 'A', 'false', '1', T1, null], ['b', 'B', 'true', '1', T1, null]])]);
    expect(await rows(s)).toEqual([
      { id: 'a', name: 'A', bill_to_id: null, deleted: false },
      { id: 'b', name: 'B', bill_to_id: null, deleted: true },
    ]);
  });
});

describe('tombstones', () => {
  it.each([
    ['Zuora moves UpdatedDate when it deletes', T2],
    ["Zuora keeps the deleted row's UpdatedDate", T1],
  ])('a stale live version never brings back a soft-deleted row (%s)', async (_name, deletedVersion) => {
    const s = spec();
    await load(pool, s, [file(['false', 'a', 'A', '1', T1, null])]);
    const at = new Date('2024-06-01T00:00:00Z');
    await load(pool, s, [file(['true', 'a', 'A', '1', deletedVersion, null])], { seenAt: at });
    // A backfill window resumed days later, or any job older than the deletion, carries the live version of T1.
    expect(await load(pool, s, [file(['false', 'a', 'A stale', '1', T1, null])])).toMatchObject({ upserted: 0 });
    const { rows: stored } = await pool.query(`SELECT name, _aquasync_deleted AS deleted, _aquasync_deleted_at AS at FROM wh.${s.table}`);
    expect(stored).toEqual([{ name: 'A', deleted: true, at }]);
    // A strictly newer version means Zuora has the row again (it never does; only a wrong deletion could): it returns.
    expect(await load(pool, s, [file(['false', 'a', 'A newer', '1', T3, null])])).toMatchObject({ upserted: 1 });
  });

  it.each([
    ['Zuora moves UpdatedDate when it deletes', T2],
    ["Zuora keeps the deleted row's UpdatedDate", T1],
  ])('a stale live version never brings back a hard-deleted row (%s)', async (_name, deletedVersion) => {
    const s = spec({ deletes: 'hard' });
    await load(pool, s, [file(['false', 'a', 'A', '1', T1, null])]);
    await load(pool, s, [file(['true', 'a', 'A', '1', deletedVersion, null])]);
    expect(await rows(s)).toEqual([]);
    expect(await load(pool, s, [file(['false', 'a', 'A stale', '1', T1, null])])).toMatchObject({ upserted: 0 });
    expect(await rows(s)).toEqual([]);
    const { rows: tomb } = await pool.query(`SELECT key FROM aquasync.tombstones WHERE schema_name = 'wh' AND table_name = $1`, [s.table]);
    expect(tomb).toEqual([{ key: 'a' }]);
  });

  it('a row reconcile --apply removed (hard) keeps a tombstone: a stale job cannot bring it back', async () => {
    const s = spec({ deletes: 'hard' });
    await load(pool, s, [file(['false', 'a', 'A', '1', T1, null])]);
    const target = { schema: s.schema, table: s.table };
    expect(await markRowsDeleted(pool, target, { idColumn: 'id', updatedColumn: 'updated_date', ids: ['a'], mode: 'hard', tag: 'reconcile-1' })).toBe(1);
    expect(await load(pool, s, [file(['false', 'a', 'A stale', '1', T1, null])])).toMatchObject({ upserted: 0 });
    expect(await rows(s)).toEqual([]);
  });

  it('a row reconcile --apply flags (soft) is dated like every other deletion', async () => {
    const s = spec();
    await load(pool, s, [file(['false', 'a', 'A', '1', T1, null])]);
    await markRowsDeleted(pool, { schema: s.schema, table: s.table }, { idColumn: 'id', updatedColumn: 'updated_date', ids: ['a'], mode: 'soft', tag: 'reconcile-1' });
    const { rows: flagged } = await pool.query(`SELECT _aquasync_deleted AS d, _aquasync_deleted_at IS NOT NULL AS dated, _aquasync_job_id AS tag FROM wh.${s.table}`);
    expect(flagged).toEqual([{ d: true, dated: true, tag: 'reconcile-1' }]);
  });

  it('on equal UpdatedDate inside one job, the deletion wins over the live version', async () => {
    const s = spec();
    await load(pool, s, [file(['true', 'a', 'A', '1', T1, null]), file(['false', 'a', 'A', '1', T1, null])]);
    expect((await rows(s)).map((r) => r.deleted)).toEqual([true]);
  });
});
