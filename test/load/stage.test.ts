// stageFile on real Postgres: nasty CSV round-trips exactly, bad files become DataError with a line, input
// stream errors pass through unchanged, nothing is left staged after a failure, files stage concurrently.
import { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.ts';
import { dropStageTables, stagedRowCounts, stageFile, STAGE_SCHEMA } from '../../src/load/index.ts';
import { createTestDatabase, type TestDatabase, testPool } from '../helpers/db.ts';
import { accountSpec, HEADER, load, stageName, streamOf, toCsv } from './fixtures.ts';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('load_stage');
  pool = testPool({ connectionString: db.url, max: 6 });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

async function count(table: string): Promise<number | undefined> {
  const client = await pool.connect();
  try {
    return (await stagedRowCounts(client, [table])).get(table);
  } finally {
    client.release();
  }
}

const long = 'ü日🚀,"x"\n'.repeat(1100); // > 10 KB of UTF-8 with commas, quotes and newlines

describe('stageFile + mergeStaged round trip', () => {
  it.each([
    ['CRLF', '\r\n'],
    ['LF', '\n'],
  ])('keeps every value of a nasty %s file exactly', async (_name, eol) => {
    const spec = accountSpec({ table: `nasty_${eol === '\n' ? 'lf' : 'crlf'}` });
    const csv =
      toCsv(
        [
          HEADER,
          ['false', 'a1', 'Acme, Inc. "the best"', '1234567890123456789012345.5', '2019-03-12T10:15:00+0000', 'c1'],
          ['false', 'a2', 'multi\r\nline\nvalue\rcr', '-11095', '2019-03-12T10:15:00Z', null],
          ['0', 'a3', '  leading and trailing  ', '-0.0000000000000000000001', '2015-01-01', '  spaced  '],
          ['false', 'a4', long, '-0.5', '2019-03-12T10:15:00+00:00', 'ünïcödé'],
          ['false', 'ü日', null, null, null, null],
        ],
        eol,
      ) + `false,a5,"","",2019-03-12T10:15:00-0800,""${eol}`;
    expect(Buffer.byteLength(long)).toBeGreaterThan(10_000);
    const result = await load(pool, spec, [csv], { jobId: 'job-nasty' });
    expect(result).toEqual({ upserted: 6, deleted: 0, missingMarkedDeleted: 0, quarantined: 0, load: 'merge', repeatedKeys: false });

    const rows = await pool.query(
      `SELECT id, name, balance::text AS balance, updated_date, bill_to_id, _aquasync_deleted AS deleted,
              _aquasync_job_id AS job FROM wh.${spec.table} ORDER BY id COLLATE "C"`,
    );
    const at = (iso: string): Date => new Date(iso);
    expect(rows.rows).toEqual([
      { id: 'a1', name: 'Acme, Inc. "the best"', balance: '1234567890123456789012345.5', updated_date: at('2019-03-12T10:15:00Z'), bill_to_id: 'c1', deleted: false, job: 'job-nasty' },
      { id: 'a2', name: 'multi\r\nline\nvalue\rcr', balance: '-11095', updated_date: at('2019-03-12T10:15:00Z'), bill_to_id: null, deleted: false, job: 'job-nasty' },
      { id: 'a3', name: '  leading and trailing  ', balance: '-0.0000000000000000000001', updated_date: at('2015-01-01T08:00:00Z'), bill_to_id: '  spaced  ', deleted: false, job: 'job-nasty' },
      { id: 'a4', name: long, balance: '-0.5', updated_date: at('2019-03-12T10:15:00Z'), bill_to_id: 'ünïcödé', deleted: false, job: 'job-nasty' },
      // Quoted empty and unquoted empty both mean null: Zuora cannot tell them apart either.
      { id: 'a5', name: null, balance: null, updated_date: at('2019-03-12T18:15:00Z'), bill_to_id: null, deleted: false, job: 'job-nasty' },
      { id: 'ü日', name: null, balance: null, updated_date: null, bill_to_id: null, deleted: false, job: 'job-nasty' },
    ]);
  });

  it('counts data rows (not lines) and stages a header-only file as 0 rows', async () => {
    const table = stageName();
    const csv = toCsv([['A', 'B'], ['1', 'x\ny\nz'], ['2', 'w']], '\n');
    expect(await stageFile(pool, { stageTable: table, columnCount: 2, csv: streamOf(csv), fileId: 'f', object: 'O' })).toEqual({ rows: 2 });
    expect(await count(table)).toBe(2);
    const empty = stageName();
    expect(await stageFile(pool, { stageTable: empty, columnCount: 2, csv: streamOf('A,B\n'), fileId: 'f', object: 'O' })).toEqual({ rows: 0 });
    expect(await count(empty)).toBe(0);
  });

  it('restages a file from scratch (the old stage table is replaced)', async () => {
    const table = stageName();
    const args = { stageTable: table, columnCount: 2, fileId: 'f', object: 'O' };
    await stageFile(pool, { ...args, csv: streamOf('A,B\n1,2\n3,4\n') });
    await stageFile(pool, { ...args, csv: streamOf('A,B\n1,2\n') });
    expect(await count(table)).toBe(1);
  });
});

describe('stageFile failures', () => {
  it.each([
    ['a NUL byte', Buffer.from('A,B\n1,a\n2,b\0c\n'), 3, /invalid byte sequence for encoding "UTF8": 0x00/],
    ['invalid UTF-8', Buffer.concat([Buffer.from('A,B\n1,a\n2,'), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]), 3, /invalid byte sequence/],
    ['an unbalanced quote', Buffer.from('A,B\n1,2\n2,"abc\n3,4\n'), 5, /unterminated CSV quoted field/],
    ['an extra column', Buffer.from('A,B\r\n1,2\r\n2,3,4\r\n'), 3, /extra data after last expected column/],
    ['a missing column', Buffer.from('A,B\n1,2\n3,4\n5\n'), 4, /missing data for column "c1"/],
    ['mixed line endings', Buffer.from('A,B\r\n1,2\n3,4\r\n'), 2, /unquoted newline found in data/],
  ])('turns %s into a DataError with the line and stages nothing', async (_name, bytes, line, message) => {
    const table = stageName();
    const error: unknown = await stageFile(pool, {
      stageTable: table,
      columnCount: 2,
      csv: streamOf(bytes, 3),
      fileId: 'file-9',
      object: 'Invoice',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    const dataError = error as DataError;
    expect(dataError.message).toMatch(new RegExp(`^result file file-9 \\(Invoice\\) line ${line}: `));
    expect(dataError.message).toMatch(message);
    expect(dataError.context).toMatchObject({ fileId: 'file-9', object: 'Invoice', line });
    expect(dataError.hint).toBeTruthy();
    expect(await count(table)).toBeUndefined();
  });

  it.each([
    ['after some rows', true, 30],
    ['before any data', false, 30],
    // Fails while the setup statements run, before pipeline() listens: must not become an uncaught exception.
    ['during setup', true, 0],
  ])('rethrows an input stream error unchanged (%s) and stages nothing', async (_name, withData, delay) => {
    const table = stageName();
    const boom = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const input = new Readable({ read() {} });
    if (withData) input.push('A,B\n1,2\n3,4\n');
    if (delay === 0) process.nextTick(() => input.destroy(boom));
    else setTimeout(() => input.destroy(boom), delay);
    const error = await stageFile(pool, { stageTable: table, columnCount: 2, csv: input, fileId: 'f', object: 'O' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBe(boom);
    expect(await count(table)).toBeUndefined();
    // Every pooled connection is still usable (the aborted COPY left no protocol state behind).
    const checks = await Promise.all(Array.from({ length: 6 }, () => pool.query<{ one: number }>('SELECT 1 AS one')));
    expect(checks.map((r) => r.rows[0]?.one)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('commits onStaged work with the file and rolls both back when onStaged fails', async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS staged_files (file text primary key, rows int)');
    const ok = stageName();
    await stageFile(pool, {
      stageTable: ok,
      columnCount: 2,
      csv: streamOf('A,B\n1,2\n'),
      fileId: 'ok',
      object: 'O',
      onStaged: async (client, rows) => {
        await client.query('INSERT INTO staged_files VALUES ($1, $2)', ['ok', rows]);
      },
    });
    const failed = stageName();
    const refusal = new Error('state refused');
    await expect(
      stageFile(pool, {
        stageTable: failed,
        columnCount: 2,
        csv: streamOf('A,B\n1,2\n'),
        fileId: 'bad',
        object: 'O',
        onStaged: async (client) => {
          await client.query('INSERT INTO staged_files VALUES ($1, 1)', ['bad']);
          throw refusal;
        },
      }),
    ).rejects.toMatchObject({ code: 'WAREHOUSE', cause: refusal });
    const files = await pool.query('SELECT file, rows FROM staged_files ORDER BY file');
    expect(files.rows).toEqual([{ file: 'ok', rows: 1 }]);
    expect(await count(ok)).toBe(1);
    expect(await count(failed)).toBeUndefined();
  });

  it('rejects an unusable stage table name before touching the database, releasing the input', async () => {
    const input = streamOf('A,B\n');
    await expect(
      stageFile(pool, { stageTable: 's_' + 'x'.repeat(70), columnCount: 2, csv: input, fileId: 'f', object: 'O' }),
    ).rejects.toThrow(/63-byte/);
    expect(input.destroyed).toBe(true);
  });
});

describe('concurrency and housekeeping', () => {
  it('stages 4 files at once, creating the stage schema in the race', async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${STAGE_SCHEMA} CASCADE`);
    const tables = [stageName(), stageName(), stageName(), stageName()];
    const csv = (n: number): string => toCsv([['A', 'B'], ...Array.from({ length: 2000 + n }, (_, i) => [`k${i}`, `v,${n}`])]);
    const results = await Promise.all(
      tables.map((table, n) => stageFile(pool, { stageTable: table, columnCount: 2, csv: streamOf(csv(n), 1000), fileId: table, object: 'O' })),
    );
    expect(results).toEqual([{ rows: 2000 }, { rows: 2001 }, { rows: 2002 }, { rows: 2003 }]);
    expect(await Promise.all(tables.map(count))).toEqual([2000, 2001, 2002, 2003]);
    const sample = await pool.query(`SELECT c0, c1 FROM ${STAGE_SCHEMA}."${tables[3]}" ORDER BY seq DESC LIMIT 1`);
    expect(sample.rows).toEqual([{ c0: 'k2002', c1: 'v,3' }]);

    const client = await pool.connect();
    try {
      await dropStageTables(client, tables.slice(0, 2));
      await dropStageTables(client, []);
    } finally {
      client.release();
    }
    expect(await Promise.all(tables.map(count))).toEqual([undefined, undefined, 2002, 2003]);
  });
});
