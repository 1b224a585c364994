// Zuora's wall-time strings for the emulator (incrementalTime, startTime): parsing with the unkind DST reading, and
// formatting. Offsets come from time-zone.ts.
import { offsetMinutes } from './time-zone.ts';

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Offset of `zone` at instant `ms` (local = utc + offset), whole seconds; zone maths live in time-zone.ts. */
export function zoneOffsetMs(ms: number, zone: string): number {
  return offsetMinutes(Math.floor(ms / 1000) * 1000, zone) * 60_000;
}

function wallAt(ms: number, zone: string): Wall {
  const d = new Date(Math.floor(ms / 1000) * 1000 + zoneOffsetMs(ms, zone));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

function wallAsUtc(w: Wall): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

/**
 * The instant of a wall time in a zone. An ambiguous wall time (DST fall-back) maps to the LATER instant, as the
 * emulator's unkind reading of Zuora; a non-existent one (spring-forward gap) uses the offset before the gap.
 */
export function wallTimeToEpoch(w: Wall, zone: string): number {
  const asUtc = wallAsUtc(w);
  const day = 86_400_000;
  const offsets = new Set([zoneOffsetMs(asUtc - day, zone), zoneOffsetMs(asUtc + day, zone)]);
  const valid = [...offsets].map((o) => asUtc - o).filter((t) => zoneOffsetMs(t, zone) === asUtc - t);
  if (valid.length > 0) return Math.max(...valid);
  return asUtc - zoneOffsetMs(asUtc - day, zone);
}

const WALL_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** Parses `yyyy-MM-dd HH:mm:ss` (the only incrementalTime form Zuora accepts) in `zone`; undefined if invalid. */
export function parseWallTime(text: string, zone: string): number | undefined {
  const m = WALL_RE.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const check = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return undefined;
  }
  return wallTimeToEpoch({ year, month, day, hour, minute, second }, zone);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `yyyy-MM-dd HH:mm:ss` wall time of `ms` in `zone`. */
export function formatWallTime(ms: number, zone: string): string {
  const w = wallAt(ms, zone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
}

/** `2021-01-18T17:13:48+0000`, the ISO form seen in newer AQuA responses. */
export function formatIsoUtc(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, '+0000');
}

/** ISO-8601 with the zone's offset (`2024-07-09T02:47:49.675-07:00`), used by Data Query output. */
export function formatIsoInZone(ms: number, zone: string): string {
  const offset = zoneOffsetMs(ms, zone);
  const local = new Date(ms + offset).toISOString().slice(0, 23);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset) / 60_000;
  return `${local}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
