// The benchmark's moving parts: an in-process emulator that renders result files ahead (so downloads measure the
// loader, not the renderer), one throw-away database per run, and the four ways of loading the same rows:
//   copy-limit  curl | gunzip | psql \copy ... FREEZE straight into a typed table created in the same
//               transaction, then the primary-key build: what Postgres can do at all;
//   ceiling   curl | gunzip | psql \copy into the loader's staging tables, then the loader's own merge SQL;
//   aquasync  `node bin/aquasync.js sync` (the compiled CLI in dist/) as a child process (full, then 10% changed, then nothing changed);
//   naive     csv-parse in Node and Kysely insertInto().values().onConflict() in batches of 1,000.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pLimit from 'p-limit';
import pg from 'pg';
import { loadConfig, type PipelineConfig } from '../src/config/index.ts';
import { decodeResultFile, readCsvHeader } from '../src/decode/index.ts';
import { startEmulator, type Emulator, type JobSummary } from '../src/emulator/index.ts';
import { applyStaged, DELETED_COLUMN as WAREHOUSE_DELETED_COLUMN, ensureTable, STAGE_SCHEMA } from '../src/load/index.ts';
import { silentLogger } from '../src/log.ts';
import { planTable, ZUORA_DELETED_COLUMN, type TableSpec } from '../src/plan/index.ts';
import { ZuoraClient, type ObjectDescription } from '../src/zuora/index.ts';
import type { BenchOptions, Measurement, Variant } from './report.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PARTNER = 'aquasync';
/** The InvoiceItem pipeline of the default pipelines.yaml: 15 columns of text, decimals, dates and datetimes. */
const QUERY =
  'select Id, ChargeAmount, ChargeDate, ChargeName, ServiceStartDate, ServiceEndDate, Quantity, UnitPrice, TaxAmount, ' +
  'SKU, ProcessingType, CreatedDate, UpdatedDate, Invoice.Id, Subscription.Id from InvoiceItem';
const NAIVE_BATCH = 1_000;

export interface BenchRunOptions extends BenchOptions {
  /** A Postgres server URL; each run creates (and drops) its own database next to the one named. */
  databaseUrl: string;
  /** Progress lines (stderr in the CLI). */
  log: (line: string) => void;
}

export interface BenchResult {
  measurements: Partial<Record<Variant, Measurement[]>>;
  /** Per run: rows the emulator served in the full load, and rows aquasync's warehouse table then held. */
  checks: { served: number; loaded: number; ceilingLoaded: number | undefined; naiveLoaded: number | undefined; copyLimitLoaded?: number | undefined }[];
  /** Seconds the emulator took to render the first full load's files (outside every timed section). */
  renderSeconds: number;
}

interface Run {
  index: number;
  db: string;
  dbUrl: string;
  home: string;
  configPath: string;
  project: string;
}

