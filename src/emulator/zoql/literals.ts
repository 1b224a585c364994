// Date and datetime literals of Export ZOQL, read in the tenant's zone unless they carry an offset
// (docs/aqua.md#literals: the space-separated form is Zuora's trap and is recognised apart).
import { wallTimeToEpoch } from '../time-zone.ts';
import { syntaxError } from './tokenizer.ts';

export const SPACE_DATETIME_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})(Z?)$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})?$/;
const RELATIVE_RE = /^\s*(now|today)\b/i;

function validCalendar(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Whole-day range [start, end) of a calendar date in `zone`. */
export function dayRange(date: string, zone: string): [number, number] {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const next = new Date(Date.UTC(y, m - 1, d + 1));
  return [
    wallTimeToEpoch(zone, y, m, d),
    wallTimeToEpoch(zone, next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate()),
  ];
}

export type TemporalLiteral = { kind: 'instant'; ms: number } | { kind: 'day'; date: string; zone: string };

export function parseTemporal(text: string, defaultZone: string): TemporalLiteral {
  if (RELATIVE_RE.test(text)) {
    throw syntaxError(`relative date expression '${text}' is not supported by the emulator; use an ISO literal`);
  }
  const date = DATE_RE.exec(text);
  if (date !== null) {
    const [, y, m, d, z] = date;
    if (!validCalendar(Number(y), Number(m), Number(d))) throw syntaxError(`invalid date '${text}'`);
    return { kind: 'day', date: `${y}-${m}-${d}`, zone: z === 'Z' ? 'UTC' : defaultZone };
  }
  const match = DATETIME_RE.exec(text);
  if (match === null) {
    throw syntaxError(`'${text}' is not a date or datetime literal (use 'YYYY-MM-DDThh:mm:ss±hh:mm')`);
  }
  const [, ys, ms, ds, hs, mins, ss, zone] = match;
  const [y, mo, d, h, mi, s] = [ys, ms, ds, hs, mins, ss ?? '0'].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!validCalendar(y, mo, d) || h > 23 || mi > 59 || s > 59) throw syntaxError(`invalid datetime '${text}'`);
  if (zone === undefined) return { kind: 'instant', ms: wallTimeToEpoch(defaultZone, y, mo, d, h, mi, s) };
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  if (zone === 'Z') return { kind: 'instant', ms: utc };
  const sign = zone.startsWith('-') ? -1 : 1;
  const offset = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  return { kind: 'instant', ms: utc - offset * 60000 };
}
