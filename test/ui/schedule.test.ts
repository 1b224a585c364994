// The previous and next firings of a cron schedule, and the freshness state the status page derives from them.
import cron from 'node-cron';
import { describe, expect, it } from 'vitest';
import { firingsOf } from '../../src/ui/cron.ts';
import { CLOCK_SLACK_SECONDS, freshness, graceMs, type FreshnessInput } from '../../src/ui/freshness.ts';

describe('firingsOf(...).previous', () => {
  const cases: [string, string, string, string, string | undefined][] = [
    ['daily, later that day', '0 2 * * *', 'UTC', '2026-03-10T05:00:00Z', '2026-03-10T02:00:00.000Z'],
    ['daily, just before the firing', '0 2 * * *', 'UTC', '2026-03-10T01:59:59Z', '2026-03-09T02:00:00.000Z'],
    ['daily, at the firing itself', '0 2 * * *', 'UTC', '2026-03-10T02:00:00Z', '2026-03-10T02:00:00.000Z'],
    ['weekdays, on a Sunday', '0 2 * * 1-5', 'UTC', '2026-03-08T12:00:00Z', '2026-03-06T02:00:00.000Z'],
    ['every 15 minutes', '*/15 * * * *', 'UTC', '2026-03-10T10:07:30Z', '2026-03-10T10:00:00.000Z'],
    ['seconds field', '*/20 * * * * *', 'UTC', '2026-03-10T10:00:45Z', '2026-03-10T10:00:40.000Z'],
    ['monthly', '0 0 1 * *', 'UTC', '2026-03-15T00:00:00Z', '2026-03-01T00:00:00.000Z'],
    ['in the schedule time zone', '0 2 * * *', 'Europe/Paris', '2026-03-10T05:00:00Z', '2026-03-10T01:00:00.000Z'],
    ['local date differs from UTC date', '0 23 * * *', 'America/Los_Angeles', '2026-03-11T05:00:00Z', '2026-03-10T06:00:00.000Z'],
    // 2026-03-08 02:30 does not exist in New York (clocks jump from 02:00 to 03:00): the day before fired last.
    ['spring-forward gap', '30 2 * * *', 'America/New_York', '2026-03-08T12:00:00Z', '2026-03-07T07:30:00.000Z'],
    // 2026-11-01 01:30 happens twice in New York (EDT, then EST): the later one.
    ['fall-back repeated hour', '30 1 * * *', 'America/New_York', '2026-11-01T12:00:00Z', '2026-11-01T06:30:00.000Z'],
    ['none within a year', '0 0 29 2 *', 'UTC', '2026-03-01T00:00:00Z', undefined],
  ];
  it.each(cases)('%s: %s (%s) before %s', (_name, schedule, zone, at, expected) => {
    expect(firingsOf(schedule, zone).previous(new Date(at))?.toISOString()).toBe(expected);
  });

  it.each([
    ['0 2 * * *', 'UTC'],
    ['*/7 * * * *', 'Europe/Paris'],
    ['15 3 * * 1,3,5', 'America/Los_Angeles'],
    ['0 */6 * * *', 'Australia/Lord_Howe'],
    ['0 0 1,15 * *', 'Asia/Kolkata'],
  ])('agrees with node-cron walking forward: %s (%s)', (schedule, zone) => {
    const task = cron.createTask(schedule, () => undefined, { timezone: zone });
    const ahead = task.getNextRuns(40);
    void task.destroy();
    const firings = firingsOf(schedule, zone);
    for (let i = 1; i < ahead.length; i++) {
      const [before, at] = [ahead[i - 1] as Date, ahead[i] as Date];
      expect(firings.previous(at)?.toISOString()).toBe(at.toISOString());
      expect(firings.previous(new Date(at.getTime() - 1))?.toISOString()).toBe(before.toISOString());
    }
  });

  it('leaves no task registered with node-cron', () => {
    const before = cron.getTasks().size;
    const firings = firingsOf('0 2 * * *', 'UTC');
    firings.previous(new Date());
    firings.next();
    expect(cron.getTasks().size).toBe(before);
  });
});

describe('graceMs', () => {
  const at = (iso: string): Date => new Date(iso);
  it.each([
    ['nightly: an hour', at('2026-03-10T02:00:00Z'), at('2026-03-11T02:00:00Z'), 3_600_000],
    ['every 30 minutes: half of it', at('2026-03-10T02:00:00Z'), at('2026-03-10T02:30:00Z'), 900_000],
    ['every minute: five minutes', at('2026-03-10T02:00:00Z'), at('2026-03-10T02:01:00Z'), 300_000],
    ['unknown schedule: an hour', undefined, undefined, 3_600_000],
  ])('%s', (_name, previous, next, expected) => {
    expect(graceMs(previous, next)).toBe(expected);
  });
});

describe('freshness', () => {
  const now = new Date('2026-03-10T12:00:00Z');
  const due = new Date('2026-03-10T02:00:00Z');
  const base: FreshnessInput = { now, watermark: undefined, lastOutcome: undefined, dueFiring: due, offsetSeconds: 600 };
  const cases: [string, Partial<FreshnessInput>, string, number | undefined][] = [
    ['loaded by the due run', { watermark: new Date('2026-03-10T01:50:30Z'), lastOutcome: 'succeeded' }, 'ok', 36_570],
    ['within the clock slack', { watermark: new Date(due.getTime() - (600 + CLOCK_SLACK_SECONDS) * 1000) }, 'ok', 36_900],
    ['due run not loaded', { watermark: new Date('2026-03-09T01:50:00Z'), lastOutcome: 'succeeded' }, 'late', 123_000],
    ['abandoned run, still fresh', { watermark: new Date('2026-03-10T01:50:00Z'), lastOutcome: 'abandoned' }, 'ok', 36_600],
    ['last run failed, data fresh', { watermark: new Date('2026-03-10T01:50:00Z'), lastOutcome: 'failed' }, 'failing', 36_600],
    ['last run failed, data old', { watermark: new Date('2026-03-01T00:00:00Z'), lastOutcome: 'failed' }, 'failing', 820_800],
    ['never loaded', {}, 'waiting', undefined],
    ['no firing known yet', { watermark: new Date('2026-01-01T00:00:00Z'), dueFiring: undefined }, 'ok', 5_918_400],
    ['watermark in the future', { watermark: new Date('2026-03-10T12:05:00Z') }, 'ok', 0],
  ];
  it.each(cases)('%s', (_name, input, state, lag) => {
    const result = freshness({ ...base, ...input });
    expect(result.state).toBe(state);
    expect(result.lagSeconds).toBe(lag);
    expect(result.reason).not.toBe('');
  });
});