export async function runBench(options: BenchRunOptions): Promise<BenchResult> {
  const { log } = options;
  const work = mkdtempSync(join(tmpdir(), 'aquasync-bench-'));
  // The aquasync child runs the embedded-Postgres-aware CLI; as root it may hand paths to the postgres user.
  chmodSync(work, 0o755);
  const started = performance.now();
  log(`starting the emulator with ${options.rows.toLocaleString('en-US')} InvoiceItem rows`);
  const emulator = await startEmulator({
    rows: options.rows,
    segmentSize: options.segmentSize,
    renderFilesAhead: true,
    timing: { queuedMs: 20, executingMs: 20 },
  });
  log(`emulator ready in ${seconds(started).toFixed(1)} s at ${emulator.url}`);
  const admin = new pg.Client({ connectionString: options.databaseUrl });
  await admin.connect();
  const runs: Run[] = [];
  const result: BenchResult = { measurements: {}, checks: [], renderSeconds: 0 };
  const add = (variant: Variant, m: Measurement): void => {
    (result.measurements[variant] ??= []).push(m);
    log(
      `  ${variant}: ${m.rows.toLocaleString('en-US')} rows in ${m.seconds.toFixed(2)} s` +
        (m.jobSeconds > 0 ? ` (+ emulator job ${m.jobSeconds.toFixed(2)} s)` : '') +
        (m.runSeconds === undefined ? '' : `, ${m.runSeconds.toFixed(2)} s after start-up`) +
        (m.peakRssMb === undefined ? '' : `, peak RSS ${m.peakRssMb} MB`) +
        (m.peakDiskMb === undefined ? '' : `, peak disk ${m.peakDiskMb} MB`),
    );
  };
  try {
    for (let r = 1; r <= options.runs; r++) {
      const run = await prepareRun(r, work, admin, options, emulator);
      runs.push(run);
      log(`run ${r} of ${options.runs} (database ${run.db})`);

      // 1. aquasync full load into an empty warehouse. Its job's files are then the ones the other variants load.
      const full = await runAquasync(run, emulator, options.log);
      add('aquasync-full', full.measurement);
      if (r === 1) result.renderSeconds = full.measurement.jobSeconds;
      const job = full.job;
      const fileIds = job.batches[0]?.fileIds ?? [];
      const served = job.batches[0]?.recordCount ?? 0;
      const loaded = await countRows(run.dbUrl, 'zuora');

      // 2. The staging ceiling and the copy limit, from the same (already rendered) files.
      const prepared = await prepare(run, emulator, options, fileIds[0] ?? '');
      let ceilingLoaded: number | undefined;
      let copyLimitLoaded: number | undefined;
      if (options.limits) {
        const ceiling = await runCeiling(run, emulator, options, fileIds, prepared);
        if (ceiling.measurement !== undefined) add('ceiling', ceiling.measurement);
        ceilingLoaded = ceiling.loaded;
        const limit = await runCopyLimit(run, emulator, options, fileIds, prepared);
        if (limit !== undefined) add('copy-limit', limit);
        copyLimitLoaded = limit?.rows;
      }

      if (options.vacuum) {
        const vacuumStarted = performance.now();
        await vacuumTable(run.dbUrl);
        log(`  VACUUM (ANALYZE) zuora.invoice_item in ${seconds(vacuumStarted).toFixed(1)} s (not counted)`);
      }

      // 3. Rows change (10% by default, or each --changed count in turn); aquasync loads them incrementally, then
      // once more with nothing changed.
      for (const count of options.changed ?? [Math.ceil(served / 10)]) {
        const changedIds = await pickChanged(run.dbUrl, count);
        const mutateStarted = performance.now();
        for (const [i, id] of changedIds.entries()) {
          emulator.admin.update('InvoiceItem', id, { ChargeAmount: `${r}${i % 1000}.25`, ChargeName: `Changed in run ${r}, "v${r}"` });
        }
        log(`  changed ${changedIds.length.toLocaleString('en-US')} rows in the emulator in ${seconds(mutateStarted).toFixed(1)} s`);
        // The changes lie 2 s before the incremental job starts, outside the second of overlap every window re-reads
        // (changes made in the watermark's own second are read again by the next run, by design); so the no-change
        // run below really has nothing to read.
        emulator.admin.clock.advance(2_000);
        const variant: Variant = options.changed === undefined ? 'aquasync-incremental' : `aquasync-incremental-${count}`;
        add(variant, (await runAquasync(run, emulator, options.log)).measurement);
      }
      add('aquasync-no-change', (await runAquasync(run, emulator, options.log)).measurement);

      // 4. The naive baseline, from the full load's files.
      let naiveLoaded: number | undefined;
      if (options.naive) {
        const naive = await runNaive(run, emulator, options, fileIds, prepared.spec('naive'));
        add('naive', naive);
        naiveLoaded = await countRows(run.dbUrl, 'naive');
      }
      result.checks.push({ served, loaded, ceilingLoaded, naiveLoaded, copyLimitLoaded });
      // Keep the disk flat across runs: each run's warehouse is dropped once measured.
      await admin.query(`DROP DATABASE IF EXISTS "${run.db}" WITH (FORCE)`);
    }
  } finally {
    for (const run of runs) await admin.query(`DROP DATABASE IF EXISTS "${run.db}" WITH (FORCE)`);
    await admin.end();
    await emulator.close();
    rmSync(work, { recursive: true, force: true });
  }
  return result;
}

