// Time-zone arithmetic for the emulator's data side: wall time <-> epoch ms in an IANA zone (ZOQL literals without
// an offset, date-only whole-day ranges) and the `±hhmm` rendering of datetimes in the tenant zone. Intl is the only
// zone database available, and it is slow, so offsets are cached per 15-minute bucket (every real zone changes its
// offset on a quarter hour).

const BUCKET_MS = 15 * 60 * 1000;
const MAX_CACHE_ENTRIES = 200_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, Map<number, number>>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        era: 'short',
      });
    } catch (cause) {
      throw new Error(`Unknown time zone "${zone}": use an IANA name such as America/Los_Angeles`, { cause });
    }
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** Throws a clear Error when `zone` is not an IANA zone Intl knows. */
export function assertZone(zone: string): void {
  formatterFor(zone);
}

function computeOffsetMinutes(ms: number, zone: string): number {
  const parts = formatterFor(zone).formatToParts(new Date(ms));
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const part of parts) {
    switch (part.type) {
      case 'year':
        year = Number(part.value);
        break;
      case 'month':
        month = Number(part.value);
        break;
      case 'day':
        day = Number(part.value);
        break;
      case 'hour':
        hour = Number(part.value);
        break;
      case 'minute':
        minute = Number(part.value);
        break;
      case 'second':
        second = Number(part.value);
        break;
      case 'era':
        bc = part.value === 'BC' || part.value === 'B';
        break;
      default:
        break;
    }
  }
  if (bc) year = 1 - year;
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  const truncated = Math.floor(ms / 1000) * 1000;
  return Math.round((wall - truncated) / 60000);
}

/** Offset of `zone` from UTC at instant `ms`, in minutes (Los Angeles in winter: -480). */
export function offsetMinutes(ms: number, zone: string): number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return 0;
  let cache = offsetCache.get(zone);
  if (cache === undefined) {
    cache = new Map();
    offsetCache.set(zone, cache);
  }
  const bucket = Math.floor(ms / BUCKET_MS);
  let offset = cache.get(bucket);
  if (offset === undefined) {
    offset = computeOffsetMinutes(bucket * BUCKET_MS, zone);
    if (cache.size >= MAX_CACHE_ENTRIES) cache.clear();
    cache.set(bucket, offset);
  }
  return offset;
}

/**
 * Epoch ms of a wall-clock time in `zone`. In a DST gap the result is shifted forward like most databases do; in
 * an overlap the earlier instant wins.
 */
export function wallTimeToEpoch(
  zone: string,
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
): number {
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  const first = asUtc - offsetMinutes(asUtc, zone) * 60000;
  const second_ = asUtc - offsetMinutes(first, zone) * 60000;
  // Overlap: prefer the earlier of the two candidate instants when both map back to the same wall time.
  const earlier = Math.min(first, second_);
  if (earlier + offsetMinutes(earlier, zone) * 60000 === asUtc) return earlier;
  return Math.max(first, second_);
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** `YYYY-MM-DD` of the UTC calendar fields of `ms` (callers shift by an offset first). */
function isoDateOfShifted(shifted: Date): string {
  return `${pad(shifted.getUTCFullYear(), 4)}-${pad(shifted.getUTCMonth() + 1, 2)}-${pad(shifted.getUTCDate(), 2)}`;
}

/** Calendar date of instant `ms` in `zone`, as `YYYY-MM-DD`. */
export function dateInZone(ms: number, zone: string): string {
  return isoDateOfShifted(new Date(ms + offsetMinutes(ms, zone) * 60000));
}

/**
 * AQuA datetime rendering: `YYYY-MM-DDThh:mm:ss+0000` when `utc`, else the wall time in `zone` with a `±hhmm`
 * offset (no colon, as AQuA prints it). Milliseconds are truncated.
 */
export function formatDateTime(ms: number, utc: boolean, zone: string): string {
  const offset = utc ? 0 : offsetMinutes(ms, zone);
  const shifted = new Date(Math.floor(ms / 1000) * 1000 + offset * 60000);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return (
    `${isoDateOfShifted(shifted)}T${pad(shifted.getUTCHours(), 2)}:${pad(shifted.getUTCMinutes(), 2)}:` +
    `${pad(shifted.getUTCSeconds(), 2)}${sign}${pad(Math.floor(abs / 60), 2)}${pad(abs % 60, 2)}`
  );
}
