// castExpression is pure SQL text; every case runs through real Postgres to prove what the text does.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { castExpression } from '../../src/load/index.ts';
import { vetType } from '../../src/load/sql/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('load_cast');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(`SET TimeZone = 'UTC'`);
});

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

async function cast(type: string, value: string | null): Promise<string | null> {
  const result = await client.query<{ v: string | null }>(
    `SELECT (${castExpression('s.v', type)})::text AS v FROM (VALUES ($1::text)) AS s(v)`,
    [value],
  );
  return result.rows[0]?.v ?? null;
}

describe('castExpression', () => {
  it.each([
    ['text', '', null],
    ['text', null, null],
    ['text', 'abc', 'abc'],
    ['text', '  spaces kept  ', '  spaces kept  '],
    ['text', 'ünïcödé 日本 🚀', 'ünïcödé 日本 🚀'],
    ['text', 'line1\r\nline2', 'line1\r\nline2'],
    ['numeric', '', null],
    ['numeric', '0', '0'],
    ['numeric', '77.86', '77.86'],
    ['numeric', '-11095', '-11095'],
    ['numeric', '1234567890123456789012345.123456789012345', '1234567890123456789012345.123456789012345'],
    ['numeric', '-0.000000000000000000000001', '-0.000000000000000000000001'],
    ['numeric(22,9)', '1.5', '1.500000000'],
    ['bigint', '', null],
    ['bigint', '9007199254740993', '9007199254740993'],
    ['bigint', '-42', '-42'],
    ['boolean', 'true', 'true'],
    ['boolean', 'false', 'false'],
    ['boolean', '1', 'true'],
    ['boolean', '0', 'false'],
    ['boolean', '', null],
    ['date', '2019-03-12', '2019-03-12'],
    ['date', '', null],
    ['timestamptz', '2019-03-12T10:15:00+0000', '2019-03-12 10:15:00+00'],
    ['timestamptz', '2019-03-12T10:15:00+00:00', '2019-03-12 10:15:00+00'],
    ['timestamptz', '2019-03-12T10:15:00Z', '2019-03-12 10:15:00+00'],
    ['timestamptz', '2026-08-04T20:11:15+1000', '2026-08-04 10:11:15+00'],
    ['timestamptz', '2026-08-04T20:11:15-0700', '2026-08-05 03:11:15+00'],
    // Pacific midnight printed as a date: PST in winter, PDT in summer.
    ['timestamptz', '2015-01-01', '2015-01-01 08:00:00+00'],
    ['timestamptz', '2015-07-01', '2015-07-01 07:00:00+00'],
    ['timestamptz', '', null],
    ['timestamptz(0)', '2019-03-12T10:15:00.6+0000', '2019-03-12 10:15:01+00'],
    ['timestamp(0) with time zone', '2015-01-01', '2015-01-01 08:00:00+00'],
    // A zone-less timestamp override holds UTC wall time, and a bare date is still Pacific midnight.
    ['timestamp', '2015-01-01', '2015-01-01 08:00:00'],
    ['timestamp', '2019-03-12T10:15:00+0000', '2019-03-12 10:15:00'],
    ['timestamp', '2026-08-04T20:11:15+1000', '2026-08-04 10:11:15'],
    ['timestamp without time zone', '2015-07-01', '2015-07-01 07:00:00'],
    ['timestamp', '', null],
    ['integer', '42', '42'],
    ['double precision', '1.5', '1.5'],
  ])('%s %j -> %j', async (type, value, expected) => {
    expect(await cast(type, value)).toBe(expected);
  });

  it('reads a bare date as Pacific midnight whatever the session time zone', async () => {
    await client.query(`SET TimeZone = 'Asia/Tokyo'`);
    try {
      const result = await client.query<{ v: Date }>(
        `SELECT ${castExpression('s.v', 'timestamptz')} AS v FROM (VALUES ('2015-01-01'::text)) AS s(v)`,
      );
      expect(result.rows[0]?.v.toISOString()).toBe('2015-01-01T08:00:00.000Z');
    } finally {
      await client.query(`SET TimeZone = 'UTC'`);
    }
  });

  it.each([
    ['numeric', '12abc', '22P02'],
    ['bigint', '1.5', '22P02'],
    ['boolean', 'maybe', '22P02'],
    ['timestamptz', '2019-13-45T00:00:00Z', '22008'],
  ])('rejects %s %j with SQLSTATE %s', async (type, value, code) => {
    await expect(cast(type, value)).rejects.toMatchObject({ code });
  });
});

describe('vetType', () => {
  it.each([
    ['NUMERIC ( 22 , 9 )', 'numeric(22,9)'],
    ['double  precision', 'double precision'],
    ['timestamp(3) with time zone', 'timestamp(3) with time zone'],
    ['character varying(20)', 'character varying(20)'],
    ['int4[]', 'int4[]'],
    ['public.citext', 'public.citext'],
  ])('accepts %j as %j', (type, expected) => {
    expect(vetType(type)).toBe(expected);
  });

  it.each(['', 'text; drop table x', 'numeric(22,9', "text'", '"text"', 'text -- x', 'numeric(a)'])(
    'rejects %j',
    (type) => {
      expect(() => vetType(type)).toThrow(ConfigError);
      expect(() => castExpression('s.v', type)).toThrow(ConfigError);
    },
  );
});