async function prepareRun(index: number, work: string, admin: pg.Client, options: BenchRunOptions, emulator: Emulator): Promise<Run> {
  const tag = randomBytes(4).toString('hex');
  const db = `aquasync_bench_${tag}_${index}`;
  await admin.query(`CREATE DATABASE "${db}"`);
  const url = new URL(options.databaseUrl);
  url.pathname = `/${db}`;
  const home = join(work, `run-${index}`);
  const configPath = join(work, `run-${index}.yaml`);
  const project = `bench-${tag}-${index}`;
  // A fresh session per run: its first job is a full load, like a first sync against a new warehouse.
  const yaml = `source:
  baseUrl: ${emulator.url}
  clientId: ${JSON.stringify(emulator.clientId)}
  clientSecret: ${JSON.stringify(emulator.clientSecret)}
warehouse:
  schema: zuora
pipelines:
  - name: bench
    schedule: "0 2 * * *"
    partner: ${PARTNER}
    project: ${project}
    format: ${options.format}
    offset: 0
    lookback: 0
    concurrency: ${options.concurrency}
    startDate: "2000-01-01T00:00:00Z"
    objects:
      - name: InvoiceItem
        query: ${QUERY}
        table: invoice_item
        primaryKey: [Id]
`;
  writeFileSync(configPath, yaml);
  return { index, db, dbUrl: url.toString(), home, configPath, project };
}

// ---- aquasync ----------------------------------------------------------------------------------------------

async function runAquasync(run: Run, emulator: Emulator, log: (line: string) => void): Promise<{ measurement: Measurement; job: JobSummary }> {
  const before = new Set(emulator.admin.jobs().map((j) => j.id));
  const disk = await DiskSampler.start(run.dbUrl);
  const started = performance.now();
  const { code, peakRssMb, output } = await spawnMeasured(
    process.execPath,
    [join(ROOT, 'bin/aquasync.js'), 'sync', '--config', run.configPath, '--log-format', 'json', ...(process.env.BENCH_DEBUG ? ['--log-level', 'debug'] : [])],
    { ...process.env, DATABASE_URL: run.dbUrl, AQUASYNC_HOME: run.home },
  );
  const wallSeconds = seconds(started);
  const peakDiskMb = await disk.stop();
  if (process.env.BENCH_DEBUG) process.stderr.write(`spawned at ${new Date(Date.now() - wallSeconds * 1000).toISOString()}\n${output}`);
  if (code !== 0) throw new Error(`aquasync sync exited with ${code} in run ${run.index}:\n${output.slice(-4000)}`);
  const job = emulator.admin.jobs().find((j) => !before.has(j.id) && j.project === run.project);
  if (job === undefined) throw new Error(`aquasync sync in run ${run.index} submitted no job to the emulator`);
  const jobSeconds = ((job.finishedAt ?? job.submittedAt) - job.submittedAt) / 1000;
  const rows = job.batches.reduce((n, b) => n + b.recordCount, 0);
  // The run as aquasync itself timed it (no process start-up: Node and the module graph).
  const durationMs = Number(/"msg":"run finished".*?"durationMs":(\d+)/.exec(output)?.[1] ?? Number.NaN);
  const runSeconds = durationMs / 1000 - jobSeconds;
  const phases = phaseTimes(output);
  if (phases !== undefined) log(`  aquasync phases: stage ${phases.stage.toFixed(2)} s, merge + commit ${phases.apply.toFixed(2)} s`);
  return { measurement: { rows, seconds: wallSeconds - jobSeconds, wallSeconds, jobSeconds, runSeconds, peakRssMb, peakDiskMb }, job };
}

/** Stage and apply durations from the timestamps of aquasync's JSON log lines. */
function phaseTimes(output: string): { stage: number; apply: number } | undefined {
  const at = (pattern: RegExp): number | undefined => {
    for (const line of output.split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as { time?: string; msg?: string };
      if (entry.msg !== undefined && pattern.test(entry.msg) && entry.time !== undefined) return Date.parse(entry.time);
    }
    return undefined;
  };
  const completed = at(/^job \S+ completed/);
  const staged = at(/^staged \d+ file/);
  const loaded = at(/^wrote \d+ row/);
  if (completed === undefined || staged === undefined || loaded === undefined) return undefined;
  return { stage: (staged - completed) / 1000, apply: (loaded - staged) / 1000 };
}

/** Runs a child process, sampling its peak RSS (VmHWM, a high-water mark the kernel keeps) until it exits. */
function spawnMeasured(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<{ code: number | null; peakRssMb: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (input !== undefined) child.stdin?.end(input);
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-64 * 1024);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let peakKb = 0;
    const sample = (): void => {
      if (child.pid === undefined) return;
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? 0));
      } catch {
        // The process has exited between two samples; the last sample stands.
      }
    };
    const timer = setInterval(sample, 25);
    child.once('error', (error) => {
      clearInterval(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearInterval(timer);
      resolve({ code, peakRssMb: Math.round(peakKb / 1024), output });
    });
  });
}

// ---- ceiling -----------------------------------------------------------------------------------------------

