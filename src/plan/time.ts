// Zuora reads incrementalTime as a zone-less wall time (Pacific for US data centers, UTC for EU) and answers with
// a mix of wall times, ISO strings and epoch milliseconds. Everything here converts between those and instants.
import type { DataCenter } from '../config/types.ts';
import { ZuoraProtocolError } from '../errors.ts';
import { partsIn, wallAsUtc, type WallParts } from './wall.ts';

export function zoneFor(dc: DataCenter): string {
  return dc === 'us' ? 'America/Los_Angeles' : 'UTC';
}

/** Offset of `zone` from UTC at instant `ms`, in ms (PDT: -7 h). */
function offsetAt(ms: number, zone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallAsUtc(partsIn(whole, zone)) - whole;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function formatWall(parts: WallParts): string {
  return (
    `${pad(parts.year, 4)}-${pad(parts.month)}-${pad(parts.day)} ` +
    `${pad(parts.hour)}:${pad(parts.minute)}:${pad(parts.second)}`
  );
}

/** `yyyy-MM-dd HH:mm:ss` of `instant` in the data center's zone (fractions of a second dropped). */
export function wallTime(instant: Date, dc: DataCenter): string {
  return formatWall(partsIn(Math.floor(instant.getTime() / 1000) * 1000, zoneFor(dc)));
}

/**
 * Every instant whose wall time in `zone` is `parts`, earliest first: one normally, two inside a fall-back
 * repeated hour, none inside a spring-forward gap.
 */
function instantsForWall(parts: WallParts, zone: string): number[] {
  const guess = wallAsUtc(parts);
  const day = 86_400_000;
  const offsets = new Set([offsetAt(guess - day, zone), offsetAt(guess, zone), offsetAt(guess + day, zone)]);
  const target = formatWall(parts);
  const found = [...offsets]
    .map((offset) => guess - offset)
    .filter((ms) => formatWall(partsIn(ms, zone)) === target);
  return [...new Set(found)].sort((a, b) => a - b);
}

/** First instant in (low, high] whose offset equals the offset at `high` (the moment of a zone transition). */
function transitionBetween(low: number, high: number, zone: string): number {
  const after = offsetAt(high, zone);
  let lo = low;
  let hi = high;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offsetAt(mid, zone) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}

export interface IncrementalTime {
  /** What to send as incrementalTime. */
  incrementalTime: string;
  /** The earliest instant Zuora could read that string as: where the window really starts. */
  from: Date;
}

/**
 * incrementalTime for a window that starts `lookbackSeconds` before `watermark`. A wall time inside the US
 * fall-back repeated hour could be read as the later instant, skipping up to an hour of changes, so such a
 * target steps back to the last wall second before the repeated hour, which has a single reading.
 */
export function incrementalTimeFor(watermark: Date, lookbackSeconds: number, dc: DataCenter): IncrementalTime {
  const zone = zoneFor(dc);
  const target = Math.floor((watermark.getTime() - lookbackSeconds * 1000) / 1000) * 1000;
  if (!Number.isFinite(target)) {
    throw new RangeError(`incrementalTimeFor: invalid watermark ${String(watermark)} or lookback ${lookbackSeconds}`);
  }
  const readings = instantsForWall(partsIn(target, zone), zone);
  const earliest = readings[0];
  const latest = readings[readings.length - 1];
  if (earliest === undefined || latest === undefined || earliest === latest) {
    return { incrementalTime: formatWall(partsIn(target, zone)), from: new Date(target) };
  }
  // Repeated hour: the transition lies between the two readings; the repeated wall span starts `fold` before it.
  const transition = transitionBetween(earliest, latest, zone);
  const fold = offsetAt(earliest, zone) - offsetAt(latest, zone);
  const before = transition - fold - 1000;
  return { incrementalTime: formatWall(partsIn(before, zone)), from: new Date(before) };
}

const WALL_OR_ISO =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):?(\d{2}))?$/;

/**
 * Parses a time as Zuora sends it: `yyyy-MM-dd HH:mm:ss` wall time in the data center's zone (an ambiguous
 * fall-back wall time becomes the earlier instant, a spring-forward gap time is read with the offset before the
 * gap), ISO 8601 with `Z` or an offset with or without colon, or epoch milliseconds (number or digit string).
 */
export function parseZuoraTime(value: string | number, dc: DataCenter): Date {
  const invalid = (): ZuoraProtocolError =>
    new ZuoraProtocolError(
      `cannot parse Zuora time ${JSON.stringify(value)}: ` +
        'expected "yyyy-MM-dd HH:mm:ss", ISO 8601 or epoch milliseconds',
      { context: { value: String(value) } },
    );
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw invalid();
    return new Date(value);
  }
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const ms = Number(text);
    if (!Number.isSafeInteger(ms)) throw invalid();
    return new Date(ms);
  }
  const m = WALL_OR_ISO.exec(text);
  if (!m) throw invalid();
  const parts: WallParts = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6]),
  };
  const millis = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  const base = wallAsUtc(parts);
  // Reject 2026-02-30 and 25:00:00, which Date arithmetic would silently roll over.
  if (Number.isNaN(base) || formatWall(partsIn(base, 'UTC')) !== formatWall(parts)) throw invalid();
  if (m[8] === 'Z') return new Date(base + millis);
  if (m[9]) {
    const sign = m[9] === '-' ? -1 : 1;
    const hours = Number(m[10]);
    const minutes = Number(m[11]);
    if (hours > 23 || minutes > 59) throw invalid();
    return new Date(base - sign * (hours * 3600 + minutes * 60) * 1000 + millis);
  }
  const zone = zoneFor(dc);
  const readings = instantsForWall(parts, zone);
  const earliest = readings[0];
  if (earliest !== undefined) return new Date(earliest + millis);
  // Spring-forward gap: read with the offset in force just before it.
  return new Date(base - offsetAt(base - 86_400_000, zone) + millis);
}

/** The window end of a completed stateful job: its start time minus the offset it ran with. */
export function watermarkFromJob(startTime: string | number, offsetSeconds: number, dc: DataCenter): Date {
  return new Date(parseZuoraTime(startTime, dc).getTime() - offsetSeconds * 1000);
}
