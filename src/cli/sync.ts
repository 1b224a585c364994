// `aquasync sync`: one run of each selected pipeline, then a summary.
import { rmSync } from 'node:fs';
import { ConfigError, errorMessage } from '../errors.ts';
import { runPipeline, type PipelineRunResult } from '../sync/index.ts';
import { EXIT, type CommandContext } from './command.ts';
import { pollBoundsFor, readConfig, resolveSources, startLoading, zuoraClientFor } from './common.ts';
import { formatDryRun, openWarehouseReadOnly, syncDryRun } from './dry-run.ts';
import { jobBudgetFromEnv } from './job-budget.ts';
import { failureAdvice } from './failure-advice.ts';
import { createProgress, progressBar } from './progress.ts';
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

  const { stop, warehouse, tempDir } = await startLoading(ctx, 'stopping; a submitted job stays recorded and the next run resumes it', 'aquasync-');
  let sources: Awaited<ReturnType<typeof resolveSources>> | undefined;
  const results: PipelineRunResult[] = [];
  try {
    sources = await resolveSources(selected, ctx.logger);
    for (const pipeline of sources.pipelines) {
      if (stop.signal.aborted) break;
      const client = zuoraClientFor(pipeline, ctx.logger.child({ pipeline: pipeline.name }), stop.signal);
      const progress = createProgress();
      const poll = pollBoundsFor(pipeline.source.baseUrl);
      const result = await runPipeline({ warehouse, client, schema: config.warehouse.schema, jobBudget }, pipeline, {
        ...(poll ? { poll } : {}),
        kind: 'manual',
        logger: ctx.logger,
        signal: stop.signal,
        tempDir,
        onFileStaged: (done, total) => progress.draw(progressBar(`[${pipeline.name}] staging`, done, total, `${done}/${total} files`)),
      });
      progress.done();
      results.push(result);
    }
  } finally {
    // First, so a failure to close what follows cannot leave the folder behind.
    rmSync(tempDir, { recursive: true, force: true });
    stop.done();
    await sources?.close();
    await warehouse.close();
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
        rowsWritten: r.rowsWritten,
        rowsRead: r.rowsRead,
        rowsQuarantined: r.rowsQuarantined,
        tables: r.tables.length,
        durationMs: r.durationMs,
        watermark: r.watermarkAfter?.toISOString(),
        error: r.ok ? undefined : errorMessage(r.error),
        next: r.ok ? undefined : failureAdvice(r.error, r.zuoraJobId).text,
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
  ctx.print(formatTable(['pipeline', 'table', 'load', 'rows in files', 'inserted or updated', 'deleted'], rows));
  const written = results.reduce((n, r) => n + r.rowsWritten, 0);
  const read = results.reduce((n, r) => n + r.rowsRead, 0);
  const failed = results.filter((r) => !r.ok);
  for (const r of failed) {
    const advice = failureAdvice(r.error, r.zuoraJobId);
    ctx.print(`\n${r.pipeline} failed: ${firstLine(errorMessage(r.error))}\n  ${advice.kind === 'fix' ? 'to fix' : 'next'}: ${advice.text}`);
  }
  const quarantined = results.reduce((n, r) => n + r.rowsQuarantined, 0);
  if (quarantined > 0) {
    ctx.print(
      `\n${formatCount(quarantined)} row(s) held a value Postgres could not take and were quarantined in aquasync.rejected_rows ` +
        '(every other row loaded); `aquasync status` shows how many are open, the README says how to repair them',
    );
  }
  ctx.print(
    `\n${results.length - failed.length} of ${results.length} pipeline(s) loaded: ${formatCount(written)} row(s) written ` +
      `from ${formatCount(read)} row(s) in the result files, in ${formatDuration(durationMs)}` +
      (failed.length ? `; ${failed.length} failed` : ''),
  );
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}
