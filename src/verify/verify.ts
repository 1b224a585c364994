// `verify`: per object, live rows per UTC day of UpdatedDate in Zuora (one aggregate Data Query) against the
// warehouse's live rows, up to the pipeline's watermark. A day that differs is not yet a fault: Zuora keeps
// changing after the watermark, and a row updated or deleted since then is counted under its old day in the
// warehouse but not in Zuora. So verify asks Zuora which Ids changed at or after the watermark (live and deleted),
// discounts the warehouse versions they replace, and drills into each day still differing: which Ids differ on it,
// and whether Zuora's current UpdatedDate or deletion explains them (pending: the next sync brings them). Only
// what nothing explains fails: rows missing, or rows Zuora does not have (or no longer has, beyond its 30 days of
// deleted data).
import type { PipelineConfig } from '../config/types.ts';
import type { Warehouse } from '../db/index.ts';
import { AquasyncError, ConfigError, errorMessage } from '../errors.ts';
import { liveDailyCounts, liveIdsUpdatedIn, liveVersionsOfIds, tableExists, tableRowCounts } from '../load/index.ts';
import type { Logger } from '../log.ts';
import * as state from '../state/index.ts';
import type { DataQueryClient, DataQueryRow } from '../zuora/index.ts';
import { changedSince, idOf } from './changed.ts';
import { recordVerification } from './ledger.ts';
import {
  classifyDrill,
  compareDays,
  dailyCountQuery,
  dayWindow,
  parseDataQueryTimestamp,
  totalCountQuery,
  updatedInQuery,
  verifyTargets,
  type DayComparison,
  type VerifyTarget,
} from './plan.ts';

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
  /** Who asked: a person (`aquasync verify`) or the schedule. Recorded in aquasync.verifications. */
  trigger?: 'manual' | 'scheduled';
  /** Ids per Data Query page when listing changed rows or a day's rows (default 100,000). */
  pageSize?: number;
  /** Days drilled into per object, the most differing first (default 31); the rest are judged by counts. */
  maxDrillDays?: number;
  /** Ids kept per day and per category for the report (default 10). */
  sampleSize?: number;
}

/** A day whose difference later Zuora changes do not explain. */
export interface DayFinding {
  day: string;
  zuora: number;
  warehouse: number;
  /** Warehouse rows of the day that Zuora changed at or after the watermark. */
  pending: number;
  missing: number;
  extra: number;
  /** Some of the Ids (empty when the day was judged by counts only). */
  missingIds: string[];
  extraIds: string[];
  /** False when the day was past maxDrillDays and judged by its counts. */
  drilled: boolean;
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
  /** Differing rows that Zuora changed at or after the watermark (they arrive with the next sync). */
  rowsPending: number;
  /** The days that differ for reasons other than pending changes, in order. */
  days: DayFinding[];
  samples: { missing: string[]; extra: string[]; pending: string[] };
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
        rowsPending: 0,
        days: [],
        samples: { missing: [], extra: [], pending: [] },
        error: undefined,
      };
      try {
        if (watermark === undefined) {
          throw new ConfigError(`pipeline "${pipeline.name}" has never been synced: nothing to verify`, { hint: 'run `aquasync sync` first' });
        }
        if (!(await tableExists(ctx.warehouse.pool, target))) {
          throw new ConfigError(`table ${result.table} does not exist`, { hint: 'run `aquasync sync` first' });
        }
        Object.assign(result, await compareObject(ctx, target, options, watermark));
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
        trigger: options.trigger ?? 'manual',
        since: options.since,
        until: watermark,
        ok: result.ok,
        daysChecked: result.daysChecked,
        daysMatching: result.daysMatching,
        zuoraRows: result.zuoraRows,
        warehouseRows: result.warehouseRows,
        rowsMissing: result.rowsMissing,
        rowsExtra: result.rowsExtra,
        rowsPending: result.rowsPending,
        worstDay: result.worstDay && { day: result.worstDay.day, diff: result.worstDay.warehouse - result.worstDay.zuora },
        error: result.error,
        details: {
          days: result.days.slice(0, 100),
          samples: result.samples,
          differences: result.differences.slice(0, 100),
          totalsOnly: result.totalsOnly,
        },
      });
      return result;
    }),
  );
  return results;
}

