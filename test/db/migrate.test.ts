import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openWarehouse, type Warehouse } from '../../src/db/index.ts';
import { migrations } from '../../migrations/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let database: TestDatabase;
let first: Warehouse;
let second: Warehouse;

beforeAll(async () => {
  database = await createTestDatabase('db_migrate');
  first = await openWarehouse({ databaseUrl: database.url });
  second = await openWarehouse({ databaseUrl: database.url });
});

afterAll(async () => {
  await first?.close();
  await second?.close();
  await database?.drop();
});

async function tablesIn(schema: string): Promise<string[]> {
  const { rows } = await first.pool.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
    [schema],
  );
  return rows.map((r) => r.table_name);
}

describe('migrate', () => {
  it('runs concurrently from two pools without error', async () => {
    await Promise.all([migrate(first.db), migrate(second.db)]);
    expect(await tablesIn('aquasync')).toEqual([
      'backfill_windows',
      'batches',
      'events',
      'files',
      'jobs',
      'kysely_migration',
      'kysely_migration_lock',
      'rejected_rows',
      'runs',
      'schedule_slots',
      'snapshots',
      'tombstones',
      'verifications',
      'watermarks',
    ]);
    expect(await tablesIn('public')).toEqual([]);
  });

  it('records each migration once and is idempotent', async () => {
    await migrate(first.db);
    await migrate(second.db);
    const { rows } = await sql<{ name: string }>`SELECT name FROM aquasync.kysely_migration ORDER BY name`.execute(first.db);
    expect(rows.map((r) => r.name)).toEqual(Object.keys(migrations));
  });

  it('refuses a database a newer aquasync migrated (a migration it does not know), as before the up-to-date shortcut', async () => {
    await migrate(first.db);
    await first.pool.query(`INSERT INTO aquasync.kysely_migration (name, timestamp) VALUES ('9999_from_the_future', now()::text)`);
    try {
      await expect(migrate(first.db)).rejects.toThrow(/9999_from_the_future/);
    } finally {
      await first.pool.query(`DELETE FROM aquasync.kysely_migration WHERE name = '9999_from_the_future'`);
    }
  });

  it.each([
    ['2025-04-30T14:12:46+0000', 'timestamptz', true],
    ['2025-04-30', 'date', true],
    ['2025-02-30', 'date', false],
    ['99999999999999999999', 'bigint', false],
    ['12.5', 'numeric(4,1)', true],
    ['{1,2}', 'integer[]', true],
    ['abc', 'boolean', false],
  ])('aquasync.input_is_valid(%s, %s) is %s (the quarantine test on Postgres 15)', async (value, type, valid) => {
    await migrate(first.db);
    const { rows } = await first.pool.query<{ ok: boolean }>('SELECT aquasync.input_is_valid($1, $2) AS ok', [value, type]);
    expect(rows[0]?.ok).toBe(valid);
  });

  it('enforces the status checks', async () => {
    await expect(
      first.pool.query("INSERT INTO aquasync.runs (pipeline, kind, status) VALUES ('p', 'manual', 'weird')"),
    ).rejects.toThrow(/check constraint/);
    await expect(
      first.pool.query("INSERT INTO aquasync.jobs (pipeline, kind, idempotency_key, request, status) VALUES ('p', 'sync', 'k', '{}', 'nope')"),
    ).rejects.toThrow(/check constraint/);
  });
});
