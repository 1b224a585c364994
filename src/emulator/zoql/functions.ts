// The date functions Export ZOQL allows in a select list (DATE, YEAR, MONTH, WEEK, WEEKOFYEAR, QUARTER).
import type { FieldType, Value } from '../model.ts';
import { dateInZone } from '../time-zone.ts';

const DAY_MS = 86_400_000;

export const DATE_FUNCTIONS: ReadonlySet<string> = new Set(['date', 'year', 'month', 'week', 'weekofyear', 'quarter']);
export const AGGREGATES: ReadonlySet<string> = new Set(['avg', 'count', 'max', 'min', 'sum']);

export function ymd(value: Value, type: FieldType, zone: string): [number, number, number] | null {
  if (value === null) return null;
  const date = type === 'datetime' ? dateInZone(value as number, zone) : String(value);
  return date.split('-').map(Number) as [number, number, number];
}

/** MySQL WEEK mode 0: weeks start on Sunday, 0-53, week 1 starts at the year's first Sunday. */
function sundayWeek(y: number, m: number, d: number): number {
  const doy = (Date.UTC(y, m - 1, d) - Date.UTC(y, 0, 1)) / DAY_MS;
  const firstSunday = (7 - new Date(Date.UTC(y, 0, 1)).getUTCDay()) % 7;
  return doy < firstSunday ? 0 : Math.floor((doy - firstSunday) / 7) + 1;
}

function isoWeek(y: number, m: number, d: number): number {
  const date = new Date(Date.UTC(y, m - 1, d));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  return Math.ceil(((date.getTime() - yearStart) / DAY_MS + 1) / 7);
}

export function applyFunction(name: string, parts: [number, number, number] | null): Value {
  if (parts === null) return null;
  const [y, m, d] = parts;
  switch (name) {
    case 'date':
      return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
    case 'year':
      return String(y);
    case 'month':
      return String(m);
    case 'quarter':
      return String(Math.floor((m - 1) / 3) + 1);
    case 'week':
      return String(sundayWeek(y, m, d));
    default:
      return String(isoWeek(y, m, d));
  }
}
