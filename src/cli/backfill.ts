// `aquasync backfill`: re-pull a time range of one pipeline through stateless AQuA jobs, window by window, with
// progress, a summary, and --dry-run.
import { rmSync } from 'node:fs';
import type { PipelineConfig } from '../config/types.ts';
import { ConfigError } from '../errors.ts';
import { parseWindowSize, planBackfill, runBackfill, type BackfillProgress, type BackfillResult } from '../sync/index.ts';
import { backfillDryRun, formatDryRun, openWarehouseReadOnly } from './dry-run.ts';
import { jobBudgetFromEnv } from './job-budget.ts';
import { createProgress, progressBar } from './progress.ts';
import { EXIT, type CommandContext } from './command.ts';
import { pollBoundsFor, readConfig, resolveSources, startLoading, zuoraClientFor } from './common.ts';
import { formatCount, formatDuration, formatTable } from './table.ts';

const DEFAULT_WINDOW = '30d';

/**
 * An instant from the command line: a date (`2026-01-01`, midnight UTC) or a date-time with `Z` or an offset.
 * A date-time without a zone is refused: it would silently depend on the machine's time zone.
 */
export function parseInstant(text: string, option: string): Date {
  const value = text.trim();
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(value);
  const ms = dateOnly ? Date.parse(`${value}T00:00:00Z`) : zoned ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new ConfigError(`--${option} "${text}" is not an ISO date or date-time with a zone`, {
      hint: 'write e.g. 2026-01-01 (midnight UTC) or 2026-01-01T00:00:00Z',
    });
  }
  return new Date(ms);
}

/** `windows 3/12 (25%), 48,000 rows, ETA 4 min 10 s`. The ETA counts only windows this run loaded (skips are instant). */
export function formatProgress(p: BackfillProgress, elapsedMs: number, skippedAtStart: number): string {
  const percent = p.windowsTotal === 0 ? 100 : Math.floor((p.windowsDone / p.windowsTotal) * 100);
  const worked = p.windowsDone - skippedAtStart;
  const left = p.windowsTotal - p.windowsDone;
  const eta = worked > 0 && left > 0 ? `, ETA ${formatDuration(Math.round((elapsedMs / worked) * left))}` : '';
  return `windows ${p.windowsDone}/${p.windowsTotal} (${percent}%), ${formatCount(p.rows)} rows${eta}`;
}

export async function backfillCommand(values: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const config = await readConfig(values);
  const name = values.pipeline;
  if (typeof name !== 'string' || name === '') {
    throw new ConfigError('backfill needs --pipeline NAME', { hint: `pipelines in ${config.file}: ${config.pipelines.map((p) => p.name).join(', ')}` });
  }
  const pipeline = config.pipelines.find((p) => p.name === name);
  if (!pipeline) {
    throw new ConfigError(`${config.file}: no pipeline named "${name}"`, {
      hint: `pipelines in this file: ${config.pipelines.map((p) => p.name).join(', ')}`,
    });
  }
  if (typeof values.since !== 'string') throw new ConfigError('backfill needs --since ISO (e.g. 2026-01-01T00:00:00Z)');
  const since = parseInstant(values.since, 'since');
  const until = typeof values.until === 'string' ? parseInstant(values.until, 'until') : new Date();
  const windowText = typeof values.window === 'string' ? values.window : DEFAULT_WINDOW;
  const windowMs = parseWindowSize(windowText);
  if (windowMs === undefined) throw new ConfigError(`--window "${windowText}" is not a duration`, { hint: 'write e.g. 30d, 12h, 90m or 3600s' });
  const objects = (values.object as string[] | undefined) ?? [];
  const plan = planBackfill(pipeline, { since, until, objects, windowMs });

  if (values['dry-run']) {
    const warehouse = await openWarehouseReadOnly(ctx.logger);
    try {
      ctx.print(formatDryRun(await backfillDryRun(warehouse, pipeline, plan)));
    } finally {
      await warehouse.close();
    }
    return EXIT.ok;
  }
  return runForReal(pipeline, config.warehouse.schema, { since, until, objects, windowMs }, ctx);
}

async function runForReal(
  configured: PipelineConfig,
  schema: string,
  range: { since: Date; until: Date; objects: string[]; windowMs: number },
  ctx: CommandContext,
): Promise<number> {
  const started = Date.now();
  const jobBudget = jobBudgetFromEnv();
  const { stop, warehouse, tempDir } = await startLoading(ctx, 'stopping; run the same backfill again to resume it', 'aquasync-backfill-');
  let sources: Awaited<ReturnType<typeof resolveSources>> | undefined;
  let result: BackfillResult;
  const bar = process.stderr.isTTY ? createProgress() : undefined;
  try {
    sources = await resolveSources([configured], ctx.logger);
    const pipeline = sources.pipelines[0] ?? configured;
    const client = zuoraClientFor(pipeline, ctx.logger.child({ pipeline: pipeline.name }), stop.signal);
    let skippedAtStart: number | undefined;
    result = await runBackfill({ warehouse, client, schema, jobBudget }, pipeline, {
      ...range,
      logger: ctx.logger,
      tempDir,
      signal: stop.signal,
      ...(pollBoundsFor(pipeline.source.baseUrl) ? { poll: pollBoundsFor(pipeline.source.baseUrl) } : {}),
      onProgress: (p) => {
        // The first report comes before any work: its windows were loaded by earlier runs.
        skippedAtStart ??= p.windowsDone;
        const line = formatProgress(p, Date.now() - started, skippedAtStart);
        if (bar) {
          bar.draw(progressBar(`[${pipeline.name}] backfill`, p.windowsDone, p.windowsTotal, line));
        } else if (p.windowsDone > 0) {
          ctx.logger.info(`backfill progress: ${line}`, { pipeline: pipeline.name });
        }
      },
    });
  } finally {
    // First, so a failure to close what follows cannot leave the folder behind.
    rmSync(tempDir, { recursive: true, force: true });
    bar?.done();
    stop.done();
    await sources?.close();
    await warehouse.close();
  }

  if (result.error instanceof ConfigError) throw result.error;
  printSummary(configured.name, result, Date.now() - started, ctx);
  if (stop.signal.aborted) return EXIT.interrupted;
  return result.ok ? EXIT.ok : EXIT.failed;
}

function printSummary(pipeline: string, result: BackfillResult, durationMs: number, ctx: CommandContext): void {
  const count = (status: string): number => result.windows.filter((w) => w.status === status).length;
  if (ctx.logFormat === 'json') {
    ctx.logger.info('backfill finished', {
      pipeline,
      ok: result.ok,
      runId: result.runId,
      rows: result.rowsWritten,
      loaded: count('loaded'),
      skipped: count('skipped'),
      failed: count('failed'),
      durationMs,
    });
    return;
  }
  ctx.print('');
  ctx.print(
    formatTable(
      ['since', 'until', 'window', 'rows'],
      result.windows.map((w) => [w.since.toISOString(), w.until.toISOString(), w.status === 'failed' ? 'NOT LOADED' : w.status, formatCount(w.rows)]),
    ),
  );
  ctx.print(
    `\nbackfill of ${pipeline}: ${count('loaded')} window(s) loaded, ${count('skipped')} skipped (loaded before), ` +
      `${formatCount(result.rowsWritten)} row(s) in ${formatDuration(durationMs)}` +
      (result.ok ? '' : `; ${count('failed')} not loaded (see the errors above; run the same command again to resume)`),
  );
}
