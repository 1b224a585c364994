// Pure parts of backfill planning: window sizes, window splitting, object selection, CLI instants and progress.
import { describe, expect, it } from 'vitest';
import { formatProgress, parseInstant } from '../../src/cli/backfill.ts';
import { jobBudgetFromEnv } from '../../src/cli/job-budget.ts';
import { ConfigError } from '../../src/errors.ts';
import { parseWindowSize, planBackfill, splitWindows } from '../../src/sync/index.ts';
import { pipelineFrom } from '../sync/helpers.ts';

const H = 3_600_000;
const D = 24 * H;
const iso = (d: Date): string => d.toISOString();

describe('parseWindowSize', () => {
  it.each([
    ['30d', 30 * D],
    ['12h', 12 * H],
    ['90m', 90 * 60_000],
    ['3600s', H],
    ['2w', 14 * D],
    [' 7D ', 7 * D],
    ['0d', undefined],
    ['1.5d', undefined],
    ['30', undefined],
    ['d', undefined],
    ['-1d', undefined],
  ])('%j -> %j', (text, ms) => {
    expect(parseWindowSize(text)).toBe(ms);
  });
});

describe('splitWindows', () => {
  it.each([
    {
      name: 'exact multiple',
      since: '2026-01-01T00:00:00Z',
      until: '2026-01-04T00:00:00Z',
      window: D,
      want: [
        ['2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z'],
        ['2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z'],
        ['2026-01-03T00:00:00.000Z', '2026-01-04T00:00:00.000Z'],
      ],
    },
    {
      name: 'short last window',
      since: '2026-01-01T00:00:00Z',
      until: '2026-01-02T06:00:00Z',
      window: D,
      want: [
        ['2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z'],
        ['2026-01-02T00:00:00.000Z', '2026-01-02T06:00:00.000Z'],
      ],
    },
    {
      name: 'milliseconds widen the range to whole seconds',
      since: '2026-01-01T00:00:00.900Z',
      until: '2026-01-01T00:00:10.100Z',
      window: 30 * D,
      want: [['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:11.000Z']],
    },
  ])('$name', ({ since, until, window, want }) => {
    const windows = splitWindows(new Date(since), new Date(until), window);
    expect(windows.map((w) => [iso(w.since), iso(w.until)])).toEqual(want);
  });

  it.each([
    ['empty range', '2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z', D, /empty/],
    ['sub-second window', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', 500, /whole number of seconds/],
    ['fractional-second window', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', 1500, /whole number of seconds/],
  ])('refuses %s', (_name, since, until, window, message) => {
    expect(() => splitWindows(new Date(since), new Date(until), window)).toThrow(message);
  });
});

const yaml = `
source: { baseUrl: https://placeholder, clientId: id, clientSecret: secret }
pipelines:
  - name: billing
    schedule: "0 2 * * *"
    partner: aquasync
    project: p1
    objects:
      - name: Account
        fields: [Id, Name, UpdatedDate]
      - name: AccountingPeriod
        fields: [Id, Name, UpdatedDate]
      - name: InvoiceItem
        query: select Id, UpdatedDate from InvoiceItem where ChargeAmount > 0 order by Id
`;

describe('planBackfill', () => {
  const { pipeline } = pipelineFrom(yaml);

  it('builds stateless requests with ISO-with-Z window literals and forceExport deletes', () => {
    const plan = planBackfill(pipeline, {
      since: new Date('2026-01-01T00:00:00Z'),
      until: new Date('2026-01-03T00:00:00Z'),
      windowMs: D,
      objects: ['invoiceitem', 'Account'],
    });
    expect(plan.objects.map((o) => o.name)).toEqual(['InvoiceItem', 'Account']);
    expect(plan.windows).toHaveLength(2);
    const second = plan.windows[1]!.request;
    expect(second).not.toHaveProperty('partner');
    expect(second).not.toHaveProperty('project');
    expect(second).not.toHaveProperty('incrementalTime');
    expect(second.queries.map((q) => q.query)).toEqual([
      "select Id, UpdatedDate from InvoiceItem where (ChargeAmount > 0) and (UpdatedDate >= '2026-01-02T00:00:00Z' and UpdatedDate < '2026-01-03T00:00:00Z') order by Id",
      "select Id, Name, UpdatedDate from Account where UpdatedDate >= '2026-01-02T00:00:00Z' and UpdatedDate < '2026-01-03T00:00:00Z'",
    ]);
    expect(second.queries.every((q) => q.deleted?.forceExport === true)).toBe(true);
  });

  it('asks no deleted rows of objects that cannot export them', () => {
    const plan = planBackfill(pipeline, { since: new Date('2026-01-01T00:00:00Z'), until: new Date('2026-01-02T00:00:00Z'), windowMs: D, objects: ['AccountingPeriod'] });
    expect(plan.windows[0]!.request.queries[0]!.deleted).toBeUndefined();
  });

  it('names the objects a pipeline has when asked for an unknown one', () => {
    expect(() => planBackfill(pipeline, { since: new Date(0), until: new Date(D), windowMs: D, objects: ['Invoice'] })).toThrow(
      /no object named "Invoice"/,
    );
  });
});

describe('parseInstant', () => {
  it.each([
    ['2026-01-01', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01T10:00:00Z', '2026-01-01T10:00:00.000Z'],
    ['2026-01-01T10:00Z', '2026-01-01T10:00:00.000Z'],
    ['2026-01-01T10:00:00+02:00', '2026-01-01T08:00:00.000Z'],
  ])('%s -> %s', (text, want) => {
    expect(parseInstant(text, 'since').toISOString()).toBe(want);
  });

  it.each(['2026-01-01T10:00:00', '2026-01-01 10:00:00Z', 'yesterday', '2026-13-45'])('refuses %j', (text) => {
    expect(() => parseInstant(text, 'since')).toThrow(ConfigError);
  });
});

describe('formatProgress and jobBudgetFromEnv', () => {
  it.each([
    [{ windowsDone: 0, windowsTotal: 4, rows: 0 }, 0, 0, 'windows 0/4 (0%), 0 rows'],
    [{ windowsDone: 2, windowsTotal: 4, rows: 1500 }, 10_000, 1, 'windows 2/4 (50%), 1,500 rows, ETA 20.0 s'],
    [{ windowsDone: 4, windowsTotal: 4, rows: 9 }, 10_000, 0, 'windows 4/4 (100%), 9 rows'],
  ])('%j after %d ms (%d skipped)', (p, elapsed, skipped, want) => {
    expect(formatProgress(p, elapsed, skipped)).toBe(want);
  });

  it.each([
    [undefined, 8],
    ['3', 3],
  ])('AQUASYNC_JOB_BUDGET=%j -> %d', (raw, want) => {
    expect(jobBudgetFromEnv(raw === undefined ? {} : { AQUASYNC_JOB_BUDGET: raw })).toBe(want);
  });

  it.each(['0', 'x', '2.5'])('refuses AQUASYNC_JOB_BUDGET=%j', (raw) => {
    expect(() => jobBudgetFromEnv({ AQUASYNC_JOB_BUDGET: raw })).toThrow(/AQUASYNC_JOB_BUDGET/);
  });
});
