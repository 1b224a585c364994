// Applies into one warehouse schema take turns: concurrent backfill windows and syncs would otherwise race on
// `CREATE SCHEMA/TABLE IF NOT EXISTS` (a unique-index error that aborts the transaction) and could deadlock on
// rows both upsert. Held until the apply transaction ends.
import type pg from 'pg';

/** Third advisory-lock class ('AQUC'). */
export const APPLY_LOCK_CLASS = 0x41515543;

export async function lockSchemaForApply(client: pg.ClientBase, schema: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [APPLY_LOCK_CLASS, schema]);
}