interface Prepared {
  client: ZuoraClient;
  pipeline: PipelineConfig;
  spec: (schema: string) => TableSpec;
  token: string;
}

async function prepare(run: Run, emulator: Emulator, options: BenchRunOptions, fileId: string): Promise<Prepared> {
  const config = await loadConfig(run.configPath, {});
  const pipeline = config.pipelines[0];
  const object = pipeline?.objects[0];
  if (pipeline === undefined || object === undefined) throw new Error(`${run.configPath} has no pipeline`);
  const client = new ZuoraClient({ baseUrl: emulator.url, clientId: emulator.clientId, clientSecret: emulator.clientSecret, logger: silentLogger });
  const described = new Map<string, ObjectDescription | undefined>();
  for (const name of ['InvoiceItem', 'Invoice', 'Subscription']) {
    described.set(name.toLowerCase(), await client.describe(name));
  }
  const file = await client.openFile(fileId);
  const decoded = await decodeResultFile(file.body, options.format, { fileId, object: object.name, tempDir: tmpdir() });
  const { header, csv } = await readCsvHeader(decoded, { fileId, object: object.name });
  csv.destroy();
  const tokenRes = await fetch(`${emulator.url}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: emulator.clientId, client_secret: emulator.clientSecret, grant_type: 'client_credentials' }),
  });
  const token = ((await tokenRes.json()) as { access_token: string }).access_token;
  const spec = (schema: string): TableSpec =>
    planTable({ schema, object, header, deletedColumn: ZUORA_DELETED_COLUMN, describe: (name) => described.get(name.toLowerCase()) });
  return { client, pipeline, spec, token };
}

async function runCeiling(
  run: Run,
  emulator: Emulator,
  options: BenchRunOptions,
  fileIds: string[],
  prepared: Prepared,
): Promise<{ measurement: Measurement | undefined; loaded: number | undefined }> {
  const spec = prepared.spec('ceiling');
  const missing = missingTools();
  if (missing.length > 0) {
    options.log(`  ceiling skipped: ${missing.join(', ')} not found on PATH (install the PostgreSQL client and curl)`);
    return { measurement: undefined, loaded: undefined };
  }
  const columnCount = spec.columns.length + (spec.deletedHeader === undefined ? 0 : 1);
  const columns = Array.from({ length: columnCount }, (_, i) => `c${i}`).join(', ');
  const stages = fileIds.map((_, i) => ({ table: `ceiling_${run.index}_${i}`, ordinal: i, seenAt: new Date() }));
  const pool = new pg.Pool({ connectionString: run.dbUrl, max: 2 });
  const disk = await DiskSampler.start(run.dbUrl);
  try {
    const started = performance.now();
    // The loader's staging layout (UNLOGGED, all text, identity seq), filled by native tools only.
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${STAGE_SCHEMA}`);
    for (const s of stages) {
      await pool.query(
        `CREATE UNLOGGED TABLE ${STAGE_SCHEMA}.${s.table} (seq bigint GENERATED ALWAYS AS IDENTITY, ${columns.split(', ').map((c) => `${c} text`).join(', ')})`,
      );
    }
    const limit = pLimit(options.concurrency);
    const decompress = options.format === 'gzip' ? ' | gunzip' : '';
    await Promise.all(
      fileIds.map((id, i) =>
        limit(async () => {
          const copy = `\\copy ${STAGE_SCHEMA}.${stages[i]?.table ?? ''} (${columns}) from stdin with (format csv, header true, encoding 'UTF8')`;
          const script =
            `set -o pipefail; curl -sfS -H "Authorization: Bearer $BENCH_TOKEN" "$BENCH_URL"${decompress} | ` +
            `psql -X -q -v ON_ERROR_STOP=1 "$BENCH_DB" -c "$BENCH_COPY"`;
          const { code, output } = await spawnMeasured('bash', ['-c', script], {
            ...process.env,
            BENCH_TOKEN: prepared.token,
            BENCH_URL: `${emulator.url}/v1/files/${id}`,
            BENCH_DB: run.dbUrl,
            BENCH_COPY: copy,
          });
          if (code !== 0) throw new Error(`ceiling load of ${id} failed (exit ${code}): ${output.slice(-2000)}`);
        }),
      ),
    );
    const copied = seconds(started);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      for (const [name, value] of options.mergeSettings) await client.query(`SET LOCAL ${name} = '${value}'`);
      await applyStaged(client, spec, {
        stages,
        jobId: 'ceiling',
        quarantine: { pipeline: 'bench', columnCount: spec.columns.length + (spec.deletedPosition === undefined ? 0 : 1), origins: new Map() },
      });
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
    const wallSeconds = seconds(started);
    const peakDiskMb = await disk.stop();
    options.log(`  ceiling: download + \\copy ${copied.toFixed(2)} s, merge ${(wallSeconds - copied).toFixed(2)} s`);
    await pool.query(`DROP TABLE IF EXISTS ${stages.map((s) => `${STAGE_SCHEMA}.${s.table}`).join(', ')}`);
    const loaded = await countRows(run.dbUrl, 'ceiling');
    // Dropped once counted: the next variant's disk and I/O should not carry it.
    await pool.query('DROP SCHEMA ceiling CASCADE');
    return { measurement: { rows: loaded, seconds: wallSeconds, wallSeconds, jobSeconds: 0, runSeconds: undefined, peakRssMb: undefined, peakDiskMb }, loaded };
  } finally {
    await disk.stop();
    await pool.end();
  }
}

