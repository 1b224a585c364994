// The first load at the COPY limit on real Postgres: files COPYed into one typed stage must give exactly the table
// the text stage and the merge's casts give (values, aquasync's columns, the key), stay invisible until commit, and
// refuse, leaving everything as it was, whatever the key cannot prove.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adoptTypedStage, ensureTable, stageFile, typedStagePrefix, typedStageTable, TypedStageRefused } from '../../src/load/index.ts';
import type { ColumnSpec, TableSpec } from '../../src/plan/types.ts';
import { openTestWarehouse, testPool } from '../helpers/db.ts';
import { accountSpec, HEADER, load, loadTyped, streamOf, toCsv } from './fixtures.ts';

let opened: Awaited<ReturnType<typeof openTestWarehouse>>;
let pool: pg.Pool;
let tableNo = 0;

beforeAll(async () => {
  // The warehouse's own pool (UTC sessions), as the loader stages and applies with it.
  opened = await openTestWarehouse('load_typed');
  pool = opened.warehouse.pool;
});

afterAll(async () => opened?.close());

function spec(overrides: Partial<TableSpec> = {}): TableSpec {
  tableNo += 1;
  return accountSpec({ table: `typed_${tableNo}`, ...overrides });
}

const column = (header: string, name: string, type: string, position: number): ColumnSpec => ({ header, name, type, joined: false, position, overridden: false });

/** Every type aquasync maps Zuora's to, and two overrides with a typmod. */
function wideSpec(deletes: TableSpec['deletes'] = 'soft'): TableSpec {
  return spec({
    deletes,
    columns: [
      ...accountSpec().columns,
      column('Account.Day', 'day', 'date', 6),
      column('Account.Count', 'count', 'bigint', 7),
      column('Account.Flag', 'flag', 'boolean', 8),
      column('Account.Exact', 'exact', 'numeric(22,9)', 9),
      column('Account.Rounded', 'rounded', 'timestamptz(0)', 10),
    ],
  });
}

// Written by hand: "" (a quoted empty value) is what toCsv never writes and Zuora may.
const WIDE_CSV = [
  [...HEADER, 'Account.Day', 'Account.Count', 'Account.Flag', 'Account.Exact', 'Account.Rounded'].join(','),
  'false,a,,00012.50,2024-03-10,,2019-03-12,42,true,1.5,2019-03-12T10:15:00.6+0000',
  'TRUE,b,"x ""quoted"", y",-0.000000001,2024-03-10T23:59:59.123456-0800,c9,,-9007199254740993,1,-0.000000001,2015-07-01',
  'False,c,ünïcode 日本,"",2024-11-03 01:30:00+01:00,"",2019-03-12,"",0,"",2015-01-01',
  '1,d,"line1\r\nline2",1234567890123456789012345.123456789012345,2026-08-04T20:11:15+1000,,"",0,FALSE,77.86,2019-03-12T10:15:00Z',
  '0,e,"",0,2015-01-01,x,2019-03-12,1,false,0,',
  '0,f,"  spaced  ",-11095,2015-07-01,"",2019-03-12,9007199254740993,"",1234567890123.123456789,2026-08-04T20:11:15-0700',
].join('\r\n') + '\r\n';

const ALL = 'id, name, balance, updated_date, bill_to_id, day, count, flag, exact, rounded, _aquasync_deleted, _aquasync_deleted_at, _aquasync_job_id';

async function difference(a: TableSpec, b: TableSpec, columns = ALL): Promise<unknown[]> {
  const diff = await pool.query(
    `(SELECT ${columns} FROM wh.${a.table} EXCEPT ALL SELECT ${columns} FROM wh.${b.table})
     UNION ALL (SELECT ${columns} FROM wh.${b.table} EXCEPT ALL SELECT ${columns} FROM wh.${a.table})`,
  );
  return diff.rows;
}

