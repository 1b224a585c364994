import { describe, expect, it } from 'vitest';
import type { DataCenter } from '../../src/config/types.ts';
import { ZuoraProtocolError } from '../../src/errors.ts';
import { incrementalTimeFor, parseZuoraTime, wallTime, watermarkFromJob, zoneFor } from '../../src/plan/index.ts';

describe('zoneFor', () => {
  it.each([
    ['us', 'America/Los_Angeles'],
    ['eu', 'UTC'],
  ] as const)('%s -> %s', (dc, zone) => {
    expect(zoneFor(dc)).toBe(zone);
  });
});

describe('wallTime', () => {
  it.each<[string, DataCenter, string]>([
    ['2026-07-04T12:34:56.789Z', 'us', '2026-07-04 05:34:56'], // PDT, fraction dropped
    ['2026-01-15T08:00:00Z', 'us', '2026-01-15 00:00:00'], // PST
    ['2026-01-15T07:59:59Z', 'us', '2026-01-14 23:59:59'], // day boundary
    ['2026-11-01T08:30:00Z', 'us', '2026-11-01 01:30:00'], // first 01:30 (PDT)
    ['2026-11-01T09:30:00Z', 'us', '2026-11-01 01:30:00'], // second 01:30 (PST)
    ['2026-03-08T10:00:00Z', 'us', '2026-03-08 03:00:00'], // just after spring-forward
    ['2026-03-08T09:59:59Z', 'us', '2026-03-08 01:59:59'], // just before it
    ['2026-07-04T12:34:56Z', 'eu', '2026-07-04 12:34:56'],
    ['2000-01-01T00:00:00Z', 'eu', '2000-01-01 00:00:00'],
  ])('%s in %s -> %s', (iso, dc, expected) => {
    expect(wallTime(new Date(iso), dc)).toBe(expected);
  });
});

describe('incrementalTimeFor', () => {
  it.each<[string, string, number, DataCenter, string, string]>([
    // name, watermark, lookback, dc, incrementalTime, from
    ['summer PDT', '2026-06-01T12:00:00Z', 3600, 'us', '2026-06-01 04:00:00', '2026-06-01T11:00:00Z'],
    ['winter PST', '2026-01-10T12:00:00Z', 0, 'us', '2026-01-10 04:00:00', '2026-01-10T12:00:00Z'],
    ['fractions floored', '2026-01-10T12:00:00.999Z', 0, 'us', '2026-01-10 04:00:00', '2026-01-10T12:00:00Z'],
    ['EU is UTC', '2026-06-01T12:00:00Z', 3600, 'eu', '2026-06-01 11:00:00', '2026-06-01T11:00:00Z'],
    ['EU on US fall-back day', '2026-11-01T09:30:00Z', 0, 'eu', '2026-11-01 09:30:00', '2026-11-01T09:30:00Z'],
    // Fall back (2026-11-01 02:00 PDT -> 01:00 PST): 01:00:00-01:59:59 happens twice.
    ['before repeated hour', '2026-11-01T07:59:59Z', 0, 'us', '2026-11-01 00:59:59', '2026-11-01T07:59:59Z'],
    ['first second of fold', '2026-11-01T08:00:00Z', 0, 'us', '2026-11-01 00:59:59', '2026-11-01T07:59:59Z'],
    ['inside fold, PDT pass', '2026-11-01T08:30:00Z', 0, 'us', '2026-11-01 00:59:59', '2026-11-01T07:59:59Z'],
    ['inside fold, PST pass', '2026-11-01T09:30:00Z', 0, 'us', '2026-11-01 00:59:59', '2026-11-01T07:59:59Z'],
    ['last second of fold', '2026-11-01T09:59:59Z', 0, 'us', '2026-11-01 00:59:59', '2026-11-01T07:59:59Z'],
    ['after repeated hour', '2026-11-01T10:00:00Z', 0, 'us', '2026-11-01 02:00:00', '2026-11-01T10:00:00Z'],
    ['lookback lands in fold', '2026-11-01T10:30:00Z', 3600, 'us', '2026-11-01 00:59:59', '2026-11-01T07:59:59Z'],
    // Spring forward (2026-03-08 02:00 PST -> 03:00 PDT): 02:xx never appears.
    ['before gap', '2026-03-08T09:59:59Z', 0, 'us', '2026-03-08 01:59:59', '2026-03-08T09:59:59Z'],
    ['after gap', '2026-03-08T10:00:00Z', 0, 'us', '2026-03-08 03:00:00', '2026-03-08T10:00:00Z'],
    ['lookback across gap', '2026-03-08T10:00:30Z', 60, 'us', '2026-03-08 01:59:30', '2026-03-08T09:59:30Z'],
    ['2025 fall back', '2025-11-02T09:15:00Z', 0, 'us', '2025-11-02 00:59:59', '2025-11-02T07:59:59Z'],
  ])('%s', (_name, watermark, lookback, dc, incrementalTime, from) => {
    const result = incrementalTimeFor(new Date(watermark), lookback, dc);
    expect(result).toEqual({ incrementalTime, from: new Date(from) });
  });

  it.each([
    ['2026-11-01T06:00:00Z'],
    ['2026-11-01T08:00:00Z'],
    ['2026-11-01T09:00:00Z'],
    ['2026-03-08T09:30:00Z'],
    ['2026-03-08T10:30:00Z'],
  ])('never yields a string with a reading later than the target, around %s', (start) => {
    // Every minute for 4 hours: each possible reading of the string (as Zuora parses wall times) <= target.
    for (let minute = 0; minute < 240; minute++) {
      const target = new Date(new Date(start).getTime() + minute * 60_000);
      const { incrementalTime, from } = incrementalTimeFor(target, 0, 'us');
      expect(from.getTime()).toBeLessThanOrEqual(target.getTime());
      expect(parseZuoraTime(incrementalTime, 'us').getTime()).toBe(from.getTime());
      // The later reading of an ambiguous string would be one hour on; it must not exist or not exceed target.
      const later = from.getTime() + 3_600_000;
      if (wallTime(new Date(later), 'us') === incrementalTime) expect(later).toBeLessThanOrEqual(target.getTime());
      expect(incrementalTime).not.toMatch(/^2026-03-08 02:/);
    }
  });
});

