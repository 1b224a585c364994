// A warehouse with a month of history for five pipelines, one per thing the status page must show:
//   billing  ok: runs every 6 h for 30 days (two failures, one abandoned), fresh watermark
//   usage    late: daily runs that stopped 3 days ago
//   payments failing: its last run failed with a hostile error message (markup that must stay text)
//   catalog  ok and running: a run going on now, its Zuora job submitted with 3 of 8 files staged
//   ledger   waiting: configured, never run
// plus warehouse tables with live and deleted rows, verifications, quarantined rows, an owed snapshot and events.
// History is written straight into the state tables (the page only reads them; writing them is tested elsewhere);
// the warehouse tables are created by the loader's own ensureTable.
import type pg from 'pg';
import type { PipelineConfig } from '../../src/config/index.ts';
import { parseConfig } from '../../src/config/index.ts';
import { DELETED_COLUMN, ensureTable } from '../../src/load/index.ts';
import type { TableSpec } from '../../src/plan/index.ts';

export const HOSTILE = '<img src=x onerror=alert(1)>';
export const HOSTILE_ERROR = `Zuora job failed: ${HOSTILE} <script>window.__pwned = 1</script>`;
export const SECRET = 'pw-do-not-show-7731';
export const CLIENT_SECRET = 'client-secret-do-not-show-4410';

export const YAML = `
source:
  baseUrl: https://rest.na.zuora.com
  clientId: ui-test-client
  clientSecret: ${CLIENT_SECRET}
warehouse:
  schema: zuora
pipelines:
  - name: billing
    schedule: "*/10 * * * *"
    timezone: UTC
    partner: aquasync
    project: billing
    objects:
      - { name: Account, fields: [Id, UpdatedDate] }
      - { name: Invoice, fields: [Id, UpdatedDate] }
  - name: usage
    schedule: "0 2 * * *"
    timezone: Europe/Paris
    partner: aquasync
    project: usage
    objects:
      - { name: Usage, fields: [Id, UpdatedDate] }
  - name: payments
    schedule: "0 * * * *"
    timezone: UTC
    partner: aquasync
    project: payments
    objects:
      - { name: Payment, fields: [Id, UpdatedDate] }
  - name: catalog
    schedule: "*/5 * * * *"
    timezone: UTC
    partner: aquasync
    project: catalog
    objects:
      - { name: Product, fields: [Id, UpdatedDate] }
  - name: ledger
    schedule: "30 3 * * 1"
    timezone: America/New_York
    partner: aquasync
    project: ledger
    objects:
      - { name: JournalEntry, fields: [Id, UpdatedDate] }
`;

export function fixturePipelines(): { pipelines: PipelineConfig[]; schema: string } {
  const config = parseConfig(YAML, 'ui-test-pipelines.yaml', {});
  return { pipelines: config.pipelines, schema: config.warehouse.schema };
}

const HOUR = 3_600_000;
const MINUTE = 60_000;

interface SeedRun {
  pipeline: string;
  kind?: 'scheduled' | 'manual' | 'backfill';
  status: 'succeeded' | 'failed' | 'running' | 'abandoned';
  start: number;
  seconds: number;
  written: number;
  read: number;
  quarantined?: number;
  job?: string;
  error?: [string, string];
}

