// `verify`: per object, live rows per UTC day of UpdatedDate in Zuora (one aggregate Data Query) against the
// warehouse's live rows, up to the pipeline's watermark (later changes are the next sync's business).
import type { PipelineConfig } from '../config/types.ts';
import type { Warehouse } from '../db/index.ts';
import { AquasyncError, ConfigError, errorMessage } from '../errors.ts';
import { liveDailyCounts, tableExists, tableRowCounts } from '../load/index.ts';
import type { Logger } from '../log.ts';
import * as state from '../state/index.ts';
import type { DataQueryClient, DataQueryRow } from '../zuora/index.ts';
import { recordVerification } from './ledger.ts';
import { compareDays, dailyCountQuery, totalCountQuery, verifyTargets, type DayComparison, type VerifyTarget } from './plan.ts';

export interface VerifyContext {
  warehouse: Warehouse;
  dataQuery: DataQueryClient;
  /** Warehouse schema of the tables (config warehouse.schema). */
  schema: string;
  logger: Logger;
}

export interface VerifyOptions {
  objects?: readonly string[];
  /** Only days from this instant on (default: all history). */
  since?: Date;
}

export interface VerifyObjectResult extends DayComparison {
  pipeline: string;
  object: string;
  table: string;
  ok: boolean;
  since: Date | undefined;
  /** The watermark: rows updated later are not compared. */
  until: Date | undefined;
  /** True when the table has no UpdatedDate column and only totals were compared. */
  totalsOnly: boolean;
  error: string | undefined;
}

function emptyComparison(): DayComparison {
  return { daysChecked: 0, daysMatching: 0, zuoraRows: 0, warehouseRows: 0, rowsMissing: 0, rowsExtra: 0, worstDay: undefined, differences: [] };
}

function count(row: DataQueryRow | undefined, column: string, context: string): number {
  const value = Number(row?.[column]);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AquasyncError('ZUORA_PROTOCOL', `Data Query answered a ${context} without a count in column "${column}"`);
  }
  return value;
}

export async function runVerify(ctx: VerifyContext, pipeline: PipelineConfig, options: VerifyOptions = {}): Promise<VerifyObjectResult[]> {
  const targets = verifyTargets(pipeline, ctx.schema, options.objects ?? []);
  const watermark = await state.getWatermark(ctx.warehouse.db, pipeline.name);
  const log = ctx.logger.child({ pipeline: pipeline.name });
  const results = await Promise.all(
    targets.map(async (target): Promise<VerifyObjectResult> => {
      const result: VerifyObjectResult = {
        ...emptyComparison(),
        pipeline: pipeline.name,
        object: target.object,
        table: `${target.schema}.${target.table}`,
        ok: false,
        since: options.since,
        until: watermark,
        totalsOnly: target.updatedColumn === undefined,
        error: undefined,
      };
      try {
        if (watermark === undefined) {
          throw new ConfigError(`pipeline "${pipeline.name}" has never been synced: nothing to verify`, { hint: 'run `aquasync sync` first' });
        }
        if (!(await tableExists(ctx.warehouse.pool, target))) {
          throw new ConfigError(`table ${result.table} does not exist`, { hint: 'run `aquasync sync` first' });
        }
        Object.assign(result, await compareObject(ctx, target, options.since, watermark));
        result.ok = result.daysChecked === result.daysMatching;
      } catch (error) {
        result.error = errorMessage(error);
        log.error(`verify ${target.object}: ${result.error}`);
      }
      await recordVerification(ctx.warehouse.pool, {
        pipeline: pipeline.name,
        object: target.object,
        table: result.table,
        kind: 'verify',
        since: options.since,
        until: watermark,
        ok: result.ok,
        daysChecked: result.daysChecked,
        daysMatching: result.daysMatching,
        zuoraRows: result.zuoraRows,
        warehouseRows: result.warehouseRows,
        rowsMissing: result.rowsMissing,
        rowsExtra: result.rowsExtra,
        worstDay: result.worstDay && { day: result.worstDay.day, diff: result.worstDay.warehouse - result.worstDay.zuora },
        error: result.error,
        details: { differences: result.differences.slice(0, 100), totalsOnly: result.totalsOnly },
      });
      return result;
    }),
  );
  return results;
}

async function compareObject(ctx: VerifyContext, target: VerifyTarget, since: Date | undefined, until: Date): Promise<DayComparison> {
  if (target.updatedColumn === undefined) {
    // Without UpdatedDate in the warehouse there are no days to compare: totals of live rows, unbounded in time.
    const [row] = await ctx.dataQuery.query(totalCountQuery(target));
    const zuora = count(row, 'n', 'total count');
    const [counts] = await tableRowCounts(ctx.warehouse.pool, target.schema, [target.table]);
    return compareDays(new Map([['all', zuora]]), new Map([['all', counts?.live ?? 0]]));
  }
  const [zuoraRows, warehouse] = await Promise.all([
    ctx.dataQuery.query(dailyCountQuery(target, since, until)),
    liveDailyCounts(ctx.warehouse.pool, target, { updatedColumn: target.updatedColumn, since, until }),
  ]);
  const zuora = new Map<string, number>();
  for (const row of zuoraRows) {
    const day = typeof row.day === 'string' ? row.day.slice(0, 10) : undefined;
    if (day === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(day)) {
      throw new AquasyncError('ZUORA_PROTOCOL', `Data Query answered a per-day count without a day: ${JSON.stringify(row)}`);
    }
    zuora.set(day, (zuora.get(day) ?? 0) + count(row, 'n', 'per-day count'));
  }
  return compareDays(zuora, warehouse);
}