describe('parseZuoraTime', () => {
  it.each<[string | number, DataCenter, string]>([
    ['2015-01-21 10:30:01', 'us', '2015-01-21T18:30:01Z'], // the doc's example (PST)
    ['2026-07-04 05:34:56', 'us', '2026-07-04T12:34:56Z'], // PDT
    ['2026-07-04 05:34:56', 'eu', '2026-07-04T05:34:56Z'],
    ['2026-11-01 01:30:00', 'us', '2026-11-01T08:30:00Z'], // ambiguous -> earlier (PDT)
    ['2026-11-01 00:59:59', 'us', '2026-11-01T07:59:59Z'],
    ['2026-11-01 02:00:00', 'us', '2026-11-01T10:00:00Z'],
    ['2026-03-08 02:30:00', 'us', '2026-03-08T10:30:00Z'], // gap: read with the offset before it
    ['2021-01-18T17:13:48+0000', 'us', '2021-01-18T17:13:48Z'],
    ['2021-01-18T17:13:48+00:00', 'us', '2021-01-18T17:13:48Z'],
    ['2021-01-18T17:13:48Z', 'us', '2021-01-18T17:13:48Z'],
    ['2021-01-18T09:13:48-0800', 'eu', '2021-01-18T17:13:48Z'],
    ['2021-01-18T22:43:48+05:30', 'us', '2021-01-18T17:13:48Z'],
    ['2021-01-18T17:13:48.250Z', 'us', '2021-01-18T17:13:48.250Z'],
    [1421865001000, 'us', '2015-01-21T18:30:01Z'],
    ['1421865001000', 'eu', '2015-01-21T18:30:01Z'],
    [' 2015-01-21 10:30:01 ', 'us', '2015-01-21T18:30:01Z'],
  ])('%s (%s) -> %s', (value, dc, expected) => {
    expect(parseZuoraTime(value, dc).toISOString()).toBe(new Date(expected).toISOString());
  });

  it.each<[string | number]>([
    [''],
    ['yesterday'],
    ['2026-02-30 00:00:00'],
    ['2026-01-01 24:00:00'],
    ['2026-13-01T00:00:00Z'],
    ['2026-01-01T00:00:00+2500'],
    ['2026-01-01'],
    [Number.NaN],
    [1.5],
  ])('rejects %j with ZuoraProtocolError', (value) => {
    expect(() => parseZuoraTime(value, 'us')).toThrow(ZuoraProtocolError);
  });
});

describe('watermarkFromJob', () => {
  it.each<[string | number, number, DataCenter, string]>([
    ['2026-07-04 05:34:56', 0, 'us', '2026-07-04T12:34:56Z'],
    ['2026-07-04 05:34:56', 600, 'us', '2026-07-04T12:24:56Z'],
    ['2021-01-18T17:13:48+0000', 3600, 'eu', '2021-01-18T16:13:48Z'],
    [1421865001000, 1, 'us', '2015-01-21T18:30:00Z'],
  ])('%s - %i s (%s) -> %s', (start, offset, dc, expected) => {
    expect(watermarkFromJob(start, offset, dc).toISOString()).toBe(new Date(expected).toISOString());
  });
});
