// State for the guarantees that need memory across runs:
// - runs and schedule slots count rows written (inserted, changed or deleted) apart from rows read from files, and
//   rows sent to quarantine;
// - snapshots: per pipeline and table, the query last asked for and whether a complete snapshot is still owed;
// - snapshot jobs: a stateless full export that pays an owed snapshot, applied with its stateful job (parent);
// - tombstones: the key, deletion time and last UpdatedDate of every hard-deleted row, so an older version can
//   never bring it back (soft-deleted rows keep theirs in the row: `_aquasync_deleted_at`);
// - rejected_rows: rows whose values Postgres cannot take, quarantined while every other row loads.
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against an untyped schema */
import { sql, type Kysely } from 'kysely';

const statements = [
  sql`ALTER TABLE aquasync.runs RENAME COLUMN rows_loaded TO rows_written`,
  sql`ALTER TABLE aquasync.runs ADD COLUMN rows_read bigint NOT NULL DEFAULT 0`,
  sql`ALTER TABLE aquasync.runs ADD COLUMN rows_quarantined bigint NOT NULL DEFAULT 0`,
  sql`ALTER TABLE aquasync.schedule_slots RENAME COLUMN rows_loaded TO rows_written`,
  sql`ALTER TABLE aquasync.jobs DROP CONSTRAINT IF EXISTS jobs_kind_check`,
  sql`ALTER TABLE aquasync.jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('sync', 'backfill', 'snapshot'))`,
  sql`ALTER TABLE aquasync.jobs ADD COLUMN parent_job_id bigint REFERENCES aquasync.jobs (id) ON DELETE CASCADE`,
  sql`CREATE INDEX jobs_parent_idx ON aquasync.jobs (parent_job_id) WHERE parent_job_id IS NOT NULL`,
  sql`CREATE TABLE aquasync.snapshots (
    pipeline text NOT NULL,
    table_name text NOT NULL,
    object text NOT NULL,
    query text NOT NULL,
    owed_reason text,
    owed_since timestamptz,
    last_snapshot_at timestamptz,
    last_snapshot_job text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pipeline, table_name)
  )`,
  sql`CREATE TABLE aquasync.tombstones (
    schema_name text NOT NULL,
    table_name text NOT NULL,
    key text NOT NULL,
    deleted_at timestamptz NOT NULL,
    updated_at timestamptz,
    job_id text,
    PRIMARY KEY (schema_name, table_name, key)
  )`,
  sql`CREATE TABLE aquasync.rejected_rows (
    id bigserial PRIMARY KEY,
    pipeline text NOT NULL,
    object text NOT NULL,
    table_name text NOT NULL,
    job_id text,
    file_id text NOT NULL,
    line bigint,
    record bigint,
    raw_line text NOT NULL,
    error text NOT NULL,
    fingerprint text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    times_seen integer NOT NULL DEFAULT 1,
    resolved_at timestamptz,
    UNIQUE (pipeline, table_name, fingerprint)
  )`,
  sql`CREATE INDEX rejected_rows_open_idx ON aquasync.rejected_rows (pipeline, table_name) WHERE resolved_at IS NULL`,
  // Postgres 16 has pg_input_is_valid; on 15 the quarantine asks this function (only after a merge failed).
  // No backslashes in this SQL: the sql tag cooks them away (a broken regex here made every exact test false).
  sql`CREATE OR REPLACE FUNCTION aquasync.input_is_valid(value text, type text) RETURNS boolean
    LANGUAGE plpgsql STABLE AS $fn$
    BEGIN
      IF type !~ '^[a-z0-9_ (),.]+([[][]])?$' THEN
        RAISE EXCEPTION 'aquasync.input_is_valid: % is not a type name', quote_literal(type);
      END IF;
      EXECUTE format('SELECT %L::%s', value, type);
      RETURN true;
    EXCEPTION WHEN data_exception THEN
      RETURN false;
    END
    $fn$`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION IF EXISTS aquasync.input_is_valid(text, text)`.execute(db);
  await sql`DROP TABLE IF EXISTS aquasync.rejected_rows, aquasync.tombstones, aquasync.snapshots`.execute(db);
  await sql`DELETE FROM aquasync.jobs WHERE kind = 'snapshot'`.execute(db);
  await sql`ALTER TABLE aquasync.jobs DROP COLUMN IF EXISTS parent_job_id`.execute(db);
  await sql`ALTER TABLE aquasync.jobs DROP CONSTRAINT IF EXISTS jobs_kind_check`.execute(db);
  await sql`ALTER TABLE aquasync.jobs ADD CONSTRAINT jobs_kind_check CHECK (kind IN ('sync', 'backfill'))`.execute(db);
  await sql`ALTER TABLE aquasync.schedule_slots RENAME COLUMN rows_written TO rows_loaded`.execute(db);
  await sql`ALTER TABLE aquasync.runs DROP COLUMN rows_quarantined, DROP COLUMN rows_read`.execute(db);
  await sql`ALTER TABLE aquasync.runs RENAME COLUMN rows_written TO rows_loaded`.execute(db);
}
