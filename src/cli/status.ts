// `aquasync status`: watermarks, last runs, in-flight jobs and row counts, for people or as JSON.
import { dirname, join } from 'node:path';
import { tableRowCounts } from '../load/index.ts';
import { lastRunOfKind, openQuarantine, owedSnapshots, pipelineStatus } from '../state/index.ts';
import { EXIT, type CommandContext } from './main.ts';
import { openMigratedWarehouse, readConfig } from './common.ts';
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
      pipelines.push({ name: pipeline.name, ...status, lastBackfill, quarantine, snapshotsOwed, tables });
    }
    // The embedded server has a random password in <home>/pg/password (mode 0600); point at the file, never print it.
    const passwordFile = warehouse.embedded ? join(dirname(warehouse.embedded.dataDir), 'password') : undefined;
    const where = warehouse.embedded
      ? {
          embedded: true,
          port: warehouse.embedded.port,
          psql: `PGPASSWORD=$(cat ${passwordFile}) psql -h 127.0.0.1 -p ${warehouse.embedded.port} -U postgres aquasync`,
        }
      : { embedded: false, url: warehouse.url };

    if (values.json) {
      ctx.print(JSON.stringify({ warehouse: where, pipelines }, null, 2));
      return EXIT.ok;
    }
    ctx.print(
      warehouse.embedded
        ? `warehouse: embedded Postgres on 127.0.0.1:${warehouse.embedded.port}, running while an aquasync command runs\n  connect: ${where.psql}`
        : `warehouse: ${warehouse.url}`,
    );
    for (const p of pipelines) {
      ctx.print(`\npipeline ${p.name}`);
      ctx.print(`  watermark:  ${p.watermark ? p.watermark.toISOString() : '(none yet: the first run loads everything)'}`);
      const run = p.lastRun;
      ctx.print(
        run
          ? `  last run:   #${run.id} ${run.kind} ${run.status} at ${run.startedAt.toISOString()}, ${formatCount(Number(run.rowsWritten))} row(s)${run.errorMessage ? ` — ${run.errorMessage}` : ''}`
          : '  last run:   never',
      );
      const backfill = p.lastBackfill;
      if (backfill) {
        ctx.print(
          `  backfill:   #${backfill.id} ${backfill.status} at ${backfill.startedAt.toISOString()}, ${formatCount(Number(backfill.rowsWritten))} row(s)${backfill.errorMessage ? ` — ${backfill.errorMessage}` : ''}`,
        );
      }
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