/** A small deterministic generator, so the history (and the screenshot) is the same on every run. */
function numbers(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

function history(now: number): SeedRun[] {
  const random = numbers(42);
  const runs: SeedRun[] = [];
  // billing: every 6 hours for 30 days.
  for (let i = 119; i >= 0; i--) {
    const start = now - i * 6 * HOUR - 20 * MINUTE;
    const failed = i === 37 || i === 81;
    const abandoned = i === 60;
    const read = Math.round(2000 + random() * 6000 + (i < 20 ? 4000 : 0));
    runs.push({
      pipeline: 'billing',
      status: failed ? 'failed' : abandoned ? 'abandoned' : 'succeeded',
      start,
      seconds: Math.round(90 + random() * 200 + (i < 20 ? 120 : 0)),
      written: failed || abandoned ? 0 : read - Math.round(random() * 40),
      read: failed ? 0 : read,
      quarantined: i === 5 ? 3 : 0,
      job: `2c92c0f8${String(1000 + i)}billing`,
      error: failed ? ['ZUORA_JOB_FAILED', 'Zuora reported the job as error: Query timed out'] : abandoned ? ['ABANDONED', 'the process running this run stopped before finishing it'] : undefined,
    });
  }
  // usage: daily, stopped three days ago.
  for (let day = 30; day >= 3; day--) {
    const read = Math.round(30_000 + random() * 20_000);
    runs.push({ pipeline: 'usage', status: 'succeeded', start: now - day * 24 * HOUR, seconds: Math.round(600 + random() * 900), written: read, read, job: `2c92c0f9${day}usage` });
  }
  // payments: twice a day; the last one failed with a hostile message.
  for (let i = 59; i >= 1; i--) {
    const read = Math.round(500 + random() * 400);
    runs.push({ pipeline: 'payments', status: 'succeeded', start: now - i * 12 * HOUR - 2 * HOUR, seconds: Math.round(40 + random() * 60), written: read, read });
  }
  runs.push({
    pipeline: 'payments',
    status: 'failed',
    start: now - 50 * MINUTE,
    seconds: 75,
    written: 0,
    read: 0,
    job: '2c92c0fa-hostile',
    error: ['ZUORA_JOB_FAILED', HOSTILE_ERROR],
  });
  // catalog: daily, and one running now; a backfill last week.
  for (let day = 29; day >= 1; day--) {
    const read = Math.round(100 + random() * 80);
    runs.push({ pipeline: 'catalog', status: 'succeeded', start: now - day * 24 * HOUR + 3 * HOUR, seconds: Math.round(20 + random() * 30), written: read, read });
  }
  runs.push({ pipeline: 'catalog', kind: 'backfill', status: 'succeeded', start: now - 7 * 24 * HOUR, seconds: 1800, written: 24_000, read: 24_000 });
  runs.push({ pipeline: 'catalog', status: 'running', start: now - 4 * MINUTE, seconds: 0, written: 0, read: 0, job: '2c92c0fb-catalog-live' });
  return runs;
}

async function createTable(pool: pg.Pool, schema: string, table: string, object: string, live: number, deleted: number): Promise<void> {
  const spec: TableSpec = {
    schema,
    table,
    object,
    columns: [
      { header: 'Id', name: 'id', type: 'text', joined: false, position: 0, overridden: false },
      { header: 'UpdatedDate', name: 'updated_date', type: 'timestamptz', joined: false, position: 1, overridden: false },
    ],
    primaryKey: ['id'],
    updatedColumn: 'updated_date',
    deletedHeader: undefined,
    deletedPosition: undefined,
    deletes: 'soft',
  };
  const client = await pool.connect();
  try {
    await ensureTable(client, spec);
    await client.query(`INSERT INTO "${schema}"."${table}" (id, updated_date) SELECT 'id-' || g, now() FROM generate_series(1, $1) g`, [live + deleted]);
    // The deleted marker is a boolean today and may become a timestamp: set it whichever it is.
    const { rows } = await client.query<{ data_type: string }>(
      'SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = $3',
      [schema, table, DELETED_COLUMN],
    );
    const mark = rows[0]?.data_type === 'boolean' ? 'true' : 'now()';
    await client.query(`UPDATE "${schema}"."${table}" SET "${DELETED_COLUMN}" = ${mark} WHERE id IN (SELECT 'id-' || g FROM generate_series(1, $1) g)`, [deleted]);
  } finally {
    client.release();
  }
}

/** Writes the whole world into a migrated warehouse. `now` anchors every time (default: the real now). */
export async function seedWorld(pool: pg.Pool, now = Date.now()): Promise<void> {
  const runIds = new Map<SeedRun, number>();
  for (const run of history(now)) {
    const { rows } = await pool.query<{ id: number }>(
      `INSERT INTO aquasync.runs (pipeline, kind, status, started_at, finished_at, job_id, rows_written, rows_read, rows_quarantined,
         error_code, error_message, host, pid)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'ui-test', 1) RETURNING id`,
      [
        run.pipeline,
        run.kind ?? 'scheduled',
        run.status,
        new Date(run.start),
        run.status === 'running' ? null : new Date(run.start + run.seconds * 1000),
        run.job ?? null,
        run.written,
        run.read,
        run.quarantined ?? 0,
        run.error?.[0] ?? null,
        run.error?.[1] ?? null,
      ],
    );
    runIds.set(run, Number(rows[0]?.id));
  }
  const marks: [string, number][] = [
    ['billing', now - MINUTE],
    ['usage', now - 3 * 24 * HOUR - 5 * MINUTE],
    ['payments', now - 2 * HOUR - 10 * MINUTE],
    ['catalog', now - 2 * MINUTE],
  ];
  for (const [pipeline, at] of marks) {
    await pool.query('INSERT INTO aquasync.watermarks (pipeline, watermark, job_id) VALUES ($1, $2, $3)', [pipeline, new Date(at), `job-${pipeline}`]);
  }

  // catalog's in-flight job: Zuora is still running it; 3 of its 8 files are staged.
  const running = [...runIds.entries()].find(([r]) => r.status === 'running');
  const { rows: jobRows } = await pool.query<{ id: number }>(
    `INSERT INTO aquasync.jobs (zuora_job_id, idempotency_key, pipeline, run_id, kind, status, request, zuora_status, created_at, submitted_at)
     VALUES ('2c92c0fb-catalog-live', 'idem-catalog-1', 'catalog', $1, 'sync', 'submitted', '{}'::jsonb, 'executing', $2, $2) RETURNING id`,
    [running?.[1] ?? null, new Date(now - 4 * MINUTE)],
  );
  const jobId = Number(jobRows[0]?.id);
  await pool.query(`INSERT INTO aquasync.batches (job_id, name, object, table_name) VALUES ($1, 'Product', 'Product', 'product')`, [jobId]);
  for (let i = 0; i < 8; i++) {
    await pool.query(`INSERT INTO aquasync.files (file_id, job_id, batch_name, ordinal, status) VALUES ($1, $2, 'Product', $3, $4)`, [
      `file-${i}`,
      jobId,
      i,
      i < 3 ? 'staged' : 'pending',
    ]);
  }

  // Finished sync jobs (Zuora took 4 and 7 minutes) and the scheduler's slot ledger, for /metrics.
  for (const [pipeline, key, submitted, minutes] of [
    ['billing', 'idem-billing-1', now - 6 * HOUR - 20 * MINUTE, 4],
    ['billing', 'idem-billing-2', now - 20 * MINUTE, 7],
  ] as const) {
    await pool.query(
      `INSERT INTO aquasync.jobs (zuora_job_id, idempotency_key, pipeline, kind, status, request, zuora_status, created_at, submitted_at, completed_at, applied_at)
       VALUES ($1, $2, $3, 'sync', 'applied', '{}'::jsonb, 'completed', $4, $4, $5, $5)`,
      [`job-${key}`, key, pipeline, new Date(submitted), new Date(submitted + minutes * MINUTE)],
    );
  }
  const slot = `INSERT INTO aquasync.schedule_slots (pipeline, due_at, trigger, status, owner, started_at, finished_at, rows_written, error)
      VALUES ($1, $2, 'cron', $3, 'ui-test', $2, $4, $5, $6)`;
  await pool.query(slot, ['billing', new Date(now - 20 * MINUTE), 'succeeded', new Date(now - 16 * MINUTE), 10_006, null]);
  await pool.query(slot, ['payments', new Date(now - 50 * MINUTE), 'failed', new Date(now - 49 * MINUTE), 0, HOSTILE_ERROR]);

  const schema = 'zuora';
  await createTable(pool, schema, 'account', 'Account', 12_840, 160);
  await createTable(pool, schema, 'invoice', 'Invoice', 48_210, 0);
  await createTable(pool, schema, 'usage', 'Usage', 96_500, 1_250);
  await createTable(pool, schema, 'payment', 'Payment', 7_311, 12);
  await createTable(pool, schema, 'product', 'Product', 420, 3);
  // journal_entry is never created: ledger has not run.

  const verification = `INSERT INTO aquasync.verifications (pipeline, object, table_name, kind, checked_at, ok, zuora_rows, warehouse_rows,
      rows_missing, rows_extra, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`;
  await pool.query(verification, ['billing', 'Account', 'zuora.account', 'verify', new Date(now - 2 * 24 * HOUR), false, 13_000, 12_990, 12, 2, null]);
  await pool.query(verification, ['billing', 'Account', 'zuora.account', 'verify', new Date(now - 3 * HOUR), true, 13_000, 13_000, 0, 0, null]);
  await pool.query(verification, ['billing', 'Invoice', 'zuora.invoice', 'verify', new Date(now - 3 * HOUR), false, 48_260, 48_210, 50, 0, null]);
  await pool.query(verification, ['payments', 'Payment', 'zuora.payment', 'reconcile', new Date(now - 26 * HOUR), false, 0, 0, 0, 0, `Data Query failed: ${HOSTILE}`]);

  const rejected = `INSERT INTO aquasync.rejected_rows (pipeline, object, table_name, job_id, file_id, line, record, raw_line, error, fingerprint, resolved_at)
      VALUES ($1, 'Account', 'account', 'job', 'file', $2, $3, $4, 'invalid input syntax for type numeric', $5, $6)`;
  await pool.query(rejected, ['billing', 10, 9, 'a,b,c', 'f1', null]);
  await pool.query(rejected, ['billing', 11, 10, 'a,b,d', 'f2', null]);
  await pool.query(rejected, ['billing', 12, 11, 'a,b,e', 'f3', null]);
  await pool.query(rejected, ['billing', 13, 12, 'a,b,f', 'f4', new Date(now - HOUR)]); // resolved: not counted

  await pool.query(
    `INSERT INTO aquasync.snapshots (pipeline, table_name, object, query, owed_reason, owed_since) VALUES ('usage', 'usage', 'Usage', 'q', $1, $2)`,
    ['the query changed (a field was added): a complete snapshot is owed', new Date(now - 3 * 24 * HOUR)],
  );

  const event = 'INSERT INTO aquasync.events (pipeline, job_id, at, kind, message) VALUES ($1, $2, $3, $4, $5)';
  await pool.query(event, ['billing', null, new Date(now - 30 * HOUR), 'file-expired', 'result file 2c92c0f8 expired before it was downloaded; the job is submitted again']);
  await pool.query(event, ['usage', null, new Date(now - 3 * 24 * HOUR), 'snapshot-owed', 'the query changed: the next run takes a complete snapshot of zuora.usage']);
  await pool.query(event, ['billing', null, new Date(now - 9 * 24 * HOUR), 'unexpected-full-snapshot', 'Zuora sent a full snapshot of Account where an incremental one was expected']);
  await pool.query(event, ['payments', jobId, new Date(now - 40 * MINUTE), 'job-abandoned', `Zuora said: ${HOSTILE}`]);
  // A message that quotes a connection string: the page must not show the password.
  await pool.query(event, ['payments', null, new Date(now - 45 * MINUTE), 'file-expired', `retrying against postgres://sync:${SECRET}@db.internal:5432/warehouse`]);
}