// ---- copy limit --------------------------------------------------------------------------------------------

/**
 * What Postgres can do at all with these files: one psql session creates the typed table (no key), `\copy`s every
 * file into it with FREEZE (legal because the table is new in the same transaction), adds the primary key and
 * commits. Values are read by COPY's own input functions, so this is a bound, not an equivalent of aquasync's
 * casts; the files hold each key once, as a full snapshot does.
 */
async function runCopyLimit(run: Run, emulator: Emulator, options: BenchRunOptions, fileIds: string[], prepared: Prepared): Promise<Measurement | undefined> {
  const missing = missingTools();
  if (missing.length > 0) {
    options.log(`  copy-limit skipped: ${missing.join(', ')} not found on PATH`);
    return undefined;
  }
  const spec = prepared.spec('copy_limit');
  const deleted = spec.deletedPosition;
  const width = spec.columns.length + (deleted === undefined ? 0 : 1);
  const byPosition = new Map(spec.columns.map((c) => [c.position, c]));
  const columns = Array.from({ length: width }, (_, i) => {
    const c = byPosition.get(i);
    return c === undefined ? `"_deleted" boolean` : `"${c.name}" ${c.type}`;
  });
  const decompress = options.format === 'gzip' ? ' | gunzip' : '';
  const table = `copy_limit.${spec.table}`;
  const lines = [
    '\\set ON_ERROR_STOP 1',
    'CREATE SCHEMA copy_limit;',
    'BEGIN;',
    `CREATE TABLE ${table} (${columns.join(', ')});`,
    ...fileIds.map(
      (id) =>
        `\\copy ${table} from program 'curl -sfS -H "Authorization: Bearer ${prepared.token}" "${emulator.url}/v1/files/${id}"${decompress}' with (format csv, header true, encoding 'UTF8', freeze true)`,
    ),
    `ALTER TABLE ${table} ADD PRIMARY KEY (${spec.primaryKey.map((k) => `"${k}"`).join(', ')});`,
    'COMMIT;',
  ];
  const disk = await DiskSampler.start(run.dbUrl);
  const started = performance.now();
  const { code, output } = await spawnMeasured('psql', ['-X', '-q', run.dbUrl], process.env, `${lines.join('\n')}\n`);
  const wallSeconds = seconds(started);
  const peakDiskMb = await disk.stop();
  if (code !== 0) throw new Error(`copy-limit load failed (exit ${code}): ${output.slice(-2000)}`);
  const rows = await countRows(run.dbUrl, 'copy_limit');
  const admin = new pg.Client({ connectionString: run.dbUrl });
  await admin.connect();
  await admin.query('DROP SCHEMA copy_limit CASCADE').finally(() => admin.end());
  return { rows, seconds: wallSeconds, wallSeconds, jobSeconds: 0, runSeconds: undefined, peakRssMb: undefined, peakDiskMb };
}

/**
 * Samples, every 200 ms, how much disk a variant has taken: its database's growth over the size when sampling
 * started, plus the temporary files (sorts, hashes spilling) of the sessions connected to that database, so another
 * load on the same server does not count. WAL is left out: the server recycles it within max_wal_size whatever loads
 * it, and it is shared with everything else the server does. Parallel workers' shared temp files (in fileset
 * folders, which pg_ls_tmpdir does not list) are not counted either.
 */
class DiskSampler {
  private peak = 0;
  private stopped: Promise<number> | undefined;
  private readonly timer: NodeJS.Timeout;
  private pending: Promise<void> = Promise.resolve();

