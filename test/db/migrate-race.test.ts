// `status` or `query` migrating while a scheduled load creates and drops its stage tables: an up-to-date database
// is not introspected (kysely's migrator scans every table, and one dropped meanwhile failed the command).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrate, type Warehouse } from '../../src/db/index.ts';
import { openTestWarehouse } from '../helpers/db.ts';

let opened: Awaited<ReturnType<typeof openTestWarehouse>>;
let warehouse: Warehouse;

beforeAll(async () => {
  opened = await openTestWarehouse('db_migrate_race');
  warehouse = opened.warehouse;
});

afterAll(async () => opened?.close());

it('migrates an up-to-date schema while tables come and go', async () => {
  const churn = await warehouse.pool.connect();
  let stop = false;
  const churning = (async () => {
    await churn.query('CREATE SCHEMA IF NOT EXISTS churn');
    for (let i = 0; !stop; i++) {
      await churn.query(`CREATE UNLOGGED TABLE churn.t${i % 50} (id bigserial, c0 text)`);
      await churn.query(`DROP TABLE churn.t${i % 50}`);
    }
  })();
  try {
    for (let i = 0; i < 60; i++) await migrate(warehouse.db);
  } finally {
    stop = true;
    await churning;
    churn.release();
  }
  const { rows } = await warehouse.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM aquasync.kysely_migration');
  expect(rows[0]?.n).toBeGreaterThan(0);
});
