// Schema migrations for the aquasync state schema, compiled into the code (no folder scan at run time: kysely's
// FileMigrationProvider cannot import .ts files under vitest on Node 20, docs/design/libraries.md#migrations).
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
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
