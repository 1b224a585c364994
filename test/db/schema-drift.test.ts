// The Kysely schema (src/db/schema.ts) against a migrated database: every state table and column the migrations
// create is declared, and nothing declared is missing from the database.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { STATE_COLUMNS, type Warehouse } from '../../src/db/index.ts';
import { openTestWarehouse } from '../helpers/db.ts';

let opened: Awaited<ReturnType<typeof openTestWarehouse>>;
let warehouse: Warehouse;

beforeAll(async () => {
  opened = await openTestWarehouse('db_schema_drift');
  warehouse = opened.warehouse;
});

afterAll(async () => opened?.close());

it('declares exactly the tables and columns the migrations create', async () => {
  const { rows } = await warehouse.pool.query<{ t: string; c: string }>(
    `SELECT 'aquasync.' || c.table_name AS t, c.column_name AS c
       FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
      WHERE c.table_schema = 'aquasync' AND t.table_type = 'BASE TABLE' AND c.table_name NOT LIKE 'kysely_migration%'
      ORDER BY 1, 2`,
  );
  const migrated: Record<string, string[]> = {};
  for (const r of rows) (migrated[r.t] ??= []).push(r.c);
  const declared = Object.fromEntries(Object.entries(STATE_COLUMNS).map(([t, cs]) => [t, [...cs].sort()]));
  expect(migrated).toEqual(declared);
});
