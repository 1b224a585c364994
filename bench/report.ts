// Pure parts of the benchmark: command-line options, medians, the printed table and the JSON summary.
import { parseArgs } from 'node:util';

export type BenchFormat = 'gzip' | 'csv';

export interface BenchOptions {
  rows: number;
  runs: number;
  /** AQuA result file format the emulator serves and every variant downloads. */
  format: BenchFormat;
  json: boolean;
  /** Rows per segment of a full load. */
  segmentSize: number;
  /** The pipeline's `concurrency` (files downloaded and staged at once); the ceiling uses the same. */
  concurrency: number;
  /** Run the naive Kysely baseline (slow: it is the thing being beaten). */
  naive: boolean;
  /** Lever experiments: settings (name, value) applied with SET LOCAL before the ceiling's merge. */
  mergeSettings: [string, string][];
  /** Run the ceiling and copy-limit variants (skipped for incremental-only measurements). */
  limits: boolean;
  /**
   * Rows changed before each incremental run, in order; undefined: one incremental of 10% of the rows (reported as
   * aquasync-incremental). With a list, each is reported as aquasync-incremental-<N>.
   */
  changed: number[] | undefined;
  /**
   * VACUUM (ANALYZE) the loaded table before the incrementals, as the night's autovacuum would have before the next
   * sync (otherwise its first pass over a fresh large table may run during the first incremental). Not timed.
   */
  vacuum: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]

Benchmarks aquasync on the local AQuA emulator against the copy limit (curl | gunzip | psql \\copy FREEZE of the
same files straight into a typed table created in the same transaction, then the primary-key build), the staging
ceiling (psql \\copy into the loader's stage tables + the loader's own apply SQL) and a naive Kysely insert
baseline. Every variant reports its rows/s ratio to the copy limit, and the disk it used at its peak (database
growth plus the server's temporary files, WAL excluded). Needs DATABASE_URL (a Postgres server; throw-away databases
are created next to the one named and dropped afterwards).

Options:
  --rows N           InvoiceItem rows the emulator serves (default 2000000)
  --runs N           measurements per variant; the median is reported (default 3)
  --format F         result file format: gzip or csv (default gzip)
  --segment-size N   rows per segment of a full load (default 500000)
  --concurrency N    files downloaded and staged at once (default 2)
  --no-naive         skip the naive baseline
  --no-limits        skip the copy-limit and ceiling variants (incremental measurements)
  --changed N,N,...  rows changed before each incremental run (default: one run with 10% of the rows)
  --vacuum          VACUUM (ANALYZE) the loaded table before the incrementals, as autovacuum would by the next
                     night (the time it takes is printed, not counted)
  --merge-set K=V    SET LOCAL K = V before the ceiling's merge (lever experiments, e.g. work_mem=256MB); repeatable
  --json             print the results as one JSON object instead of a table
  --help             show this help
