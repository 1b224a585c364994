// The aquasync state schema: watermarks, runs, jobs, batches, files, events. Users query `runs` and `watermarks`
// directly, so names are plain. `job_id` is Zuora's job id (text) in runs and watermarks, and the jobs row id
// (bigint) in batches, files and events.
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against an untyped schema */
import { sql, type Kysely } from 'kysely';

const statements = [
  sql`CREATE SCHEMA IF NOT EXISTS aquasync`,
  sql`CREATE TABLE aquasync.watermarks (
    pipeline text PRIMARY KEY,
    watermark timestamptz NOT NULL,
    job_id text,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  sql`CREATE TABLE aquasync.runs (
    id bigserial PRIMARY KEY,
    pipeline text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('scheduled', 'manual', 'backfill')),
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed', 'abandoned')),
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    job_id text,
    rows_loaded bigint NOT NULL DEFAULT 0,
    watermark_before timestamptz,
    watermark_after timestamptz,
    error_code text,
    error_message text,
    details jsonb,
    host text,
    pid integer
  )`,
  sql`CREATE INDEX runs_pipeline_started_idx ON aquasync.runs (pipeline, started_at DESC, id DESC)`,
  sql`CREATE INDEX runs_running_idx ON aquasync.runs (pipeline) WHERE status = 'running'`,
  sql`CREATE TABLE aquasync.jobs (
    id bigserial PRIMARY KEY,
    zuora_job_id text UNIQUE,
    idempotency_key text NOT NULL UNIQUE,
    pipeline text NOT NULL,
    run_id bigint REFERENCES aquasync.runs (id) ON DELETE SET NULL,
    kind text NOT NULL CHECK (kind IN ('sync', 'backfill')),
    status text NOT NULL DEFAULT 'submitting'
      CHECK (status IN ('submitting', 'submitted', 'completed', 'staged', 'applied', 'failed', 'expired', 'abandoned')),
    request jsonb NOT NULL,
    incremental_time text,
    window_from timestamptz,
    window_to timestamptz,
    zuora_status text,
    start_time text,
    offset_seconds integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    submitted_at timestamptz,
    completed_at timestamptz,
    applied_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    error text
  )`,
  sql`CREATE INDEX jobs_unfinished_idx ON aquasync.jobs (pipeline, kind, id DESC)
    WHERE status IN ('submitting', 'submitted', 'completed', 'staged')`,
  sql`CREATE TABLE aquasync.batches (
    job_id bigint NOT NULL REFERENCES aquasync.jobs (id) ON DELETE CASCADE,
    name text NOT NULL,
    object text NOT NULL,
    table_name text NOT NULL,
    batch_id text,
    "full" boolean,
    record_count bigint,
    status text,
    PRIMARY KEY (job_id, name)
  )`,
  sql`CREATE TABLE aquasync.files (
    file_id text PRIMARY KEY,
    job_id bigint NOT NULL,
    batch_name text NOT NULL,
    ordinal integer NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'staged', 'applied')),
    stage_table text,
    rows bigint,
    header jsonb,
    staged_at timestamptz,
    applied_at timestamptz,
    FOREIGN KEY (job_id, batch_name) REFERENCES aquasync.batches (job_id, name) ON DELETE CASCADE,
    UNIQUE (job_id, batch_name, ordinal)
  )`,
  sql`CREATE TABLE aquasync.events (
    id bigserial PRIMARY KEY,
    pipeline text NOT NULL,
    job_id bigint REFERENCES aquasync.jobs (id) ON DELETE SET NULL,
    at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL,
    message text NOT NULL,
    details jsonb
  )`,
  sql`CREATE INDEX events_pipeline_at_idx ON aquasync.events (pipeline, at DESC)`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['events', 'files', 'batches', 'jobs', 'runs', 'watermarks']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(`aquasync.${table}`)}`.execute(db);
  }
}
