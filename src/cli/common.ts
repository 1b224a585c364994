// Shared plumbing of the commands: the config file, the warehouse connection and the built-in emulator.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../config/index.ts';
import type { Config, PipelineConfig } from '../config/types.ts';
import { migrate, openWarehouse, urlPasswords, type Warehouse } from '../db/index.ts';
import { ConfigError, InterruptedError } from '../errors.ts';
import { registerSecret, type Logger } from '../log.ts';
import { ZuoraClient, type ZuoraClientOptions } from '../zuora/index.ts';
import { aquasyncCommand } from './invocation.ts';

export const DEFAULT_CONFIG = 'pipelines.yaml';

export function aquasyncHome(): string {
  return resolve(process.env.AQUASYNC_HOME ?? '.aquasync');
}

export function readConfig(values: Record<string, unknown>): Promise<Config> {
  const file = typeof values.config === 'string' ? values.config : DEFAULT_CONFIG;
  return loadConfig(resolve(file));
}

/**
 * DATABASE_URL when set, checked: only postgres:// and postgresql:// URLs name a Postgres server (a mysql:// URL
 * would otherwise be handed to the pg driver, which reads it as Postgres at whatever host it names).
 */
export function databaseUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = env.DATABASE_URL?.trim();
  if (!url) return undefined;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  if (scheme !== 'postgres' && scheme !== 'postgresql') {
    throw new ConfigError(
      scheme
        ? `DATABASE_URL must be a postgres:// or postgresql:// URL, not ${scheme}://...`
        : 'DATABASE_URL must be a postgres:// or postgresql:// URL',
      { hint: 'e.g. export DATABASE_URL=postgres://loader@db.example.com:5432/warehouse, or unset it to use the embedded Postgres' },
    );
  }
  // The pg driver decodes the user and password itself and throws a bare URIError on a bad escape (`p%zz`).
  try {
    const parsed = new URL(url);
    decodeURIComponent(parsed.username);
    decodeURIComponent(parsed.password);
    decodeURIComponent(parsed.pathname);
  } catch {
    throw new ConfigError('DATABASE_URL is not a valid URL: a character in it needs percent-encoding, or a % is not followed by two hex digits', {
      hint: 'percent-encode special characters of the user and password (% as %25, @ as %40, : as %3A, / as %2F, # as %23)',
    });
  }
  for (const password of urlPasswords(url)) registerSecret(password);
  return url;
}

/** Opens DATABASE_URL, or the embedded Postgres under AQUASYNC_HOME (starting it when it is not running). */
export async function openConfiguredWarehouse(logger: Logger): Promise<Warehouse> {
  const databaseUrl = databaseUrlFromEnv();
  const warehouse = await openWarehouse({ ...(databaseUrl ? { databaseUrl } : {}), home: aquasyncHome(), logger });
  if (warehouse.embedded?.startedNow) {
    logger.info(
      `started the embedded Postgres on 127.0.0.1:${warehouse.embedded.port} (data in ${warehouse.embedded.dataDir}); ` +
        `it keeps running for later commands until "${aquasyncCommand()} db stop"`,
    );
  }
  return warehouse;
}

/** Opens the warehouse (see openConfiguredWarehouse) and applies migrations. */
export async function openMigratedWarehouse(logger: Logger): Promise<Warehouse> {
  const warehouse = await openConfiguredWarehouse(logger);
  try {
    await migrate(warehouse.db);
  } catch (error) {
    await warehouse.close();
    throw error;
  }
  return warehouse;
}

export interface Sources {
  pipelines: PipelineConfig[];
  close(): Promise<void>;
}

/**
 * Resolves `baseUrl: emulator` by starting the built-in emulator in this process. Its sessions, clock and data
 * changes persist under AQUASYNC_HOME, so a second run continues the same stateful session (an incremental load).
 */
export async function resolveSources(pipelines: PipelineConfig[], logger: Logger): Promise<Sources> {
  if (!pipelines.some((p) => p.source.baseUrl === 'emulator')) {
    return { pipelines, close: async () => undefined };
  }
  const dir = join(aquasyncHome(), 'emulator');
  mkdirSync(dir, { recursive: true });
  const { startBuiltInEmulator } = await import('./builtin-emulator.ts');
  const emulator = await startBuiltInEmulator(join(dir, 'state.json'));
  logger.info(`using the built-in AQuA emulator at ${emulator.url} (set ZUORA_BASE_URL to sync from Zuora)`);
  return {
    pipelines: pipelines.map((p) =>
      p.source.baseUrl === 'emulator'
        ? { ...p, source: { ...p.source, baseUrl: emulator.url, clientId: emulator.clientId, clientSecret: emulator.clientSecret } }
        : p,
    ),
    close: () => emulator.close(),
  };
}

/** Poll bounds: the built-in or a local emulator answers in milliseconds, Zuora in seconds to hours. */
export function pollBoundsFor(baseUrl: string): { minIntervalMs: number; maxIntervalMs: number } | undefined {
  return /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(baseUrl) ? { minIntervalMs: 100, maxIntervalMs: 1000 } : undefined;
}

/** The AQuA client for one pipeline's source, with the same settings in every command. */
export function zuoraClientFor(
  pipeline: PipelineConfig,
  logger: Logger,
  signal: AbortSignal | undefined,
  overrides: Pick<ZuoraClientOptions, 'retry' | 'requestTimeoutMs'> = {},
): ZuoraClient {
  const poll = pollBoundsFor(pipeline.source.baseUrl);
  return new ZuoraClient({
    baseUrl: pipeline.source.baseUrl,
    clientId: pipeline.source.clientId,
    clientSecret: pipeline.source.clientSecret,
    ...(pipeline.source.entityId ? { entityId: pipeline.source.entityId } : {}),
    download: { minBytesPerSecond: pipeline.source.minDownloadSpeed * 1024 },
    logger,
    ...(signal ? { signal } : {}),
    ...(poll ? { poll } : {}),
    ...overrides,
  });
}

/** Stops on SIGINT/SIGTERM: aborts the returned signal (saying `what` happens next); done() removes the handlers. */
export function interruptible(logger: Logger, what = 'stopping'): { signal: AbortSignal; done(): void } {
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.warn(`${signal} received: ${what}`);
    abort.abort(new InterruptedError(`stopped by ${signal}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: abort.signal,
    done: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * What a loading command (sync, backfill) starts with: Ctrl-C handling, the migrated warehouse, then a temp folder
 * (made only once the warehouse is open, so a failed open leaves no empty folder behind). The caller removes
 * `tempDir`, closes the warehouse and calls `stop.done()`.
 */
export async function startLoading(
  ctx: { logger: Logger },
  onStop: string,
  tempPrefix: string,
): Promise<{ stop: ReturnType<typeof interruptible>; warehouse: Warehouse; tempDir: string }> {
  const stop = interruptible(ctx.logger, onStop);
  let warehouse: Warehouse;
  try {
    warehouse = await openMigratedWarehouse(ctx.logger);
  } catch (error) {
    stop.done();
    throw error;
  }
  return { stop, warehouse, tempDir: mkdtempSync(join(tmpdir(), tempPrefix)) };
}
