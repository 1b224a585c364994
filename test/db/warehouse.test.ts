// openWarehouse with a URL, withTransaction, and what a bad URL reports.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWarehouse, withTransaction, type Warehouse } from '../../src/db/index.ts';
import { WarehouseError } from '../../src/errors.ts';
import { createLogger } from '../../src/log.ts';
import { createTestDatabase, serverUrl, type TestDatabase } from '../helpers/db.ts';

let database: TestDatabase;
let warehouse: Warehouse;

beforeAll(async () => {
  database = await createTestDatabase('db_wh');
  warehouse = await openWarehouse({ databaseUrl: database.url });
  await warehouse.pool.query('CREATE TABLE t (id int PRIMARY KEY, note text)');
});

afterAll(async () => {
  await warehouse?.close();
  await database?.drop();
});

describe('openWarehouse with a URL', () => {
  it('runs every connection in UTC and names itself aquasync', async () => {
    const clients = await Promise.all([warehouse.pool.connect(), warehouse.pool.connect()]);
    try {
      for (const client of clients) {
        const { rows } = await client.query<{ tz: string; app: string }>(
          "SELECT current_setting('TimeZone') AS tz, current_setting('application_name') AS app",
        );
        expect(rows[0]).toEqual({ tz: 'UTC', app: 'aquasync' });
      }
    } finally {
      for (const client of clients) client.release();
    }
  });

  it('reads bigint as number through pg and Kysely', async () => {
    const { rows } = await warehouse.pool.query<{ n: unknown }>('SELECT 9007199254740::bigint AS n');
    expect(rows[0]?.n).toBe(9007199254740);
    const viaKysely = await sql<{ n: unknown }>`SELECT count(*) AS n FROM t`.execute(warehouse.db);
    expect(viaKysely.rows[0]?.n).toBe(0);
  });

  it('has no embedded server and a printable url', () => {
    expect(warehouse.embedded).toBeUndefined();
    expect(warehouse.url).toContain(database.name);
  });
});

describe('closing the warehouse', () => {
  it('returns only once every connection has closed, so nothing is left for a server stop to cut off', async () => {
    const own = await createTestDatabase('db_close');
    try {
      const lines: string[] = [];
      const other = await openWarehouse({ databaseUrl: own.url, logger: createLogger({ write: (line) => lines.push(line) }) });
      let connected = 0;
      let ended = 0;
      other.pool.on('connect', (client) => {
        connected += 1;
        client.once('end', () => (ended += 1));
      });
      await Promise.all([1, 2, 3, 4].map(() => other.pool.query('SELECT pg_sleep(0.05)')));
      await sql`SELECT 1`.execute(other.db);
      expect(connected).toBeGreaterThan(1);
      await other.close();
      // pg-pool's end() resolves while its connections are still closing; close() waits for them.
      expect(ended).toBe(connected);
      const { rows } = await warehouse.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [own.name]);
      expect(rows[0]?.n).toBe(0);
      expect(lines.join('\n')).not.toMatch(/connection lost/);
    } finally {
      await own.drop();
    }
  });
});

describe('withTransaction', () => {
  it('commits raw and Kysely statements together', async () => {
    const result = await withTransaction(warehouse.pool, async (client, db) => {
      await client.query("INSERT INTO t VALUES (1, 'raw')");
      await sql`INSERT INTO t VALUES (2, 'kysely')`.execute(db);
      // The Kysely instance sees the raw insert: same connection, same transaction.
      const seen = await sql<{ n: number }>`SELECT count(*)::int AS n FROM t`.execute(db);
      return seen.rows[0]?.n;
    });
    expect(result).toBe(2);
    const { rows } = await warehouse.pool.query('SELECT id FROM t ORDER BY id');
    expect(rows.map((r: { id: number }) => r.id)).toEqual([1, 2]);
  });

  it('rolls both back when fn throws, and rethrows the same error', async () => {
    const boom = new Error('boom');
    await expect(
      withTransaction(warehouse.pool, async (client, db) => {
        await client.query("INSERT INTO t VALUES (3, 'raw')");
        await sql`INSERT INTO t VALUES (4, 'kysely')`.execute(db);
        throw boom;
      }),
    ).rejects.toBe(boom);
    const { rows } = await warehouse.pool.query('SELECT count(*)::int AS n FROM t WHERE id IN (3, 4)');
    expect(rows[0]).toEqual({ n: 0 });
  });

  it('refuses a nested db.transaction() instead of committing early', async () => {
    await expect(
      withTransaction(warehouse.pool, async (_client, db) => {
        await db.transaction().execute(async () => undefined);
      }),
    ).rejects.toThrow();
  });

  it('rolls back a failed statement and returns a usable client to the pool', async () => {
    await expect(
      withTransaction(warehouse.pool, async (client) => {
        await client.query("INSERT INTO t VALUES (5, 'x')");
        await client.query("INSERT INTO t VALUES (5, 'duplicate')");
      }),
    ).rejects.toThrow(/duplicate key/);
    const { rows } = await warehouse.pool.query('SELECT count(*)::int AS n FROM t WHERE id = 5');
    expect(rows[0]).toEqual({ n: 0 });
  });
});

describe('a bad database URL', () => {
  it('raises a WarehouseError naming host and database, never the password', async () => {
    const url = new URL(serverUrl());
    url.password = 'Sup3r-secret-pw';
    url.pathname = '/aquasync_does_not_exist_x';
    const error = await openWarehouse({ databaseUrl: url.toString() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WarehouseError);
    const e = error as WarehouseError;
    expect(e.message).toContain(`${url.hostname}:${url.port}`);
    expect(e.hint).toBeTruthy();
    expect(`${e.message} ${e.hint ?? ''} ${JSON.stringify(e.context)} ${e.describe()}`).not.toContain('Sup3r-secret-pw');
  });

  it('says connection refused when nothing listens', async () => {
    const error = await openWarehouse({ databaseUrl: 'postgres://postgres:Sup3r-secret-pw@127.0.0.1:1/db' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WarehouseError);
    expect((error as WarehouseError).message).toMatch(/127\.0\.0\.1:1\/db: connection refused/);
    expect((error as WarehouseError).retryable).toBe(true);
    expect((error as WarehouseError).message).not.toContain('Sup3r-secret-pw');
  });
});