`;

function integer(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  return n;
}

function setting(text: string): [string, string] {
  const match = /^([a-z_][a-z0-9_.]*)=([A-Za-z0-9_.]+)$/.exec(text);
  if (match === null) throw new Error(`--merge-set takes NAME=VALUE (letters, digits, _ and .), got ${JSON.stringify(text)}`);
  return [match[1] ?? '', match[2] ?? ''];
}

/** Parses the bench's flags; undefined means --help was asked for. Throws with a readable message otherwise. */
export function parseBenchArgs(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      rows: { type: 'string' },
      runs: { type: 'string' },
      format: { type: 'string' },
      'segment-size': { type: 'string' },
      concurrency: { type: 'string' },
      'no-naive': { type: 'boolean' },
      'merge-set': { type: 'string', multiple: true },
      'no-limits': { type: 'boolean' },
      changed: { type: 'string' },
      vacuum: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) return undefined;
  const format = values.format ?? 'gzip';
  if (format !== 'gzip' && format !== 'csv') throw new Error(`--format must be gzip or csv, got ${JSON.stringify(format)}`);
  return {
    rows: integer('rows', values.rows, 2_000_000, 1),
    runs: integer('runs', values.runs, 3, 1),
    format,
    json: values.json === true,
    segmentSize: integer('segment-size', values['segment-size'], 500_000, 1),
    concurrency: integer('concurrency', values.concurrency, 2, 1),
    naive: values['no-naive'] !== true,
    mergeSettings: (values['merge-set'] ?? []).map(setting),
    limits: values['no-limits'] !== true,
    changed: values.changed === undefined ? undefined : values.changed.split(',').map((n) => integer('changed', n, 0, 1)),
    vacuum: values.vacuum === true,
  };
}

export const VARIANTS = ['copy-limit', 'ceiling', 'aquasync-full', 'aquasync-incremental', 'aquasync-no-change', 'naive'] as const;
/** One of VARIANTS, or `aquasync-incremental-<N>` for an incremental run of N changed rows (--changed). */
export type Variant = (typeof VARIANTS)[number] | `aquasync-incremental-${number}`;

/** One timed run of one variant. */
export interface Measurement {
  rows: number;
  /** Loader time: wall time minus the emulator's job time (queue, query, file rendering). */
  seconds: number;
  /** Wall time of the whole variant, the emulator's job included. */
  wallSeconds: number;
  jobSeconds: number;
  /** aquasync only: its own run duration (process start-up excluded) minus the emulator's job time. */
  runSeconds: number | undefined;
  /** Peak RSS (VmHWM) of the aquasync process; undefined for variants that are not aquasync. */
  peakRssMb: number | undefined;
  /** Peak disk the variant used: growth of its database plus the server's temporary files (WAL excluded). */
  peakDiskMb?: number | undefined;
}

export interface VariantSummary {
  variant: Variant;
  runs: number;
  rows: number;
  seconds: number;
  wallSeconds: number;
  jobSeconds: number;
  runSeconds: number | undefined;
  rowsPerSec: number;
  /** rows/s divided by the ceiling's rows/s (full loads only). */
  ratioToCeiling: number | undefined;
  /** rows/s divided by the copy limit's rows/s (every variant that moved rows). */
  ratioToCopyLimit: number | undefined;
  peakRssMb: number | undefined;
  peakDiskMb: number | undefined;
}

export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

const round = (n: number, digits: number): number => Number(n.toFixed(digits));

/** Medians per variant (rows/s from the median time); the ratio compares full loads with the ceiling. */
export function summarize(measured: Partial<Record<Variant, Measurement[]>>): VariantSummary[] {
  const out: VariantSummary[] = [];
  let ceilingRate: number | undefined;
  let limitRate: number | undefined;
  const extra = (Object.keys(measured) as Variant[]).filter((v) => !(VARIANTS as readonly string[]).includes(v));
  for (const variant of [...VARIANTS, ...extra]) {
    const list = measured[variant];
    if (list === undefined || list.length === 0) continue;
    const seconds = median(list.map((m) => m.seconds));
    const rows = median(list.map((m) => m.rows));
    const rss = list.map((m) => m.peakRssMb).filter((v): v is number => v !== undefined);
    const run = list.map((m) => m.runSeconds).filter((v): v is number => v !== undefined && Number.isFinite(v));
    const rowsPerSec = seconds > 0 ? rows / seconds : 0;
    const disk = list.map((m) => m.peakDiskMb).filter((v): v is number => v !== undefined);
    if (variant === 'ceiling') ceilingRate = rowsPerSec;
    if (variant === 'copy-limit') limitRate = rowsPerSec;
    const comparable = variant === 'ceiling' || variant === 'aquasync-full' || variant === 'naive';
    out.push({
      variant,
      runs: list.length,
      rows,
      seconds: round(seconds, 2),
      wallSeconds: round(median(list.map((m) => m.wallSeconds)), 2),
      jobSeconds: round(median(list.map((m) => m.jobSeconds)), 2),
      runSeconds: run.length === 0 ? undefined : round(median(run), 2),
      rowsPerSec: Math.round(rowsPerSec),
      ratioToCeiling: comparable && ceilingRate !== undefined && ceilingRate > 0 ? round(rowsPerSec / ceilingRate, 2) : undefined,
      ratioToCopyLimit: rows > 0 && limitRate !== undefined && limitRate > 0 ? round(rowsPerSec / limitRate, 2) : undefined,
      // The worst run: a memory or disk bound must hold every time, not on average.
      peakRssMb: rss.length === 0 ? undefined : Math.max(...rss),
      peakDiskMb: disk.length === 0 ? undefined : Math.max(...disk),
    });
  }
  return out;
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

export function formatTable(summaries: VariantSummary[]): string {
  const header = ['variant', 'rows', 'seconds', 'rows/s', 'x copy-limit', 'x ceiling', 'peak RSS', 'peak disk', 'job s', 'wall s', 'no start-up s'];
  const body = summaries.map((s) => [
    s.variant,
    count(s.rows),
    s.seconds.toFixed(2),
    count(s.rowsPerSec),
    s.ratioToCopyLimit === undefined ? '-' : `${s.ratioToCopyLimit.toFixed(2)}x`,
    s.ratioToCeiling === undefined ? '-' : `${s.ratioToCeiling.toFixed(2)}x`,
    s.peakRssMb === undefined ? '-' : `${s.peakRssMb} MB`,
    s.peakDiskMb === undefined ? '-' : `${count(s.peakDiskMb)} MB`,
    s.jobSeconds.toFixed(2),
    s.wallSeconds.toFixed(2),
    s.runSeconds === undefined ? '-' : s.runSeconds.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

/** The `--json` shape: per variant rows, seconds, rowsPerSec, ratioToCeiling, peakRssMb (null when not measured). */
export function toJson(summaries: VariantSummary[], meta: Record<string, unknown>): Record<string, unknown> {
  const variants: Record<string, unknown> = {};
  for (const s of summaries) {
    variants[s.variant] = {
      rows: s.rows,
      seconds: s.seconds,
      rowsPerSec: s.rowsPerSec,
      ratioToCeiling: s.ratioToCeiling ?? null,
      ratioToCopyLimit: s.ratioToCopyLimit ?? null,
      peakRssMb: s.peakRssMb ?? null,
      peakDiskMb: s.peakDiskMb ?? null,
      jobSeconds: s.jobSeconds,
      wallSeconds: s.wallSeconds,
      runSeconds: s.runSeconds ?? null,
      runs: s.runs,
    };
  }
  return { ...meta, variants };
}