describe('the typed stage becomes the table the text path makes', () => {
  it.each(['soft', 'hard', 'ignore'] as const)(
    'deletes: %s — every Zuora rendering (empty and "" fields, bare dates in winter and summer, offsets, big numerics, flags) stores the same values',
    async (deletes) => {
      const seenAt = new Date('2024-06-01T00:00:00Z');
      const text = wideSpec(deletes);
      const typed = wideSpec(deletes);
      const viaText = await load(pool, text, [WIDE_CSV], { viaApply: true, keysLikelyDistinct: true, jobId: 'j', seenAt });
      const viaCopy = await loadTyped(pool, typed, [WIDE_CSV], { jobId: 'j', seenAt });
      expect(viaCopy).toMatchObject({ upserted: viaText.upserted, deleted: viaText.deleted, quarantined: 0, load: 'copied' });
      expect(await difference(text, typed)).toEqual([]);
      const count = await pool.query(`SELECT count(*)::int AS n FROM wh.${typed.table}`);
      expect(count.rows[0].n).toBe(deletes === 'soft' ? 6 : 4);
      if (deletes === 'hard') {
        const tombs = await pool.query(`SELECT key, deleted_at FROM aquasync.tombstones WHERE table_name = $1 ORDER BY key`, [typed.table]);
        expect(tombs.rows).toEqual([
          { key: 'b', deleted_at: seenAt },
          { key: 'd', deleted_at: seenAt },
        ]);
      }
    },
  );

  it('reads a bare date as Pacific midnight and keeps an offset, whatever the session time zone of the pool', async () => {
    const s = spec({ deletedHeader: undefined, deletedPosition: undefined, columns: accountSpec().columns.map((c) => ({ ...c, position: c.position - 1 })) });
    const csv = toCsv([HEADER.slice(1), ['w', 'W', '1', '2015-01-01', null], ['s', 'S', '1', '2015-07-01', null], ['o', 'O', '1', '2026-08-04T20:11:15+1000', null]]);
    const tokyo = testPool({ connectionString: opened.database.url, max: 1 });
    tokyo.on('connect', (client) => void client.query(`SET TimeZone = 'Asia/Tokyo'`));
    try {
      await loadTyped(tokyo, s, [csv]);
    } finally {
      await tokyo.end();
    }
    const stored = await pool.query<{ id: string; at: Date }>(`SELECT id, updated_date AS at FROM wh.${s.table} ORDER BY id`);
    expect(stored.rows.map((r) => [r.id, r.at.toISOString()])).toEqual([
      ['o', '2026-08-04T10:11:15.000Z'],
      ['s', '2015-07-01T07:00:00.000Z'],
      ['w', '2015-01-01T08:00:00.000Z'],
    ]);
  });

  it.each([
    ['with the deleted flag in the CSV', true],
    ['without it', false],
  ])('has the columns, types, defaults and key createTable gives (%s)', async (_, flagged) => {
    const base = flagged ? spec() : spec({ deletedHeader: undefined, deletedPosition: undefined, columns: accountSpec().columns.map((c) => ({ ...c, position: c.position - 1 })) });
    const made = { ...base, table: `${base.table}_made` };
    const client = await pool.connect();
    try {
      await ensureTable(client, made);
    } finally {
      client.release();
    }
    const csv = toCsv([flagged ? HEADER : HEADER.slice(1), flagged ? ['false', 'a', 'A', '1', null, null] : ['a', 'A', '1', null, null]]);
    await loadTyped(pool, base, [csv], { jobId: 'job-7' });
    const shape = async (table: string): Promise<string[]> => {
      const { rows } = await pool.query<{ c: string }>(
        `SELECT format('%s %s null=%s default=%s', column_name, data_type, is_nullable, column_default) AS c
         FROM information_schema.columns WHERE table_schema = 'wh' AND table_name = $1 ORDER BY column_name`,
        [table],
      );
      return rows.map((r) => r.c);
    };
    expect(await shape(base.table)).toEqual(await shape(made.table));
    // Stored alike too: room on each page for an incremental's updated row versions (HOT updates).
    const storage = async (table: string): Promise<unknown> =>
      (await pool.query(`SELECT reloptions FROM pg_class WHERE oid = to_regclass($1)`, [`wh.${table}`])).rows[0];
    expect(await storage(base.table)).toEqual({ reloptions: ['fillfactor=90'] });
    expect(await storage(made.table)).toEqual({ reloptions: ['fillfactor=90'] });
    const key = await pool.query(`SELECT conname FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'p'`, [`wh.${base.table}`]);
    expect(key.rows).toEqual([{ conname: `${base.table}_pkey` }]);
    // The job id is stored for the loaded rows only: a row written later without one has none.
    await pool.query(`INSERT INTO wh.${base.table} (id) VALUES ('later')`);
    const rows = await pool.query(`SELECT id, _aquasync_job_id AS job, _aquasync_deleted AS deleted, _aquasync_synced_at IS NOT NULL AS synced FROM wh.${base.table} ORDER BY id`);
    expect(rows.rows).toEqual([
      { id: 'a', job: 'job-7', deleted: false, synced: true },
      { id: 'later', job: null, deleted: false, synced: true },
    ]);
    const stages = await pool.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'aquasync_stage' AND tablename LIKE 't\\_%'`);
    expect(stages.rows[0].n).toBe(0);
  });
});

describe('the typed stage is seen whole or not at all', () => {
  it('readers see no table before the applying transaction commits', async () => {
    const s = spec();
    const stageTable = typedStageTable('visibility', s) as string;
    await stageFile(pool, { stageTable, columnCount: HEADER.length, typed: s, csv: streamOf(toCsv([HEADER, ['false', 'a', 'A', '1', null, null]])), fileId: 'f', object: 'Account' });
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await adoptTypedStage(client, s, { stageTable, rows: 1, jobId: 'j', seenAt: new Date() });
      const before = await pool.query(`SELECT to_regclass('wh.${s.table}') IS NULL AS missing`);
      expect(before.rows).toEqual([{ missing: true }]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect((await pool.query(`SELECT count(*)::int AS n FROM wh.${s.table}`)).rows[0].n).toBe(1);
  });

  it.each([
    ['a key that comes twice', [['false', 'a', 'A1', '1', null, null], ['false', 'a', 'A2', '1', null, null]], /could not create unique index/],
    ['a row without a key', [['false', '', 'no key', '1', null, null], ['false', 'k', 'K', '1', null, null]], /contains null values/],
  ])('refuses %s and leaves the stage as it was, no table made', async (_, rows, message) => {
    const s = spec();
    const stageTable = typedStageTable(`refused${tableNo}`, s) as string;
    const attempt = loadTyped(pool, s, [toCsv([HEADER, ...(rows as (string | null)[][])])], { stageTable });
    await expect(attempt).rejects.toThrow(TypedStageRefused);
    await expect(attempt).rejects.toThrow(message);
    expect((await pool.query(`SELECT to_regclass('wh.${s.table}') AS t`)).rows).toEqual([{ t: null }]);
    // The stage was staged once (the second expect only re-reads the same rejection) and is untouched.
    expect((await pool.query(`SELECT count(*)::int AS n FROM aquasync_stage.${stageTable}`)).rows[0].n).toBe(2);
  });

  it.each([
    ['empty', ''],
    ['quoted empty', '""'],
  ])('refuses a file whose deleted flag is %s (Zuora always writes one; the text path reads it as false)', async (_, flag) => {
    const s = spec();
    const stageTable = typedStageTable(`flag${tableNo}`, s) as string;
    const csv = `${HEADER.join(',')}\r\nfalse,a,A,1,,\r\n${flag},b,B,1,,\r\n`;
    const attempt = stageFile(pool, { stageTable, columnCount: HEADER.length, typed: s, csv: streamOf(csv), fileId: 'f-flag', object: 'Account' });
    await expect(attempt).rejects.toThrow(TypedStageRefused);
    expect((await pool.query(`SELECT count(*)::int AS n FROM aquasync_stage.${stageTable}`)).rows[0].n).toBe(0);
  });

  it('refuses when the table exists by the time of the apply', async () => {
    const s = spec();
    const csv = toCsv([HEADER, ['false', 'a', 'A', '1', null, null]]);
    const stageTable = typedStageTable('exists', s) as string;
    await stageFile(pool, { stageTable, columnCount: HEADER.length, typed: s, csv: streamOf(csv), fileId: 'f', object: 'Account' });
    await pool.query(`CREATE TABLE wh.${s.table} (id text PRIMARY KEY)`);
    await expect(loadTyped(pool, s, [], { stageTable })).rejects.toThrow(/exists now/);
    expect((await pool.query(`SELECT count(*)::int AS n FROM aquasync_stage.${stageTable}`)).rows[0].n).toBe(1);
  });

  it('a value COPY cannot read fails the file with TypedStageRefused and keeps nothing of it', async () => {
    const s = spec();
    const stageTable = typedStageTable('poison', s) as string;
    const csv = toCsv([HEADER, ['false', 'a', 'A', '1', null, null], ['false', 'b', 'B', 'not a number', null, null]]);
    const attempt = stageFile(pool, { stageTable, columnCount: HEADER.length, typed: s, csv: streamOf(csv), fileId: 'f-poison', object: 'Account' });
    await expect(attempt).rejects.toThrow(TypedStageRefused);
    await expect(attempt).rejects.toThrow(/f-poison \(Account\) line 3/);
    expect((await pool.query(`SELECT count(*)::int AS n FROM aquasync_stage.${stageTable}`)).rows[0].n).toBe(0);
  });
});

describe('typedStageTable', () => {
  it('names a stage by its job and shape: stable, short, new when a type changes, none for a zone-less timestamp', () => {
    const s = accountSpec();
    const name = typedStageTable('42', s) as string;
    expect(name).toMatch(/^t_42_[0-9a-f]{8}_[0-9a-f]{12}$/);
    expect(name.startsWith(typedStagePrefix('42', s))).toBe(true);
    expect(typedStagePrefix('42', s).startsWith(typedStagePrefix('42'))).toBe(true);
    expect(typedStageTable('42', { ...s, table: 'other' })?.startsWith(typedStagePrefix('42', s))).toBe(false);
    expect(typedStageTable('42', s)).toBe(name);
    expect(typedStageTable('43', s)).not.toBe(name);
    const retyped = { ...s, columns: s.columns.map((c) => (c.name === 'balance' ? { ...c, type: 'numeric(22,9)' } : c)) };
    expect(typedStageTable('42', retyped)).not.toBe(name);
    const zoneless = { ...s, columns: s.columns.map((c) => (c.name === 'updated_date' ? { ...c, type: 'timestamp' } : c)) };
    expect(typedStageTable('42', zoneless)).toBeUndefined();
  });
});
