// Pure planning of a backfill: which objects, which windows, and the exact stateless AQuA request of each window.
import type { ObjectConfig, PipelineConfig } from '../config/types.ts';
import { ConfigError } from '../errors.ts';
import { buildBackfillRequest } from '../plan/index.ts';
import type { AquaJobRequest } from '../zuora/index.ts';

export interface TimeWindow {
  since: Date;
  until: Date;
}

export interface PlannedWindow extends TimeWindow {
  request: AquaJobRequest;
}

export interface BackfillPlan {
  objects: ObjectConfig[];
  since: Date;
  until: Date;
  windows: PlannedWindow[];
}

const SECOND = 1000;
const UNITS: Record<string, number> = { s: SECOND, m: 60 * SECOND, h: 3600 * SECOND, d: 86_400 * SECOND, w: 7 * 86_400 * SECOND };

/** `30d`, `12h`, `90m`, `3600s`, `2w` -> milliseconds. Undefined for anything else. */
export function parseWindowSize(text: string): number | undefined {
  const match = /^\s*(\d+)\s*([smhdw])\s*$/i.exec(text);
  if (!match) return undefined;
  const ms = Number(match[1]) * (UNITS[match[2]!.toLowerCase()] ?? 0);
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * Splits [since, until) into consecutive windows of `windowMs` (the last one shorter), aligned on `since`.
 * Bounds are whole seconds (Zuora literals carry no milliseconds): since is truncated, until rounded up, so the
 * windows always cover the range asked for.
 */
export function splitWindows(since: Date, until: Date, windowMs: number): TimeWindow[] {
  const start = Math.floor(since.getTime() / SECOND) * SECOND;
  const end = Math.ceil(until.getTime() / SECOND) * SECOND;
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new ConfigError('the backfill range has an invalid date');
  if (start >= end) {
    throw new ConfigError(`the backfill range is empty: since ${new Date(start).toISOString()} is not before until ${new Date(end).toISOString()}`);
  }
  if (!Number.isSafeInteger(windowMs) || windowMs < SECOND || windowMs % SECOND !== 0) {
    throw new ConfigError(`the backfill window must be a whole number of seconds, at least 1 s (got ${windowMs} ms)`);
  }
  const windows: TimeWindow[] = [];
  for (let from = start; from < end; from += windowMs) {
    windows.push({ since: new Date(from), until: new Date(Math.min(from + windowMs, end)) });
  }
  return windows;
}

/** The pipeline's objects named in `names` (case-insensitive, by object or table name); all of them when empty. */
export function selectObjects(pipeline: PipelineConfig, names: readonly string[] | undefined): ObjectConfig[] {
  if (!names || names.length === 0) return pipeline.objects;
  const selected: ObjectConfig[] = [];
  for (const name of names) {
    const key = name.trim().toLowerCase();
    const object = pipeline.objects.find((o) => o.name.toLowerCase() === key || o.table.toLowerCase() === key);
    if (!object) {
      throw new ConfigError(`pipeline "${pipeline.name}" has no object named "${name}"`, {
        hint: `its objects: ${pipeline.objects.map((o) => o.name).join(', ')}`,
      });
    }
    if (!selected.includes(object)) selected.push(object);
  }
  return selected;
}

export function planBackfill(
  pipeline: PipelineConfig,
  options: { since: Date; until: Date; objects?: readonly string[] | undefined; windowMs: number },
): BackfillPlan {
  const objects = selectObjects(pipeline, options.objects);
  const windows = splitWindows(options.since, options.until, options.windowMs).map((w) => ({
    ...w,
    request: buildBackfillRequest(pipeline, objects, w.since, w.until),
  }));
  const first = windows[0];
  const last = windows.at(-1);
  if (!first || !last) throw new ConfigError('the backfill range is empty');
  return { objects, since: first.since, until: last.until, windows };
}
