// The scheduler's ledger: one row per fired schedule slot of a pipeline. Two constraints carry the exactly-once
// guarantee across replicas: the primary key lets exactly one replica claim a slot, and the partial unique index
// lets at most one slot of a pipeline be running at any moment. A running slot holds a lease that its replica
// keeps extending (heartbeat); when the lease runs out, another replica takes the slot over.
/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against an untyped schema */
import { sql, type Kysely } from 'kysely';

const statements = [
  sql`CREATE TABLE aquasync.schedule_slots (
    pipeline text NOT NULL,
    due_at timestamptz NOT NULL,
    trigger text NOT NULL CHECK (trigger IN ('cron', 'resume')),
    status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped', 'abandoned')),
    owner text NOT NULL,
    attempts integer NOT NULL DEFAULT 1,
    lease_until timestamptz,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz,
    finished_at timestamptz,
    taken_over_from text,
    run_ids bigint[] NOT NULL DEFAULT '{}',
    rows_loaded bigint,
    error text,
    PRIMARY KEY (pipeline, due_at)
  )`,
  sql`CREATE UNIQUE INDEX schedule_slots_one_running_idx ON aquasync.schedule_slots (pipeline) WHERE status = 'running'`,
  sql`CREATE INDEX schedule_slots_finished_idx ON aquasync.schedule_slots (pipeline, finished_at DESC) WHERE status = 'succeeded'`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE IF EXISTS aquasync.schedule_slots`.execute(db);
}
