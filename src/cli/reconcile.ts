// `aquasync reconcile`: every Id in Zuora against the warehouse's live Ids; --apply repairs the differences.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBackfill } from '../sync/index.ts';
import { runReconcile, type ReconcileObjectResult } from '../verify/index.ts';
import { EXIT, type CommandContext } from './command.ts';
import { interruptible, openMigratedWarehouse, pollBoundsFor, readConfig, resolveSources } from './common.ts';
import { formatCount, formatTable } from './table.ts';
import { clientsFor, selectPipelines } from './verify.ts';

export async function reconcileCommand(values: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const config = await readConfig(values);
  const selected = selectPipelines(config, values);
  const objects = (values.object as string[] | undefined) ?? [];
  const apply = values.apply === true;
  const stop = interruptible(ctx.logger);
  const warehouse = await openMigratedWarehouse(ctx.logger);
  // Made only once the warehouse is open, so a failed open leaves no empty folder behind.
  const tempDir = mkdtempSync(join(tmpdir(), 'aquasync-reconcile-'));
  let sources: Awaited<ReturnType<typeof resolveSources>> | undefined;
  const results: ReconcileObjectResult[] = [];
  try {
    sources = await resolveSources(selected, ctx.logger);
    for (const pipeline of sources.pipelines) {
      const { client, dataQuery } = clientsFor(pipeline, ctx.logger, stop.signal);
      const poll = pollBoundsFor(pipeline.source.baseUrl);
      results.push(
        ...(await runReconcile({ warehouse, dataQuery, client, schema: config.warehouse.schema, logger: ctx.logger }, pipeline, {
          objects,
          apply,
          backfill: runBackfill,
          tempDir,
          signal: stop.signal,
          ...(poll ? { poll } : {}),
        })),
      );
    }
  } finally {
    // First, so a failure to close what follows cannot leave the folder behind.
    rmSync(tempDir, { recursive: true, force: true });
    stop.done();
    await sources?.close();
    await warehouse.close();
  }
  printReconcile(results, apply, ctx, values.json === true);
  if (stop.signal.aborted) return EXIT.interrupted;
  if (results.some((r) => r.error !== undefined)) return EXIT.failed;
  // Without --apply, any difference fails; with it, only what could not be repaired does.
  return apply || results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}

/** The fields of the table, per object, as JSON (`--json`). */
export function reconcileJson(results: ReconcileObjectResult[], apply: boolean): unknown {
  return {
    ok: results.every((r) => r.error === undefined && (apply || r.ok)),
    applied: apply,
    objects: results.map((r) => ({
      pipeline: r.pipeline,
      object: r.object,
      table: r.table,
      result: verdict(r, apply),
      ok: r.ok,
      zuoraRows: r.zuoraRows,
      warehouseRows: r.warehouseRows,
      missing: r.missing,
      goneFromZuora: r.extra,
      staleJoins: r.stale,
      pending: r.pending,
      markedDeleted: apply ? r.markedDeleted : null,
      repulled: apply ? r.rowsRepulled : null,
      repull: r.repull.map((p) => ({ ...p, since: p.since.toISOString(), until: p.until.toISOString() })),
      samples: r.samples,
      error: r.error ?? null,
    })),
  };
}

function verdict(r: ReconcileObjectResult, apply: boolean): string {
  return r.error ? 'ERROR' : r.ok ? 'ok' : apply ? 'repaired' : 'DIFFERS';
}

function printReconcile(results: ReconcileObjectResult[], apply: boolean, ctx: CommandContext, json: boolean): void {
  if (json) {
    ctx.print(JSON.stringify(reconcileJson(results, apply), null, 2));
    return;
  }
  if (ctx.logFormat === 'json') {
    for (const r of results) {
      ctx.logger.info('reconciled', {
        pipeline: r.pipeline,
        object: r.object,
        ok: r.ok,
        zuoraRows: r.zuoraRows,
        warehouseRows: r.warehouseRows,
        missing: r.missing,
        extra: r.extra,
        stale: r.stale,
        pending: r.pending,
        markedDeleted: apply ? r.markedDeleted : undefined,
        repulled: apply ? r.rowsRepulled : undefined,
        error: r.error,
      });
    }
    return;
  }
  const headers = ['pipeline', 'object', 'result', 'Ids in Zuora', 'live in warehouse', 'missing', 'gone from Zuora', 'stale joins', 'pending'];
  if (apply) headers.push('marked deleted', 're-pulled');
  const rows = results.map((r) => [
    r.pipeline,
    r.object,
    verdict(r, apply),
    formatCount(r.zuoraRows),
    formatCount(r.warehouseRows),
    r.missing ? formatCount(r.missing) : '',
    r.extra ? formatCount(r.extra) : '',
    r.stale ? formatCount(r.stale) : '',
    r.pending ? formatCount(r.pending) : '',
    ...(apply ? [r.markedDeleted ? formatCount(r.markedDeleted) : '', r.rowsRepulled ? formatCount(r.rowsRepulled) : ''] : []),
  ]);
  ctx.print('');
  ctx.print(formatTable(headers, rows));
  for (const r of results) {
    const lines = [
      r.samples.missing.length ? `missing e.g. ${r.samples.missing.slice(0, 5).join(', ')}` : '',
      r.samples.extra.length ? `gone from Zuora e.g. ${r.samples.extra.slice(0, 5).join(', ')}` : '',
      r.samples.stale.length ? `stale e.g. ${r.samples.stale.slice(0, 5).join(', ')}` : '',
      r.pending ? `${formatCount(r.pending)} row(s) Zuora changed since the watermark are pending (the next sync brings them)` : '',
      ...r.repull.map((p) => `re-pull ${p.since.toISOString()} .. ${p.until.toISOString()}: ${p.status}, ${p.rows} row(s) (run ${p.runId ?? '-'})`),
      r.error ? `error: ${r.error}` : '',
    ].filter(Boolean);
    if (lines.length) ctx.print(`\n${r.pipeline}/${r.object}:\n  ${lines.join('\n  ')}`);
  }
  const differing = results.filter((r) => !r.ok && !r.error).length;
  if (differing && !apply) ctx.print('\nRun again with --apply to mark vanished rows deleted and re-pull missing and stale rows.');
}
