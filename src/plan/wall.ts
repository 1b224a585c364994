// Wall clocks in IANA zones: what a zone's clock shows at an instant, and which instants show a given wall time.
// Zuora's incrementalTime and cron schedules are both wall times, so the planner and the status page share these.

const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

export interface WallParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function partsIn(ms: number, zone: string): WallParts {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(zone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year ?? NaN,
    month: parts.month ?? NaN,
    day: parts.day ?? NaN,
    hour: parts.hour ?? NaN,
    minute: parts.minute ?? NaN,
    second: parts.second ?? NaN,
  };
}

/** The wall time as if it were UTC, in epoch ms: the arithmetic base for zone offsets. */
export function wallAsUtc(parts: WallParts): number {
  const date = new Date(0);
  date.setUTCFullYear(parts.year, parts.month - 1, parts.day);
  date.setUTCHours(parts.hour, parts.minute, parts.second, 0);
  return date.getTime();
}

/** Instants whose wall time in `zone` is `w`, latest first: one, two in a fall-back hour, none in a spring-forward gap. */
export function instantsOf(w: WallParts, zone: string): number[] {
  const guess = wallAsUtc(w);
  const offsets = new Set([-DAY_MS, 0, DAY_MS].map((shift) => wallAsUtc(partsIn(guess + shift, zone)) - (guess + shift)));
  const found = new Set([...offsets].map((offset) => guess - offset).filter((ms) => wallAsUtc(partsIn(ms, zone)) === guess));
  return [...found].sort((a, b) => b - a);
}
