// A warehouse database plus an emulator, and a way to run one pipeline against them, for the sync tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.ts';
import type { PipelineConfig } from '../../src/config/types.ts';
import { migrate, openWarehouse, type Warehouse } from '../../src/db/index.ts';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator/index.ts';
import { silentLogger } from '../../src/log.ts';
import { runPipeline, type PipelineRunResult, type RunOptions } from '../../src/sync/index.ts';
import { ZuoraClient } from '../../src/zuora/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

export interface SyncWorld {
  db: TestDatabase;
  warehouse: Warehouse;
  emulator: Emulator;
  tempDir: string;
  close(): Promise<void>;
}

export async function startWorld(prefix: string, emulatorOptions: EmulatorOptions = {}): Promise<SyncWorld> {
  const db = await createTestDatabase(prefix);
  const warehouse = await openWarehouse({ databaseUrl: db.url });
  await migrate(warehouse.db);
  const emulator = await startEmulator({
    seed: 3,
    rows: 300,
    timing: { queuedMs: 5, executingMs: 10 },
    ...emulatorOptions,
  });
  const tempDir = mkdtempSync(join(tmpdir(), 'aquasync-sync-'));
  return {
    db,
    warehouse,
    emulator,
    tempDir,
    async close() {
      await emulator.close();
      await warehouse.close();
      await db.drop();
      rmSync(tempDir, { recursive: true, force: true });
    },
  };
}

/** A pipelines.yaml document, parsed by the real config loader. */
export function pipelineFrom(yaml: string, env: Record<string, string> = {}): { pipeline: PipelineConfig; schema: string } {
  const config = parseConfig(yaml, 'test-pipelines.yaml', env);
  const pipeline = config.pipelines[0];
  if (!pipeline) throw new Error('no pipeline in test yaml');
  return { pipeline, schema: config.warehouse.schema };
}

export function clientFor(world: SyncWorld, overrides: { clientSecret?: string } = {}): ZuoraClient {
  return new ZuoraClient({
    baseUrl: world.emulator.url,
    clientId: world.emulator.clientId,
    clientSecret: overrides.clientSecret ?? world.emulator.clientSecret,
    poll: { minIntervalMs: 10, maxIntervalMs: 50 },
    retry: { attempts: 5, baseDelayMs: 10, maxDelayMs: 100 },
    requestTimeoutMs: 10_000,
  });
}

export function syncOnce(
  world: SyncWorld,
  target: { pipeline: PipelineConfig; schema: string },
  options: Partial<RunOptions> & { client?: ZuoraClient } = {},
): Promise<PipelineRunResult> {
  const { client, ...rest } = options;
  return runPipeline(
    { warehouse: world.warehouse, client: client ?? clientFor(world), schema: target.schema },
    target.pipeline,
    { logger: silentLogger, tempDir: world.tempDir, ...rest },
  );
}

export async function watermarkOf(world: SyncWorld, pipeline: string): Promise<Date | undefined> {
  const { rows } = await world.warehouse.pool.query<{ watermark: Date }>(
    'select watermark from aquasync.watermarks where pipeline = $1',
    [pipeline],
  );
  return rows[0]?.watermark;
}

export function postsToBatchQuery(world: SyncWorld): number {
  return world.emulator.admin.requests().filter((r) => r.method === 'POST' && /batch-query\/?$/.test(r.path)).length;
}
