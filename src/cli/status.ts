// `aquasync status`: watermarks, last runs, in-flight jobs and row counts, for people or as JSON.
import { tableRowCounts } from '../load/index.ts';
import { lastRunOfKind, lastVerifications, openQuarantine, owedSnapshots, pipelineStatus, type LastVerification } from '../state/index.ts';
import { EXIT, type CommandContext } from './command.ts';
import { openMigratedWarehouse, readConfig } from './common.ts';
import { psqlLine } from './db.ts';
import { aquasyncCommand } from './invocation.ts';
import { formatCount, formatTable } from './table.ts';

export async function statusCommand(values: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const config = await readConfig(values);
  const warehouse = await openMigratedWarehouse(ctx.logger);
  try {
    const pipelines = [];
    for (const pipeline of config.pipelines) {
      const status = await pipelineStatus(warehouse.db, pipeline.name);
      const tables = await tableRowCounts(
        warehouse.pool,
        config.warehouse.schema,
        pipeline.objects.map((o) => o.table),
      );
      const lastBackfill = await lastRunOfKind(warehouse.db, pipeline.name, 'backfill');
      const quarantine = (await openQuarantine(warehouse.db, [pipeline.name])).get(pipeline.name) ?? { open: 0, lastSeenAt: undefined };
      const snapshotsOwed = await owedSnapshots(warehouse.db, pipeline.name);
      const verifications = await lastVerifications(warehouse.db, [pipeline.name]);
      const lastVerification = summariseVerification(verifications);
      pipelines.push({ name: pipeline.name, ...status, lastBackfill, lastVerification, verifications, quarantine, snapshotsOwed, tables });
    }
    // The embedded server has a random password in a mode-0600 file: point at the file, never print the password.
    const embedded = warehouse.embedded;
    const where = embedded
      ? { embedded: true, port: embedded.port, dataDir: embedded.dataDir, psql: psqlLine(embedded.port, embedded.passwordFile) }
      : { embedded: false, url: warehouse.url };

    if (values.json) {
      ctx.print(JSON.stringify({ warehouse: where, pipelines }, null, 2));
      return EXIT.ok;
    }
    ctx.print(
      embedded
        ? `warehouse: embedded Postgres on 127.0.0.1:${embedded.port} (keeps running until "${aquasyncCommand()} db stop")\n  connect: ${psqlLine(embedded.port, embedded.passwordFile)}`
        : `warehouse: ${warehouse.url}`,
    );
    for (const p of pipelines) {
      ctx.print(`\npipeline ${p.name}`);
      ctx.print(`  watermark:  ${p.watermark ? p.watermark.toISOString() : '(none yet: the first run loads everything)'}`);
      const run = p.lastRun;
      ctx.print(
        run
          ? `  last run:   #${run.id} ${run.kind} ${run.status} at ${run.startedAt.toISOString()}, ${formatCount(Number(run.rowsWritten))} row(s) written of ${formatCount(Number(run.rowsRead))} read${run.errorMessage ? ` — ${run.errorMessage}` : ''}`
          : '  last run:   never',
      );
      const backfill = p.lastBackfill;
      if (backfill) {
        ctx.print(
          `  backfill:   #${backfill.id} ${backfill.status} at ${backfill.startedAt.toISOString()}, ${formatCount(Number(backfill.rowsWritten))} row(s)${backfill.errorMessage ? ` — ${backfill.errorMessage}` : ''}`,
        );
      }
      const v = p.lastVerification;
      ctx.print(
        v
          ? `  verified:   ${v.at.toISOString()} (${v.trigger}): ${v.result}` +
              (v.rowsPending ? `; ${formatCount(v.rowsPending)} pending` : '') +
              (v.result === 'ok' ? '' : ` — see ${aquasyncCommand()} verify --pipeline ${p.name}`)
          : `  verified:   never (run ${aquasyncCommand()} verify, or set verify.schedule)`,
      );
      ctx.print(
        p.inflightJob
          ? `  in flight:  Zuora job ${p.inflightJob.zuoraJobId ?? '(submitting)'} (${p.inflightJob.status}); the next run resumes it`
          : '  in flight:  none',
      );
      if (p.quarantine.open > 0) {
        ctx.print(
          `  quarantine: ${formatCount(p.quarantine.open)} row(s) Postgres could not take, last at ${p.quarantine.lastSeenAt?.toISOString() ?? '?'}; ` +
            `see: select * from aquasync.rejected_rows where pipeline = '${p.name}' and resolved_at is null`,
        );
      }
      for (const owed of p.snapshotsOwed) {
        ctx.print(`  snapshot:   ${owed.object} owes a complete snapshot (${owed.reason} since ${owed.since.toISOString()}); the next run takes it`);
      }
      ctx.print(
        formatTable(
          ['table', 'rows', 'live', 'deleted'],
          p.tables.map((t) => [t.table, t.exists ? formatCount(t.rows) : '(not created yet)', t.exists ? formatCount(t.live) : '', t.exists ? formatCount(t.rows - t.live) : '']),
        )
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n'),
      );
    }
    return EXIT.ok;
  } finally {
    await warehouse.close();
  }
}

/** One line's worth of the last verification of each object: when the newest was, and the combined result. */
export function summariseVerification(
  last: LastVerification[],
): { at: Date; trigger: string; result: string; ok: boolean; rowsMissing: number; rowsExtra: number; rowsPending: number } | undefined {
  if (last.length === 0) return undefined;
  const newest = last.reduce((a, b) => (b.checkedAt > a.checkedAt ? b : a));
  const sum = (pick: (v: LastVerification) => number): number => last.reduce((n, v) => n + pick(v), 0);
  const failed = last.filter((v) => v.error !== undefined);
  const rowsMissing = sum((v) => v.rowsMissing);
  const rowsExtra = sum((v) => v.rowsExtra);
  const ok = last.every((v) => v.ok);
  const result = ok
    ? 'ok'
    : [
        rowsMissing ? `${formatCount(rowsMissing)} row(s) missing` : '',
        rowsExtra ? `${formatCount(rowsExtra)} row(s) extra` : '',
        failed.length ? `check failed for ${failed.map((v) => v.object).join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(', ') || 'DIFFERS';
  return { at: newest.checkedAt, trigger: newest.trigger, result, ok, rowsMissing, rowsExtra, rowsPending: sum((v) => v.rowsPending) };
}
