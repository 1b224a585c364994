// Gives each test file its own throw-away database on the server named by DATABASE_URL: the machine's Postgres,
// or the embedded one test/global-setup.ts starts when DATABASE_URL is unset.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate, openWarehouse, type Warehouse } from '../../src/db/index.ts';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** True when the tests run on the embedded Postgres started by the global setup. */
export function usingEmbeddedServer(): boolean {
  return process.env.AQUASYNC_TEST_EMBEDDED === '1';
}

export function serverUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set (global setup should have provided one)');
  return url;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function createTestDatabase(prefix = 't'): Promise<TestDatabase> {
  const name = `aquasync_${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(serverUrl(), name),
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A throw-away database opened as a Warehouse with the aquasync schema migrated. close() closes and drops it. */
export async function openTestWarehouse(prefix = 't'): Promise<{ warehouse: Warehouse; database: TestDatabase; close(): Promise<void> }> {
  const database = await createTestDatabase(prefix);
  const warehouse = await openWarehouse({ databaseUrl: database.url });
  await migrate(warehouse.db);
  return {
    warehouse,
    database,
    async close() {
      await warehouse.close();
      await database.drop();
    },
  };
}

/**
 * A pg.Pool for tests. Dropping a test database (WITH FORCE) can kill a connection that is still closing after
 * pool.end(); its late 'error' event must not crash the test run, so every client gets a listener.
 */
export function testPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on('connect', (client) => client.on('error', () => undefined));
  pool.on('error', () => undefined);
  return pool;
}
