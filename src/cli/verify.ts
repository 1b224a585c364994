// `aquasync verify`: per object, row counts per UpdatedDate day (UTC) in Zuora against the warehouse's live rows.
import { ConfigError } from '../errors.ts';
import type { Config, PipelineConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { runVerify, type VerifyObjectResult } from '../verify/index.ts';
import { DataQueryClient, type ZuoraClient } from '../zuora/index.ts';
import { EXIT, type CommandContext } from './command.ts';
import { interruptible, openMigratedWarehouse, pollBoundsFor, readConfig, resolveSources, zuoraClientFor } from './common.ts';
import { formatCount, formatTable } from './table.ts';

/** The pipelines named by --pipeline (one name), or all of them. */
export function selectPipelines(config: Config, values: Record<string, unknown>): PipelineConfig[] {
  const name = typeof values.pipeline === 'string' ? values.pipeline : undefined;
  if (name === undefined) return config.pipelines;
  const found = config.pipelines.filter((p) => p.name === name);
  if (found.length === 0) {
    throw new ConfigError(`${config.file}: no pipeline named "${name}"`, {
      hint: `pipelines in this file: ${config.pipelines.map((p) => p.name).join(', ')}`,
    });
  }
  return found;
}

export function clientsFor(pipeline: PipelineConfig, logger: Logger, signal: AbortSignal): { client: ZuoraClient; dataQuery: DataQueryClient } {
  const poll = pollBoundsFor(pipeline.source.baseUrl);
  const log = logger.child({ pipeline: pipeline.name });
  const client = zuoraClientFor(pipeline, log, signal);
  const dataQuery = new DataQueryClient(client, { logger: log, signal, ...(poll ? { poll } : {}) });
  return { client, dataQuery };
}

export function parseSince(values: Record<string, unknown>): Date | undefined {
  if (typeof values.since !== 'string') return undefined;
  const at = Date.parse(values.since);
  if (!/^\d{4}-\d{2}-\d{2}/.test(values.since) || Number.isNaN(at)) {
    throw new ConfigError(`--since "${values.since}" is not an ISO date or time`, { hint: 'e.g. --since 2026-01-01 or 2026-01-01T00:00:00Z' });
  }
  return new Date(at);
}

export async function verifyCommand(values: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const config = await readConfig(values);
  const selected = selectPipelines(config, values);
  const objects = (values.object as string[] | undefined) ?? [];
  const since = parseSince(values);
  const stop = interruptible(ctx.logger);
  const warehouse = await openMigratedWarehouse(ctx.logger);
  let sources: Awaited<ReturnType<typeof resolveSources>> | undefined;
  const results: VerifyObjectResult[] = [];
  try {
    sources = await resolveSources(selected, ctx.logger);
    for (const pipeline of sources.pipelines) {
      const { dataQuery } = clientsFor(pipeline, ctx.logger, stop.signal);
      results.push(
        ...(await runVerify({ warehouse, dataQuery, schema: config.warehouse.schema, logger: ctx.logger }, pipeline, {
          objects,
          ...(since ? { since } : {}),
        })),
      );
    }
  } finally {
    stop.done();
    await sources?.close();
    await warehouse.close();
  }
  printVerify(results, ctx, values.json === true);
  if (stop.signal.aborted) return EXIT.interrupted;
  return results.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}

/** The fields of the table, per object, as JSON (`--json`). */
export function verifyJson(results: VerifyObjectResult[]): unknown {
  return {
    ok: results.every((r) => r.ok),
    objects: results.map((r) => ({
      pipeline: r.pipeline,
      object: r.object,
      table: r.table,
      result: verdict(r),
      ok: r.ok,
      daysChecked: r.totalsOnly ? null : r.daysChecked,
      daysMatching: r.totalsOnly ? null : r.daysMatching,
      totalsOnly: r.totalsOnly,
      rowsMissing: r.rowsMissing,
      rowsExtra: r.rowsExtra,
      rowsPending: r.rowsPending,
      worstDay: r.worstDay ?? null,
      since: r.since?.toISOString() ?? null,
      until: r.until?.toISOString() ?? null,
      days: r.days,
      samples: r.samples,
      error: r.error ?? null,
    })),
  };
}

function verdict(r: VerifyObjectResult): string {
  return r.error ? 'ERROR' : r.ok ? 'ok' : 'DIFFERS';
}

function printVerify(results: VerifyObjectResult[], ctx: CommandContext, json: boolean): void {
  if (json) {
    ctx.print(JSON.stringify(verifyJson(results), null, 2));
    return;
  }
  if (ctx.logFormat === 'json') {
    for (const r of results) {
      ctx.logger.info('verified', {
        pipeline: r.pipeline,
        object: r.object,
        ok: r.ok,
        daysChecked: r.daysChecked,
        daysMatching: r.daysMatching,
        rowsMissing: r.rowsMissing,
        rowsExtra: r.rowsExtra,
        rowsPending: r.rowsPending,
        worstDay: r.worstDay?.day,
        until: r.until?.toISOString(),
        error: r.error,
      });
    }
    return;
  }
  const rows = results.map((r) => [
    r.pipeline,
    r.object,
    verdict(r),
    r.totalsOnly ? 'totals' : formatCount(r.daysChecked),
    r.totalsOnly ? '' : formatCount(r.daysMatching),
    r.rowsMissing ? formatCount(r.rowsMissing) : '',
    r.rowsExtra ? formatCount(r.rowsExtra) : '',
    r.rowsPending ? formatCount(r.rowsPending) : '',
    r.worstDay ? `${r.worstDay.day} (zuora ${r.worstDay.zuora}, warehouse ${r.worstDay.warehouse})` : '',
  ]);
  ctx.print('');
  ctx.print(
    formatTable(['pipeline', 'object', 'result', 'days checked', 'days matching', 'rows missing', 'rows extra', 'rows pending', 'worst day (UTC)'], rows),
  );
  for (const r of results) {
    const lines = r.days.slice(0, 10).map((d) => {
      const ids = [
        d.missing ? `${d.missing} missing${d.missingIds.length ? ` (e.g. ${d.missingIds.slice(0, 5).join(', ')})` : ''}` : '',
        d.extra ? `${d.extra} extra${d.extraIds.length ? ` (e.g. ${d.extraIds.slice(0, 5).join(', ')})` : ''}` : '',
      ].filter(Boolean);
      return `${d.day}: ${ids.join(', ')}${d.drilled ? '' : ' (judged by counts)'}`;
    });
    if (r.days.length > 10) lines.push(`... and ${r.days.length - 10} more day(s)`);
    if (lines.length) ctx.print(`\n${r.pipeline}/${r.object}:\n  ${lines.join('\n  ')}`);
  }
  const bad = results.filter((r) => !r.ok);
  const pending = results.reduce((n, r) => n + r.rowsPending, 0);
  const until = results.find((r) => r.until)?.until;
  ctx.print(
    `\n${results.length - bad.length} of ${results.length} object(s) match Zuora` +
      (until ? ` for rows updated before the watermark ${until.toISOString()}` : '') +
      (pending ? `; ${formatCount(pending)} row(s) Zuora changed since are pending (the next sync brings them)` : '') +
      (bad.length ? `; run \`aquasync reconcile\` to see every differing Id` : ''),
  );
  for (const r of results) if (r.error) ctx.print(`  ${r.pipeline}/${r.object}: ${r.error}`);
}
