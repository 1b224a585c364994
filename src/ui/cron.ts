// A pipeline's cron firings around a moment: the next one (node-cron's own walker) and the previous one, which
// node-cron cannot answer. The previous firing is what "late" is measured against, so it has to be right across
// days, weekdays and DST; every candidate is confirmed with node-cron's own match() so the semantics stay its.
import cron from 'node-cron';

export interface Firings {
  /** The latest firing at or before `at`, looking back at most a year; undefined when none. */
  previous(at: Date): Date | undefined;
  /** The first firing after now. */
  next(): Date | undefined;
}

const DAY_MS = 86_400_000;
const MAX_DAYS_BACK = 366;

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallOf(ms: number, zone: string): Wall {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  const parts: Record<string, number> = {};
  for (const part of formatter.formatToParts(new Date(ms))) if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return { year: parts.year ?? 0, month: parts.month ?? 0, day: parts.day ?? 0, hour: parts.hour ?? 0, minute: parts.minute ?? 0, second: parts.second ?? 0 };
}

function wallAsUtc(w: Wall): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

function sameWall(a: Wall, b: Wall): boolean {
  return wallAsUtc(a) === wallAsUtc(b);
}

/** Instants whose wall time in `zone` is `w`, latest first: one, two in a fall-back hour, none in a spring-forward gap. */
export function instantsOf(w: Wall, zone: string): number[] {
  const guess = wallAsUtc(w);
  const offsets = new Set([-DAY_MS, 0, DAY_MS].map((shift) => wallAsUtc(wallOf(guess + shift, zone)) - (guess + shift)));
  const found = new Set([...offsets].map((offset) => guess - offset).filter((ms) => sameWall(wallOf(ms, zone), w)));
  return [...found].sort((a, b) => b - a);
}

const descending = (values: number[]): number[] => [...values].sort((a, b) => b - a);

export function firingsOf(schedule: string, timezone: string): Firings {
  const pattern = schedule.trim();
  const fields = cron.parse(pattern);
  const [hours, minutes, seconds] = [descending(fields.hour), descending(fields.minute), descending(fields.second)];
  // A stopped task holds no timer; it only answers match() and getNextRuns(). destroy() unregisters it.
  const withTask = <T>(fn: (task: ReturnType<typeof cron.createTask>) => T): T => {
    const task = cron.createTask(pattern, () => undefined, { timezone });
    try {
      return fn(task);
    } finally {
      void task.destroy();
    }
  };

  return {
    next: () => withTask((task) => task.getNextRuns(1)[0]),
    previous: (at) =>
      withTask((task) => {
        const atMs = at.getTime();
        const today = wallOf(atMs, timezone);
        for (let back = 0; back <= MAX_DAYS_BACK; back++) {
          const date = new Date(Date.UTC(today.year, today.month - 1, today.day - back));
          const day = { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
          // One probe per day: a time that matches the time fields but fails match() means the day fields fail.
          const probe = { ...day, hour: hours[0] ?? 0, minute: minutes[0] ?? 0, second: seconds[0] ?? 0 };
          const probeAt = instantsOf(probe, timezone)[0];
          if (probeAt !== undefined && !task.match(new Date(probeAt))) continue;
          for (const hour of hours) {
            for (const minute of minutes) {
              for (const second of seconds) {
                const wall = { ...day, hour, minute, second };
                // On the first day, skip times more than an hour (a DST shift) after `at` without asking Intl.
                if (back === 0 && wallAsUtc(wall) > wallAsUtc(today) + 3_600_000) continue;
                for (const ms of instantsOf(wall, timezone)) {
                  if (ms <= atMs && task.match(new Date(ms))) return new Date(ms);
                }
              }
            }
          }
        }
        return undefined;
      }),
  };
}
