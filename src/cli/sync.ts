// `aquasync sync`: one run of each selected pipeline, then a summary.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, errorMessage } from '../errors.ts';
import { runPipeline, type PipelineRunResult } from '../sync/index.ts';
import { EXIT, type CommandContext } from './main.ts';
import { interruptible, openMigratedWarehouse, pollBoundsFor, readConfig, resolveSources, zuoraClientFor } from './common.ts';
import { formatDryRun, openWarehouseReadOnly, syncDryRun } from './dry-run.ts';
import { jobBudgetFromEnv } from './job-budget.ts';
import { createProgress } from './progress.ts';
import { formatCount, formatDuration, formatTable } from './table.ts';

export async function syncCommand(values: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const started = Date.now();
  const config = await readConfig(values);
  const wanted = (values.pipeline as string[] | undefined) ?? [];
  for (const name of wanted) {
    if (!config.pipelines.some((p) => p.name === name)) {
      throw new ConfigError(`${config.file}: no pipeline named "${name}"`, {
        hint: `pipelines in this file: ${config.pipelines.map((p) => p.name).join(', ')}`,
      });
    }
  }
  const selected = wanted.length ? config.pipelines.filter((p) => wanted.includes(p.name)) : config.pipelines;
  if (values['dry-run']) {
    // Reads the watermarks, submits nothing, writes nothing.
    const warehouse = await openWarehouseReadOnly(ctx.logger);
    try {
      const plans = [];
      for (const pipeline of selected) plans.push(await syncDryRun(warehouse, pipeline));
      ctx.print(formatDryRun(plans));
    } finally {
      await warehouse.close();
    }
    return EXIT.ok;
  }
  const jobBudget = jobBudgetFromEnv();

  const stop = interruptible(ctx.logger, 'stopping; the job stays recorded and the next run resumes it');

  const tempDir = mkdtempSync(join(tmpdir(), 'aquasync-'));
  const warehouse = await openMigratedWarehouse(ctx.logger);
  let sources: Awaited<ReturnType<typeof resolveSources>> | undefined;
  const results: PipelineRunResult[] = [];
  try {
    sources = await resolveSources(selected, ctx.logger);
    for (const pipeline of sources.pipelines) {
      if (stop.signal.aborted) break;
      const client = zuoraClientFor(pipeline, ctx.logger.child({ pipeline: pipeline.name }), stop.signal);
      const progress = createProgress(`[${pipeline.name}] staging`);
      const poll = pollBoundsFor(pipeline.source.baseUrl);
      const result = await runPipeline({ warehouse, client, schema: config.warehouse.schema, jobBudget }, pipeline, {
        ...(poll ? { poll } : {}),
        kind: 'manual',
        logger: ctx.logger,
        signal: stop.signal,
        tempDir,
        onFileStaged: (done, total) => progress.update(done, total),
      });
      progress.done();
      results.push(result);
    }
  } finally {
    stop.done();
    await sources?.close();
    await warehouse.close();
    rmSync(tempDir, { recursive: true, force: true });
  }

  printSummary(results, Date.now() - started, ctx);
  if (stop.signal.aborted) return EXIT.interrupted;
  return results.length === selected.length && results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}

function printSummary(results: PipelineRunResult[], durationMs: number, ctx: CommandContext): void {
  if (ctx.logFormat === 'json') {
    for (const r of results) {
      ctx.logger.info('run finished', {
        pipeline: r.pipeline,
        ok: r.ok,
        rows: r.rowsWritten,
        rowsRead: r.rowsRead,
        rowsQuarantined: r.rowsQuarantined,
        tables: r.tables.length,
        durationMs: r.durationMs,
        watermark: r.watermarkAfter?.toISOString(),
        error: r.ok ? undefined : errorMessage(r.error),
      });
    }
    return;
  }
  const rows = results.flatMap((r) =>
    r.ok
      ? r.tables.map((t) => [
          r.pipeline,
          t.table,
          t.full ? 'full' : 'incremental',
          formatCount(t.recordCount),
          formatCount(t.upserted),
          formatCount(t.deleted + t.missingMarkedDeleted),
        ])
      : [[r.pipeline, '-', 'FAILED', '', '', '']],
  );
  ctx.print('');
  ctx.print(formatTable(['pipeline', 'table', 'load', 'rows in files', 'rows written', 'deleted'], rows));
  const total = results.reduce((n, r) => n + r.rowsWritten, 0);
  const failed = results.filter((r) => !r.ok).length;
  const quarantined = results.reduce((n, r) => n + r.rowsQuarantined, 0);
  if (quarantined > 0) {
    ctx.print(
      `\n${formatCount(quarantined)} row(s) held a value Postgres could not take and were quarantined in aquasync.rejected_rows ` +
        '(every other row loaded); `aquasync status` shows how many are open, the README says how to repair them',
    );
  }
  ctx.print(
    `\n${results.length - failed} of ${results.length} pipeline(s) loaded, ${formatCount(total)} row(s) in ${formatDuration(durationMs)}` +
      (failed ? `; ${failed} failed (see the errors above; the next run resumes them)` : ''),
  );
}
