// `aquasync schedule`: the long-lived service. Runs every pipeline on its cron schedule until SIGTERM/SIGINT, each
// slot exactly once across all replicas sharing the warehouse (see src/scheduler).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { Scheduler, startStatusServer, type StatusServer } from '../scheduler/index.ts';
import { runBackfill, runPipeline } from '../sync/index.ts';
import { runScheduledVerification } from '../verify/index.ts';
import { EXIT, type CommandContext } from './command.ts';
import { jobBudgetFromEnv } from './job-budget.ts';
import { parseHost } from './listen.ts';
import { openMigratedWarehouse, pollBoundsFor, readConfig, resolveSources, type Sources, zuoraClientFor } from './common.ts';
import { clientsFor } from './verify.ts';
import { DEFAULT_LEASE_SECONDS, LEASE_ENV, parseSeconds } from './settings.ts';

export const DEFAULT_GRACE_SECONDS = 30;

/** --port: a TCP port (0 picks a free one). Undefined when not given. */
export function parsePort(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || port > 65535) {
    throw new ConfigError(`--port must be a port number from 0 to 65535, not "${String(value)}"`, {
      hint: 'e.g. aquasync schedule --port 9464',
    });
  }
  return port;
}

export async function scheduleCommand(values: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const port = parsePort(values.port);
  const host = parseHost(values.host);
  const graceMs = parseSeconds(values.grace, '--grace', DEFAULT_GRACE_SECONDS) * 1000;
  const leaseMs = parseSeconds(process.env[LEASE_ENV], LEASE_ENV, DEFAULT_LEASE_SECONDS, 1) * 1000;
  const config = await readConfig(values);
  const log = ctx.logger;

  let signals = 0;
  let onStopRequested: (signal: NodeJS.Signals) => void = () => undefined;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (onStopRequested = resolve));
  let scheduler: Scheduler | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals === 1) {
      log.warn(`${signal} received: no new runs; a running load may finish within ${graceMs / 1000} s (send it again to stop now)`);
      onStopRequested(signal);
    } else {
      log.warn(`${signal} received again: abandoning running loads now`);
      void scheduler?.stop(0);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const tempDir = mkdtempSync(join(tmpdir(), 'aquasync-schedule-'));
  let sources: Sources | undefined;
  let server: StatusServer | undefined;
  let exitNow = false;
  const warehouse = await openMigratedWarehouse(log).catch((error: unknown) => {
    cleanUp();
    throw error;
  });
  function cleanUp(): void {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    rmSync(tempDir, { recursive: true, force: true });
  }

  try {
    sources = await resolveSources(config.pipelines, log);
    const schema = config.warehouse.schema;
    const jobBudget = jobBudgetFromEnv();
    scheduler = new Scheduler({
      pool: warehouse.pool,
      db: warehouse.db,
      pipelines: sources.pipelines,
      logger: log,
      leaseMs,
      run: (pipeline, { signal }) => {
        const client = zuoraClientFor(pipeline, log.child({ pipeline: pipeline.name }), signal);
        const poll = pollBoundsFor(pipeline.source.baseUrl);
        return runPipeline({ warehouse, client, schema, jobBudget }, pipeline, { kind: 'scheduled', logger: log, signal, tempDir, ...(poll ? { poll } : {}) });
      },
      verify: (pipeline, { signal }) => {
        const { client, dataQuery } = clientsFor(pipeline, log, signal);
        const poll = pollBoundsFor(pipeline.source.baseUrl);
        return runScheduledVerification({ warehouse, client, dataQuery, schema, logger: log }, pipeline, {
          backfill: runBackfill,
          tempDir,
          signal,
          ...(poll ? { poll } : {}),
        });
      },
    });
    if (port !== undefined) {
      const { createStatusPage, StatusApi } = await import('../ui/index.ts'); // only a replica that serves HTTP loads the page
      const page = createStatusPage({ api: new StatusApi({ pool: warehouse.pool, schema, pipelines: config.pipelines }), logger: log });
      server = await startStatusServer({ port, host, scheduler, pool: warehouse.pool, logger: log, page });
      log.info(`serving the status page, /healthz and /metrics on ${server.url}`, { port: server.port });
    }
    if (signals === 0) {
      await scheduler.start();
      log.info(`scheduler running ${sources.pipelines.length} pipeline(s) as replica ${scheduler.replicaId}`, {
        lease: `${leaseMs / 1000}s`,
      });
    }

    await stopRequested;
    const result = await scheduler.stop(graceMs);
    if (result.unsettled.length) {
      log.error(`run(s) of ${result.unsettled.join(', ')} did not unwind; exiting anyway (the next run resumes their jobs)`);
      exitNow = true;
      return EXIT.interrupted;
    }
    log.info(result.abandoned.length ? `stopped; abandoned the run(s) of ${result.abandoned.join(', ')}` : 'stopped cleanly');
    return result.abandoned.length ? EXIT.interrupted : EXIT.ok;
  } finally {
    if (exitNow) {
      // Something still holds warehouse connections; ending the process drops them (and rolls back what they had open).
      cleanUp();
      process.exit(EXIT.interrupted);
    }
    await server?.close();
    await sources?.close();
    await warehouse.close();
    cleanUp();
  }
}
