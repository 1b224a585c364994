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

/**
 * True when the database has applied exactly the migrations this code knows. Anything else (a new database, a
 * migration to apply, or one recorded that this code does not know: a newer aquasync migrated it) goes to the
 * migrator, which applies or refuses as it always did.
 */
async function upToDate<DB>(db: Kysely<DB>): Promise<boolean> {
  let applied: string[];
  try {
    const { rows } = await sql<{ name: string }>`SELECT name FROM ${sql.table(`${STATE_SCHEMA}.kysely_migration`)}`.execute(db);
    applied = rows.map((r) => r.name);
  } catch (error) {
    // 42P01 no such table, 3F000 no such schema: a new database, which the migrator sets up.
    const code = (error as { code?: unknown }).code;
    if (code === '42P01' || code === '3F000') return false;
    throw error;
  }
  const known = Object.keys(migrations);
  return applied.length === known.length && known.every((name) => applied.includes(name));
}
