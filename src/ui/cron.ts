// A pipeline's cron firings around a moment: the next one (node-cron's own walker) and the previous one, which
// node-cron cannot answer. The previous firing is what "late" is measured against, so it has to be right across
// days, weekdays and DST; every candidate is confirmed with node-cron's own match() so the semantics stay its.
import cron from 'node-cron';
import { instantsOf, partsIn as wallOf, wallAsUtc } from '../plan/index.ts';

export interface Firings {
  /** The latest firing at or before `at`, looking back at most a year; undefined when none. */
  previous(at: Date): Date | undefined;
  /** The first firing after now. */
  next(): Date | undefined;
}

const MAX_DAYS_BACK = 366;

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
