// Backfill windows: one row per (pipeline, object set, since, until) a backfill split its range into, with the job
// that loads it. A re-run skips loaded windows and resumes the job of a window whose process died.
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against an untyped schema */
import { sql, type Kysely } from 'kysely';

const statements = [
  sql`CREATE TABLE aquasync.backfill_windows (
    id bigserial PRIMARY KEY,
    pipeline text NOT NULL,
    objects text NOT NULL,
    since timestamptz NOT NULL,
    until timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'loaded', 'failed')),
    job_id bigint REFERENCES aquasync.jobs (id) ON DELETE SET NULL,
    run_id bigint REFERENCES aquasync.runs (id) ON DELETE SET NULL,
    rows bigint NOT NULL DEFAULT 0,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    loaded_at timestamptz,
    CHECK (since < until),
    UNIQUE (pipeline, objects, since, until)
  )`,
  sql`CREATE INDEX backfill_windows_loaded_idx ON aquasync.backfill_windows (pipeline, objects, since) WHERE status = 'loaded'`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS aquasync.backfill_windows`.execute(db);
}
