// Verification without false alarms, and on a schedule: aquasync.verifications records the differing rows that
// Zuora changed after the watermark (pending, not a fault) and who asked for the check (a person or the
// pipeline's verify.schedule); the last verification per object is what /metrics and `aquasync status` show.
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against an untyped schema */
import { sql, type Kysely } from 'kysely';

const statements = [
  sql`ALTER TABLE aquasync.verifications ADD COLUMN rows_pending bigint NOT NULL DEFAULT 0`,
  sql`ALTER TABLE aquasync.verifications ADD COLUMN trigger text NOT NULL DEFAULT 'manual' CHECK (trigger IN ('manual', 'scheduled'))`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE aquasync.verifications DROP COLUMN IF EXISTS trigger`.execute(db);
  await sql`ALTER TABLE aquasync.verifications DROP COLUMN IF EXISTS rows_pending`.execute(db);
}