type Outcome = Omit<VerifyObjectResult, 'pipeline' | 'object' | 'table' | 'ok' | 'since' | 'until' | 'totalsOnly' | 'error'>;

async function compareObject(ctx: VerifyContext, target: VerifyTarget, options: VerifyOptions, until: Date): Promise<Outcome> {
  if (target.updatedColumn === undefined) {
    const none = { rowsPending: 0, days: [], samples: { missing: [], extra: [], pending: [] } };
    // Without UpdatedDate in the warehouse there are no days to compare: totals of live rows, unbounded in time.
    const [row] = await ctx.dataQuery.query(totalCountQuery(target));
    const zuora = count(row, 'n', 'total count');
    const [counts] = await tableRowCounts(ctx.warehouse.pool, target.schema, [target.table]);
    const totals = compareDays(new Map([['all', zuora]]), new Map([['all', counts?.live ?? 0]]));
    const diff = totals.differences[0];
    return {
      ...totals,
      ...none,
      days: diff ? [{ ...diff, pending: 0, missing: totals.rowsMissing, extra: totals.rowsExtra, missingIds: [], extraIds: [], drilled: false }] : [],
    };
  }
  const updatedColumn = target.updatedColumn;
  const since = options.since;
  const pageSize = Math.min(options.pageSize ?? 100_000, ctx.dataQuery.outputLimit);
  const sample = options.sampleSize ?? 10;
  // Which rows Zuora changed since the watermark, asked before the counts: a row in this set is surely not counted
  // under its old day by Zuora's count below, so discounting its warehouse version is exact. Asked even when every
  // day matches: a lost row and a pending one on the same day cancel out in the counts.
  const changedBefore = await changedSince(ctx.dataQuery, target, until, pageSize);
  const [zuoraRows, warehouse] = await Promise.all([
    ctx.dataQuery.query(dailyCountQuery(target, since, until)),
    liveDailyCounts(ctx.warehouse.pool, target, { updatedColumn, since, until }),
  ]);
  const zuora = new Map<string, number>();
  for (const row of zuoraRows) {
    const day = typeof row.day === 'string' ? row.day.slice(0, 10) : undefined;
    if (day === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(day)) {
      throw new AquasyncError('ZUORA_PROTOCOL', `Data Query answered a per-day count without a day: ${JSON.stringify(row)}`);
    }
    zuora.set(day, (zuora.get(day) ?? 0) + count(row, 'n', 'per-day count'));
  }
  const counts = compareDays(zuora, warehouse);

  // Asked again after the counts: a row changed while Zuora counted may or may not be in its count, so it cannot be
  // discounted (that could cancel a real loss or a row deleted long ago on the same day) nor left in (that could
  // cancel a real missing row). The days holding such rows are not judged by counts: they are always drilled.
  let changed = await changedSince(ctx.dataQuery, target, until, pageSize);
  const held = await liveVersionsOfIds(ctx.warehouse.pool, target, { idColumn: target.idColumn, updatedColumn, ids: [...changed], since, until });
  const pending = new Set(held.map((h) => h.id));
  const pendingOn = new Map<string, number>();
  const racingOn = new Map<string, number>();
  for (const h of held) {
    const on = changedBefore.has(h.id) ? pendingOn : racingOn;
    on.set(h.day, (on.get(h.day) ?? 0) + 1);
  }

  const findings: DayFinding[] = [];
  for (const day of [...new Set([...zuora.keys(), ...warehouse.keys()])].sort()) {
    const z = zuora.get(day) ?? 0;
    const w = warehouse.get(day) ?? 0;
    const p = pendingOn.get(day) ?? 0;
    const racing = racingOn.get(day) ?? 0;
    const settled = w - p;
    if (settled === z && racing === 0) continue;
    findings.push({
      day,
      zuora: z,
      warehouse: w,
      pending: p + racing,
      missing: Math.max(0, z - settled),
      extra: Math.max(0, settled - z),
      missingIds: [],
      extraIds: [],
      drilled: false,
    });
  }
  // Days that counts (even after discounting pending rows) cannot settle, the most differing first: which Ids? Days
  // with rows changed during the count are drilled beyond maxDrillDays: their counts prove nothing either way (few
  // rows change in the seconds a count takes, so few days).
  const ranked = [...findings].sort((a, b) => b.missing + b.extra - (a.missing + a.extra));
  const limit = options.maxDrillDays ?? 31;
  const drill = ranked.filter((f, i) => i < limit || racingOn.has(f.day));
  const suspects: { finding: DayFinding; missing: string[]; extra: string[] }[] = [];
  for (const finding of drill) {
    const { from, to } = dayWindow(finding.day, since, until);
    const [inZuora, inWarehouse] = await Promise.all([
      idsUpdatedIn(ctx.dataQuery, target, from, to, pageSize),
      liveIdsUpdatedIn(ctx.warehouse.pool, target, { idColumn: target.idColumn, updatedColumn, from, to }),
    ]);
    const sorted = classifyDrill(inZuora, inWarehouse, changed);
    for (const id of sorted.pending) pending.add(id);
    finding.drilled = true;
    suspects.push({ finding, missing: sorted.missing, extra: sorted.extra });
  }
  // Zuora kept changing while we looked: ask once more which Ids changed since the watermark, so a row updated or
  // deleted between two of our queries is pending rather than a fault.
  if (suspects.some((s) => s.missing.length + s.extra.length > 0)) {
    changed = await changedSince(ctx.dataQuery, target, until, pageSize);
    for (const s of suspects) {
      for (const id of [...s.missing, ...s.extra]) if (changed.has(id)) pending.add(id);
      s.missing = s.missing.filter((id) => !changed.has(id));
      s.extra = s.extra.filter((id) => !changed.has(id));
    }
  }
  for (const s of suspects) {
    s.finding.missing = s.missing.length;
    s.finding.extra = s.extra.length;
    s.finding.missingIds = s.missing.sort().slice(0, sample);
    s.finding.extraIds = s.extra.sort().slice(0, sample);
  }
  const days = findings.filter((f) => f.missing + f.extra > 0);
  const worst = [...days].sort((a, b) => b.missing + b.extra - (a.missing + a.extra) || (a.day < b.day ? -1 : 1))[0];
  return {
    ...counts,
    daysMatching: counts.daysChecked - days.length,
    rowsMissing: days.reduce((n, d) => n + d.missing, 0),
    rowsExtra: days.reduce((n, d) => n + d.extra, 0),
    worstDay: worst && { day: worst.day, zuora: worst.zuora, warehouse: worst.warehouse },
    rowsPending: pending.size,
    days,
    samples: {
      missing: days.flatMap((d) => d.missingIds).slice(0, sample),
      extra: days.flatMap((d) => d.extraIds).slice(0, sample),
      pending: [...pending].sort().slice(0, sample),
    },
  };
}

/** Live Ids Zuora has updated in [from, to), with their UpdatedDate. */
async function idsUpdatedIn(dq: DataQueryClient, target: VerifyTarget, from: Date, to: Date, pageSize: number): Promise<Map<string, Date | undefined>> {
  const ids = new Map<string, Date | undefined>();
  for (let after = ''; ; ) {
    const rows = await dq.query(updatedInQuery(target, from, to, after, pageSize));
    for (const row of rows) ids.set(idOf(row, target), parseDataQueryTimestamp(row.updateddate));
    if (rows.length < pageSize) break;
    after = idOf(rows.at(-1), target);
  }
  return ids;
}
