// Shared by the chaos, bad-input and secret tests (and scripts/chaos.ts): a pipelines.yaml for an emulator, and
// checks of the warehouse against the emulator's truth that report differences as strings instead of asserting, so
// the chaos script can print them. The CLI helpers live in test/helpers/cli.ts; they are re-exported here for these
// callers.
import type pg from 'pg';

export { diffTable, type DiffOptions, type TableCheck } from '../helpers/truth.ts';
import type { TableCheck } from '../helpers/truth.ts';

export { aquasync, BIN, cliEnv, ROOT, type CliOutcome, type CliRun } from '../helpers/cli.ts';

export const ACCOUNT_FIELDS = ['Id', 'Name', 'Balance', 'Status', 'AutoPay', 'BillCycleDay', 'Notes', 'UpdatedDate'];
export const ITEM_FIELDS = ['Id', 'ChargeAmount', 'ChargeDate', 'Quantity', 'UpdatedDate'];

/** The tables configYaml's pipelines load, for the oracle. */
export const TABLES: TableCheck[] = [
  { object: 'Account', table: 'account', fields: ACCOUNT_FIELDS },
  { object: 'InvoiceItem', table: 'invoice_item', fields: ITEM_FIELDS },
];

export interface PipelineYaml {
  name: string;
  project?: string;
  format?: 'csv' | 'gzip' | 'zip';
  lookback?: number;
  partner?: string;
  /** Replaces the Account field list. */
  accountFields?: string[];
  /** Replaces the InvoiceItem field list. */
  itemFields?: string[];
  /** Seconds a job (and a submit queued behind Zuora's 90028 limit) may take. */
  jobTimeout?: number;
  /** Extra keys for the pipeline-level `source:` map (YAML lines, already indented by 6). */
  source?: string[];
  /** Files staged at once (default: the config default). */
  concurrency?: number;
  deletes?: 'soft' | 'hard' | 'ignore';
  offset?: number;
  /** Prefix of the warehouse tables (one table has one writer): default none for the first pipeline, `<name>_` after. */
  tablePrefix?: string;
}

/** The warehouse tables configYaml gives the pipeline at `index`, for the oracle. */
export function tablesOf(p: PipelineYaml, index: number): TableCheck[] {
  const prefix = p.tablePrefix ?? (index === 0 ? '' : `${p.name.replace(/[^a-z0-9_]/g, '_')}_`);
  return [
    { object: 'Account', table: `${prefix}account`, fields: p.accountFields ?? ACCOUNT_FIELDS },
    { object: 'InvoiceItem', table: `${prefix}invoice_item`, fields: p.itemFields ?? ITEM_FIELDS },
  ];
}

/** A pipelines.yaml syncing Account and InvoiceItem of an emulator; `${VAR}` references stay for the CLI to resolve. */
export function configYaml(
  source: { baseUrl: string; clientId: string; clientSecret: string; dataCenter?: 'us' | 'eu' },
  pipelines: PipelineYaml[],
  schema = 'zuora',
): string {
  const blocks = pipelines.map(
    (p, index) => `  - name: ${p.name}
    schedule: "0 2 * * *"
    partner: ${p.partner ?? 'aquasync'}
    project: ${p.project ?? `p-${p.name}`}
    format: ${p.format ?? 'gzip'}
    lookback: ${p.lookback ?? 0}
    startDate: "2000-01-01T00:00:00Z"
${p.jobTimeout === undefined ? '' : `    jobTimeout: ${p.jobTimeout}\n`}${p.concurrency === undefined ? '' : `    concurrency: ${p.concurrency}\n`}${p.offset === undefined ? '' : `    offset: ${p.offset}\n`}${p.source?.length ? `    source:\n${p.source.join('\n')}\n` : ''}    objects:
      - name: Account
        fields: [${(p.accountFields ?? ACCOUNT_FIELDS).join(', ')}]
        deletes: ${p.deletes ?? 'soft'}
        table: ${tablesOf(p, index)[0]?.table}
      - name: InvoiceItem
        fields: [${(p.itemFields ?? ITEM_FIELDS).join(', ')}]
        deletes: ${p.deletes ?? 'soft'}
        table: ${tablesOf(p, index)[1]?.table}
`,
  );
  return `source:
  baseUrl: ${source.baseUrl}
  clientId: ${source.clientId}
  clientSecret: ${source.clientSecret}
${source.dataCenter ? `  dataCenter: ${source.dataCenter}\n` : ''}warehouse:
  schema: ${schema}
pipelines:
${blocks.join('')}`;
}

export async function watermarkOf(pool: pg.Pool, pipeline: string): Promise<Date | undefined> {
  const { rows } = await pool.query<{ watermark: Date }>('select watermark from aquasync.watermarks where pipeline = $1', [pipeline]);
  return rows[0]?.watermark;
}

/** Runs and jobs left in a non-final state. */
export async function stuckWork(pool: pg.Pool): Promise<string[]> {
  const runs = await pool.query<{ id: number; pipeline: string }>("select id, pipeline from aquasync.runs where status = 'running'");
  const jobs = await pool.query<{ id: number; status: string }>(
    "select id, status from aquasync.jobs where status in ('submitting', 'submitted', 'completed', 'staged')",
  );
  return [
    ...runs.rows.map((r) => `run ${r.id} of ${r.pipeline} is still running`),
    ...jobs.rows.map((j) => `job ${j.id} is still ${j.status}`),
  ];
}

/** A fingerprint of everything a failed run must not change: watermarks and every warehouse table's content. */
export async function warehouseFingerprint(pool: pg.Pool, schema: string): Promise<string> {
  const marks = await pool.query('select pipeline, watermark from aquasync.watermarks order by pipeline');
  const tables = await pool.query<{ tablename: string }>('select tablename from pg_tables where schemaname = $1 order by 1', [schema]);
  const parts = [JSON.stringify(marks.rows)];
  for (const { tablename } of tables.rows) {
    const { rows } = await pool.query<{ h: string | null; n: string }>(
      `select md5(string_agg(t::text, '|' order by t::text)) as h, count(*) as n from "${schema}"."${tablename}" t`,
    );
    parts.push(`${tablename}:${rows[0]?.n}:${rows[0]?.h ?? ''}`);
  }
  return parts.join('\n');
}
