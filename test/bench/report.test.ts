import { describe, expect, it } from 'vitest';
import { formatTable, median, parseBenchArgs, summarize, toJson, type Measurement } from '../../bench/report.ts';

const m = (rows: number, seconds: number, peakRssMb?: number): Measurement => ({
  rows,
  seconds,
  wallSeconds: seconds + 1,
  jobSeconds: 1,
  runSeconds: peakRssMb === undefined ? undefined : seconds - 0.5,
  peakRssMb,
});

describe('parseBenchArgs', () => {
  it.each([
    [[], { rows: 2_000_000, runs: 3, format: 'gzip', json: false, segmentSize: 500_000, concurrency: 2, naive: true, mergeSettings: [], limits: true, changed: undefined, vacuum: false }],
    [['--rows', '20_000', '--runs', '1', '--format', 'csv', '--json'], { rows: 20_000, runs: 1, format: 'csv', json: true }],
    [['--segment-size', '5000', '--concurrency', '4', '--no-naive'], { segmentSize: 5000, concurrency: 4, naive: false }],
    [['--no-limits', '--changed', '10000,100_000'], { limits: false, changed: [10_000, 100_000] }],
    [['--vacuum'], { vacuum: true }],
    [['--merge-set', 'work_mem=256MB', '--merge-set', 'synchronous_commit=off'], { mergeSettings: [['work_mem', '256MB'], ['synchronous_commit', 'off']] }],
  ])('%j', (argv, expected) => {
    expect(parseBenchArgs(argv)).toMatchObject(expected);
  });

  it('returns undefined for --help', () => {
    expect(parseBenchArgs(['--help'])).toBeUndefined();
  });

  it.each([
    [['--rows', '0'], '--rows must be an integer >= 1'],
    [['--changed', '10,x'], '--changed must be an integer >= 1'],
    [['--runs', 'x'], '--runs must be an integer >= 1'],
    [['--format', 'zip'], '--format must be gzip or csv'],
    [['--merge-set', "work_mem='1'; DROP"], '--merge-set takes NAME=VALUE'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('rejects %j', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(message);
  });
});

describe('median', () => {
  it.each([
    [[3], 3],
    [[5, 1, 3], 3],
    [[4, 1, 3, 2], 2.5],
  ])('%j -> %d', (values, expected) => {
    expect(median(values)).toBe(expected);
  });

  it('refuses an empty list', () => {
    expect(() => median([])).toThrow('median of no values');
  });
});

describe('summarize', () => {
  const summaries = summarize({
    'aquasync-incremental-100': [{ ...m(100, 0.5, 100), peakDiskMb: 7 }],
    ceiling: [m(1000, 1), m(1000, 2), m(1000, 3)],
    'aquasync-full': [
      { ...m(1000, 4, 120), peakDiskMb: 30 },
      { ...m(1000, 2, 140), peakDiskMb: 50 },
      { ...m(1000, 5, 130), peakDiskMb: 40 },
    ],
    'aquasync-no-change': [m(0, 0.5, 110)],
    naive: [m(1000, 10)],
    'copy-limit': [m(1000, 1)],
  });
  const by = Object.fromEntries(summaries.map((s) => [s.variant, s]));

  it('takes medians, rows/s from the median time, the worst peak RSS and disk, and ratios to the ceiling and copy limit', () => {
    expect(summaries.map((s) => s.variant)).toEqual([
      'copy-limit',
      'ceiling',
      'aquasync-full',
      'aquasync-no-change',
      'naive',
      'aquasync-incremental-100',
    ]);
    expect(by['copy-limit']).toMatchObject({ rowsPerSec: 1000, ratioToCopyLimit: 1, ratioToCeiling: undefined });
    expect(by.ceiling).toMatchObject({ seconds: 2, rowsPerSec: 500, ratioToCeiling: 1, ratioToCopyLimit: 0.5, peakRssMb: undefined });
    expect(by['aquasync-full']).toMatchObject({
      seconds: 4,
      rowsPerSec: 250,
      ratioToCeiling: 0.5,
      ratioToCopyLimit: 0.25,
      peakRssMb: 140,
      peakDiskMb: 50,
      runSeconds: 3.5,
    });
    expect(by.naive).toMatchObject({ rowsPerSec: 100, ratioToCeiling: 0.2, ratioToCopyLimit: 0.1, peakDiskMb: undefined });
    expect(by['aquasync-no-change']).toMatchObject({ rows: 0, rowsPerSec: 0, ratioToCeiling: undefined, ratioToCopyLimit: undefined });
    expect(by['aquasync-incremental-100']).toMatchObject({ rowsPerSec: 200, ratioToCopyLimit: 0.2, ratioToCeiling: undefined, peakDiskMb: 7 });
  });

  it('prints one aligned Markdown row per variant', () => {
    const lines = formatTable(summaries).split('\n');
    expect(lines).toHaveLength(2 + summaries.length);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[4]).toMatch(/^\| aquasync-full +\| +1,000 \| +4\.00 \| +250 \| +0\.25x \| +0\.50x \| +140 MB \| +50 MB \|/);
  });

  it('gives the JSON shape scripts read, with null for what was not measured', () => {
    const json = toJson(summaries, { rows: 1000 }) as { rows: number; variants: Record<string, Record<string, unknown>> };
    expect(json.rows).toBe(1000);
    expect(json.variants.ceiling).toMatchObject({ rows: 1000, seconds: 2, rowsPerSec: 500, ratioToCeiling: 1, peakRssMb: null });
    expect(json.variants['aquasync-full']).toMatchObject({ peakRssMb: 140, ratioToCeiling: 0.5, ratioToCopyLimit: 0.25, peakDiskMb: 50 });
    expect(json.variants.naive).toMatchObject({ peakDiskMb: null });
  });
});
