// A warehouse + emulator world and in-process scheduler replicas running the real runPipeline against it.
import { openWarehouse, type Warehouse } from '../../src/db/index.ts';
import { createLogger, silentLogger, type Logger } from '../../src/log.ts';
import { Scheduler, listSlots, type SchedulerOptions, type SlotRecord } from '../../src/scheduler/index.ts';
import { runPipeline } from '../../src/sync/index.ts';
import { ZuoraClient } from '../../src/zuora/index.ts';
import { pipelineFrom, type SyncWorld } from '../sync/helpers.ts';
import { waitFor as waitUntil } from '../helpers/wait.ts';

export function yamlFor(opts: { name: string; project: string; schedule: string }): string {
  return `
source:
  baseUrl: https://placeholder
  clientId: id
  clientSecret: secret
warehouse:
  schema: zuora
pipelines:
  - name: ${opts.name}
    schedule: "${opts.schedule}"
    timezone: UTC
    partner: aquasync
    project: ${opts.project}
    format: csv
    objects:
      - name: Account
        fields: [Id, Name, Balance, UpdatedDate]
`;
}

export interface Replica {
  scheduler: Scheduler;
  warehouse: Warehouse;
  close(): Promise<void>;
}

/** One replica: its own pool (as a separate process would have) and a Scheduler running the real sync. */
export async function startReplica(
  world: SyncWorld,
  yaml: string,
  options: Partial<Omit<SchedulerOptions, 'pool' | 'db' | 'pipelines' | 'run'>> & { logger?: Logger } = {},
): Promise<Replica> {
  const { pipeline, schema } = pipelineFrom(yaml);
  const warehouse = await openWarehouse({ databaseUrl: world.db.url });
  const logger = options.logger ?? (process.env.SCHEDULER_TEST_LOG ? createLogger({ level: 'debug' }) : silentLogger);
  const scheduler = new Scheduler({
    leaseMs: 3000,
    ...options,
    logger,
    pool: warehouse.pool,
    db: warehouse.db,
    pipelines: [pipeline],
    run: (p, { signal }) =>
      runPipeline(
        {
          warehouse,
          schema,
          client: new ZuoraClient({
            baseUrl: world.emulator.url,
            clientId: world.emulator.clientId,
            clientSecret: world.emulator.clientSecret,
            poll: { minIntervalMs: 20, maxIntervalMs: 100 },
            retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 100 },
            signal,
          }),
        },
        p,
        { kind: 'scheduled', logger, signal, tempDir: world.tempDir },
      ),
  });
  await scheduler.start();
  return {
    scheduler,
    warehouse,
    async close() {
      await scheduler.stop(10_000);
      await warehouse.close();
    },
  };
}

/** Waits for a scheduler test's condition (20 s unless told). */
export function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  return waitUntil(what, probe, { timeoutMs, intervalMs: 100 });
}

export function slotsOf(world: SyncWorld, pipeline: string): Promise<SlotRecord[]> {
  return listSlots(world.warehouse.pool, { pipeline });
}

export interface RunRow {
  id: number;
  kind: string;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  rows_written: number;
  job_id: string | null;
  error_message: string | null;
}

export async function runsOf(world: SyncWorld, pipeline: string): Promise<RunRow[]> {
  const { rows } = await world.warehouse.pool.query<RunRow>(
    'select id, kind, status, started_at, finished_at, rows_written, job_id, error_message from aquasync.runs where pipeline = $1 order by id',
    [pipeline],
  );
  return rows;
}