  private constructor(
    private readonly client: pg.Client,
    private readonly base: number,
  ) {
    this.timer = setInterval(() => {
      this.pending = this.pending.then(() => this.sample());
    }, 200);
  }

  static async start(url: string): Promise<DiskSampler> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const res = await client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n');
    return new DiskSampler(client, Number(res.rows[0]?.n ?? 0));
  }

  private async sample(): Promise<void> {
    try {
      const res = await this.client.query<{ n: string }>(
        `SELECT pg_database_size(current_database()) + COALESCE((
           SELECT sum(t.size) FROM pg_ls_tmpdir() AS t
           WHERE substring(t.name FROM '^pgsql_tmp([0-9]+)')::int IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())
         ), 0) AS n`,
      );
      this.peak = Math.max(this.peak, Number(res.rows[0]?.n ?? 0) - this.base);
    } catch {
      // A file vanishing between listing and stat fails one sample; the next one counts.
    }
  }

  /** Stops sampling (idempotent) and returns the peak in MB. */
  stop(): Promise<number> {
    this.stopped ??= (async () => {
      clearInterval(this.timer);
      await this.pending;
      await this.sample();
      await this.client.end();
      return Math.round(this.peak / 2 ** 20);
    })();
    return this.stopped;
  }
}

function missingTools(): string[] {
  return ['bash', 'curl', 'gunzip', 'psql'].filter((tool) => !onPath(tool));
}

// ---- naive -------------------------------------------------------------------------------------------------

type Row = Record<string, string | boolean | null>;

async function runNaive(run: Run, emulator: Emulator, options: BenchRunOptions, fileIds: string[], spec: TableSpec): Promise<Measurement> {
  const pool = new pg.Pool({ connectionString: run.dbUrl, max: 2 });
  const db = new Kysely<Record<string, Row>>({ dialect: new PostgresDialect({ pool }) });
  const client = new ZuoraClient({ baseUrl: emulator.url, clientId: emulator.clientId, clientSecret: emulator.clientSecret, logger: silentLogger });
  try {
    const started = performance.now();
    const setup = await pool.connect();
    try {
      await ensureTable(setup, spec);
    } finally {
      setup.release();
    }
    const names = spec.columns.map((c) => c.name);
    const pk = spec.primaryKey;
    const table = `naive.${spec.table}`;
    const offset = spec.deletedHeader === undefined ? 0 : 1;
    let rows = 0;
    for (const fileId of fileIds) {
      const file = await client.openFile(fileId);
      const csv = await decodeResultFile(file.body, options.format, { fileId, object: spec.object, tempDir: tmpdir() });
      let batch: Row[] = [];
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        await db
          .insertInto(table)
          .values(batch)
          .onConflict((oc) =>
            oc.columns(pk).doUpdateSet(Object.fromEntries(names.map((n) => [n, sql`excluded.${sql.ref(n)}`]))),
          )
          .execute();
        rows += batch.length;
        batch = [];
      };
      for await (const record of csv.pipe(parse({ from_line: 2 })) as AsyncIterable<string[]>) {
        const row: Row = {};
        if (offset === 1) row[WAREHOUSE_DELETED_COLUMN] = record[0] === 'true';
        names.forEach((name, i) => {
          const value = record[i + offset];
          row[name] = value === undefined || value === '' ? null : value;
        });
        batch.push(row);
        if (batch.length >= NAIVE_BATCH) await flush();
      }
      await flush();
    }
    const wallSeconds = seconds(started);
    return { rows, seconds: wallSeconds, wallSeconds, jobSeconds: 0, runSeconds: undefined, peakRssMb: undefined };
  } finally {
    await db.destroy();
  }
}

// ---- helpers -----------------------------------------------------------------------------------------------

async function countRows(url: string, schema: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const res = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".invoice_item`);
    return Number(res.rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

async function vacuumTable(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('VACUUM (ANALYZE) zuora.invoice_item');
  } finally {
    await client.end();
  }
}

/** `count` InvoiceItem ids spread evenly over the loaded warehouse: the rows an incremental measurement changes. */
async function pickChanged(url: string, count: number): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const res = await client.query<{ id: string }>(
      `SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n, count(*) OVER () AS total FROM zuora.invoice_item) t
       WHERE n % greatest(total / $1::bigint, 1) = 0 ORDER BY n LIMIT $1::bigint`,
      [count],
    );
    return res.rows.map((row) => row.id);
  } finally {
    await client.end();
  }
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, tool)));
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}
