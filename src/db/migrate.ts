// Schema migrations for the aquasync state schema, compiled into the code (no folder scan at run time: kysely's
// FileMigrationProvider cannot import .ts files under vitest on Node 20, docs/design/libraries.md#migrations).
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { migrations } from '../../migrations/index.ts';
import { WarehouseError } from '../errors.ts';

export const STATE_SCHEMA = 'aquasync';

const provider: MigrationProvider = {
  getMigrations: async (): Promise<Record<string, Migration>> => ({ ...migrations }),
};

/**
 * Brings the aquasync schema to the latest version. Idempotent; concurrent callers serialise on kysely's
 * advisory lock, so replicas may all migrate at boot.
 */
export async function migrate<DB>(db: Kysely<DB>): Promise<void> {
  // Kysely's migrator first introspects every table of the database, which fails ("relation ... does not exist")
  // when a running load drops a stage table meanwhile; a database already up to date needs no migrator at all.
  if (await upToDate(db)) return;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the migrator works on an untyped schema
  const migrator = new Migrator({ db: db as Kysely<any>, provider, migrationTableSchema: STATE_SCHEMA });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new WarehouseError(
      `migrating the ${STATE_SCHEMA} schema failed${failed ? ` in ${failed}` : ''}: ${error instanceof Error ? error.message : String(error)}`,
      { hint: 'the failed migration was rolled back; fix the cause (permissions? a conflicting object?) and run `aquasync migrate`', cause: error },
    );
  }
}

/** True when every migration is recorded as applied (false when the bookkeeping table does not exist yet). */
async function upToDate<DB>(db: Kysely<DB>): Promise<boolean> {
  const known = await sql<{ name: string }>`SELECT name FROM aquasync.kysely_migration`.execute(db).catch((error: unknown) => {
    // 42P01: no such table (a new database): the migrator creates it.
    if ((error as { code?: string }).code === '42P01' || (error as { code?: string }).code === '3F000') return undefined;
    throw error;
  });
  if (known === undefined) return false;
  const applied = new Set(known.rows.map((r) => r.name));
  return Object.keys(migrations).every((name) => applied.has(name));
}
