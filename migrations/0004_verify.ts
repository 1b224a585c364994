// Verification results: one row per object per `aquasync verify` or `aquasync reconcile`, for charts and alerts.
// Reconcile --apply also records itself in aquasync.runs, so runs.kind gains 'reconcile'.
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against an untyped schema */
import { sql, type Kysely } from 'kysely';

const statements = [
  sql`CREATE TABLE aquasync.verifications (
    id bigserial PRIMARY KEY,
    pipeline text NOT NULL,
    object text NOT NULL,
    table_name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('verify', 'reconcile')),
    checked_at timestamptz NOT NULL DEFAULT now(),
    since timestamptz,
    until timestamptz,
    ok boolean NOT NULL,
    days_checked integer,
    days_matching integer,
    zuora_rows bigint NOT NULL DEFAULT 0,
    warehouse_rows bigint NOT NULL DEFAULT 0,
    rows_missing bigint NOT NULL DEFAULT 0,
    rows_extra bigint NOT NULL DEFAULT 0,
    rows_stale bigint NOT NULL DEFAULT 0,
    worst_day date,
    worst_day_diff bigint,
    applied boolean NOT NULL DEFAULT false,
    rows_marked_deleted bigint NOT NULL DEFAULT 0,
    rows_repulled bigint NOT NULL DEFAULT 0,
    run_id bigint REFERENCES aquasync.runs (id) ON DELETE SET NULL,
    error text,
    details jsonb
  )`,
  sql`CREATE INDEX verifications_pipeline_object_idx ON aquasync.verifications (pipeline, object, checked_at DESC)`,
  sql`ALTER TABLE aquasync.runs DROP CONSTRAINT IF EXISTS runs_kind_check`,
  sql`ALTER TABLE aquasync.runs ADD CONSTRAINT runs_kind_check CHECK (kind IN ('scheduled', 'manual', 'backfill', 'reconcile'))`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS aquasync.verifications`.execute(db);
  await sql`DELETE FROM aquasync.runs WHERE kind = 'reconcile'`.execute(db);
  await sql`ALTER TABLE aquasync.runs DROP CONSTRAINT IF EXISTS runs_kind_check`.execute(db);
  await sql`ALTER TABLE aquasync.runs ADD CONSTRAINT runs_kind_check CHECK (kind IN ('scheduled', 'manual', 'backfill'))`.execute(db);
}
