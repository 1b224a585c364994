// `aquasync history`: past runs from aquasync.runs, for people (a table) or scripts (JSON lines).
import os from 'node:os';
import { ConfigError } from '../errors.ts';
import { runHistory, type RunRecord } from '../state/index.ts';
import { EXIT, type CommandContext } from './command.ts';
import { openMigratedWarehouse } from './common.ts';
import { formatCount, formatDuration, formatTable } from './table.ts';

export const DEFAULT_HISTORY_LIMIT = 20;

export function parseLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_HISTORY_LIMIT;
  const n = Number(value);
  if (typeof value !== 'string' || !/^\d+$/.test(value) || n < 1 || n > 10_000) {
    throw new ConfigError(`--limit must be a whole number from 1 to 10000, not "${String(value)}"`, { hint: 'e.g. aquasync history --limit 50' });
  }
  return n;
}

/** How far the watermark moved: `+5 s`, `+3 h 20 min`, `+26.9 y`, `none`, or `-` when the run set none. Pure. */
export function watermarkMove(before: Date | undefined, after: Date | undefined): string {
  if (after === undefined) return '-';
  if (before === undefined) return 'first load';
  const ms = after.getTime() - before.getTime();
  if (ms === 0) return 'none';
  const sign = ms < 0 ? '-' : '+';
  const abs = Math.abs(ms);
  const year = 365.25 * 86_400_000;
  if (abs >= year) return `${sign}${(abs / year).toFixed(1)} y`;
  if (abs >= 86_400_000) return `${sign}${Math.floor(abs / 86_400_000)} d ${Math.round((abs % 86_400_000) / 3_600_000)} h`;
  if (abs >= 3_600_000) return `${sign}${Math.floor(abs / 3_600_000)} h ${Math.round((abs % 3_600_000) / 60_000)} min`;
  return `${sign}${formatDuration(abs)}`;
}

/** A run still marked running whose process is gone (on this host) will be marked abandoned by the next run. */
function outcome(run: RunRecord, isAlive: (pid: number) => boolean): string {
  if (run.status !== 'running') return run.status;
  if (run.host === os.hostname() && run.pid !== undefined && !isAlive(run.pid)) return 'running? (its process is gone)';
  return 'running';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function durationOf(run: RunRecord, now: Date): number {
  return (run.finishedAt ?? now).getTime() - run.startedAt.getTime();
}

export async function historyCommand(values: Record<string, unknown>, ctx: CommandContext): Promise<number> {
  const limit = parseLimit(values.limit);
  const pipeline = typeof values.pipeline === 'string' ? values.pipeline : undefined;
  const warehouse = await openMigratedWarehouse(ctx.logger);
  let runs: RunRecord[];
  try {
    runs = await runHistory(warehouse.db, { ...(pipeline !== undefined ? { pipeline } : {}), limit });
  } finally {
    await warehouse.close();
  }
  const now = new Date();
  if (values.json) {
    for (const run of runs) {
      ctx.print(
        JSON.stringify({
          id: run.id,
          pipeline: run.pipeline,
          kind: run.kind,
          status: run.status,
          startedAt: run.startedAt.toISOString(),
          finishedAt: run.finishedAt?.toISOString() ?? null,
          durationMs: durationOf(run, now),
          rowsWritten: run.rowsWritten,
          rowsRead: run.rowsRead,
          rowsQuarantined: run.rowsQuarantined,
          watermarkBefore: run.watermarkBefore?.toISOString() ?? null,
          watermarkAfter: run.watermarkAfter?.toISOString() ?? null,
          zuoraJobId: run.jobId ?? null,
          errorCode: run.errorCode ?? null,
          error: run.errorMessage ?? null,
        }),
      );
    }
    return EXIT.ok;
  }
  if (runs.length === 0) {
    ctx.print(pipeline ? `no runs of pipeline "${pipeline}" yet` : 'no runs yet');
    return EXIT.ok;
  }
  const quarantine = runs.some((r) => r.rowsQuarantined > 0);
  const headers = ['id', 'pipeline', 'kind', 'started (UTC)', 'duration', 'outcome', 'written', 'read', ...(quarantine ? ['quarantined'] : []), 'watermark', 'moved', 'error'];
  ctx.print(
    formatTable(
      headers,
      runs.map((run) => [
        String(run.id),
        run.pipeline,
        run.kind,
        run.startedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        formatDuration(durationOf(run, now)),
        outcome(run, alive),
        formatCount(run.rowsWritten),
        formatCount(run.rowsRead),
        ...(quarantine ? [formatCount(run.rowsQuarantined)] : []),
        run.watermarkAfter ? run.watermarkAfter.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-',
        watermarkMove(run.watermarkBefore, run.watermarkAfter),
        run.errorMessage?.split('\n')[0] ?? '',
      ]),
    ),
  );
  return EXIT.ok;
}
