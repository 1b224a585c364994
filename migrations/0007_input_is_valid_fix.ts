// Re-creates aquasync.input_is_valid for databases that ran 0005 before its fix: that version's type check held
// backslashes the sql tag cooked away, which made every exact test false on Postgres 15 (valid rows quarantined).
import type { Kysely } from 'kysely';
import { inputIsValid } from './0005_never_lose_a_row.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await inputIsValid.execute(db);
}

export async function down(): Promise<void> {
  // Nothing to undo: 0005's down drops the function.
}
