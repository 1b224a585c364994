// Pure parts of the scheduler: coordinator keys, Prometheus rendering, and the schedule command's flags.
import { describe, expect, it } from 'vitest';
import { parsePort } from '../../src/cli/schedule.ts';
import { parseSeconds } from '../../src/cli/settings.ts';
import { emptyCounters, escapeLabel, formatValue, renderMetrics, slotFromKey } from '../../src/scheduler/index.ts';

describe('slotFromKey', () => {
  it.each([
    ['billing', 'billing:2026-11-25T01:00:03.000Z', '2026-11-25T01:00:03.000Z'],
    ['a:b', 'a:b:2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'],
    ['x', 'x:2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000Z'],
  ])('%s / %s', (pipeline, key, iso) => {
    expect(slotFromKey(key, pipeline).toISOString()).toBe(iso);
  });

  it.each([
    ['billing', 'other:2026-11-25T01:00:03.000Z'],
    ['billing', 'billing:yesterday'],
    ['billing', 'billing:2026-13-45T99:00:00.000Z'],
    ['billing', 'billing'],
  ])('rejects %s / %s', (pipeline, key) => {
    expect(() => slotFromKey(key, pipeline)).toThrow(/not "<pipeline>:<ISO time>"/);
  });
});

describe('Prometheus text', () => {
  it.each([
    ['plain', 'plain'],
    ['a"b', 'a\\"b'],
    ['back\\slash', 'back\\\\slash'],
    ['two\nlines', 'two\\nlines'],
  ])('escapes label %j', (value, escaped) => {
    expect(escapeLabel(value)).toBe(escaped);
  });

  it.each([
    [3, '3'],
    [1.23456, '1.235'],
    [Number.NaN, 'NaN'],
    [Infinity, '+Inf'],
    [1764032403, '1764032403'],
  ])('formats %s as %s', (value, text) => {
    expect(formatValue(value)).toBe(text);
  });

  it('renders one family per metric, leaves out unknown gauges and counts outcomes per pipeline', () => {
    const counters = emptyCounters();
    counters.runs.succeeded = 2;
    counters.runs.failed = 1;
    counters.failures = 1;
    counters.rowsWritten = 120;
    counters.rowsRead = 150;
    counters.rowsQuarantined = 2;
    const text = renderMetrics(
      [
        {
          pipeline: 'billing',
          lastSuccessAt: 1764032403.5,
          lastRunDurationSeconds: 2.25,
          lastRunRowsWritten: 60,
          watermarkLagSeconds: 95,
          lastJobWaitSeconds: 41.5,
          running: true,
          quarantinedRows: 3,
          snapshotsOwed: 1,
          counters,
          verifications: [
            { object: 'Account', ok: true, failed: false, rowsMissing: 0, rowsExtra: 0, rowsPending: 4, ageSeconds: 30.5 },
            { object: 'Invoice', ok: false, failed: false, rowsMissing: 2, rowsExtra: 1, rowsPending: 0, ageSeconds: 60 },
          ],
        },
        {
          pipeline: 'new',
          lastSuccessAt: undefined,
          lastRunDurationSeconds: undefined,
          lastRunRowsWritten: undefined,
          watermarkLagSeconds: undefined,
          running: false,
          quarantinedRows: 0,
          snapshotsOwed: 0,
          counters: emptyCounters(),
        },
      ],
      { up: true, stopping: false },
    );
    expect(text).toContain('# TYPE aquasync_last_success_timestamp_seconds gauge\naquasync_last_success_timestamp_seconds{pipeline="billing"} 1764032403.5\n');
    expect(text).not.toMatch(/aquasync_last_success_timestamp_seconds\{pipeline="new"\}/);
    expect(text).toContain('aquasync_last_run_duration_seconds{pipeline="billing"} 2.25');
    expect(text).toContain('aquasync_watermark_lag_seconds{pipeline="billing"} 95');
    expect(text).toContain('aquasync_last_job_wait_seconds{pipeline="billing"} 41.5');
    expect(text).not.toMatch(/aquasync_last_job_wait_seconds\{pipeline="new"\}/);
    expect(text).toContain('aquasync_run_in_progress{pipeline="billing"} 1\naquasync_run_in_progress{pipeline="new"} 0');
    expect(text).toContain('# TYPE aquasync_run_failures_total counter\naquasync_run_failures_total{pipeline="billing"} 1\naquasync_run_failures_total{pipeline="new"} 0');
    expect(text).toContain('aquasync_runs_total{pipeline="billing",outcome="failed"} 1');
    expect(text).toContain('aquasync_rows_written_total{pipeline="billing"} 120');
    expect(text).toContain('aquasync_rows_read_total{pipeline="billing"} 150');
    expect(text).toContain('aquasync_rows_quarantined_total{pipeline="billing"} 2');
    expect(text).toContain('# TYPE aquasync_quarantined_rows gauge\naquasync_quarantined_rows{pipeline="billing"} 3\naquasync_quarantined_rows{pipeline="new"} 0');
    expect(text).toContain('aquasync_snapshots_owed{pipeline="billing"} 1');
    expect(text).toContain('aquasync_scheduler_up 1');
    // The last verification per object; a pipeline never verified has no samples.
    expect(text).toContain('aquasync_verification_ok{pipeline="billing",object="Account"} 1\naquasync_verification_ok{pipeline="billing",object="Invoice"} 0');
    expect(text).toContain('aquasync_verification_rows_missing{pipeline="billing",object="Invoice"} 2');
    expect(text).toContain('aquasync_verification_rows_extra{pipeline="billing",object="Invoice"} 1');
    expect(text).toContain('aquasync_verification_rows_pending{pipeline="billing",object="Account"} 4');
    expect(text).toContain('aquasync_verification_age_seconds{pipeline="billing",object="Account"} 30.5');
    expect(text).not.toMatch(/aquasync_verification_\w+\{pipeline="new"/);
    expect(text.endsWith('\n')).toBe(true);
    // every sample line belongs to a family announced just before it
    let family = '';
    for (const line of text.trim().split('\n')) {
      const type = /^# TYPE (\S+) /.exec(line);
      if (type) family = type[1]!;
      else if (!line.startsWith('#')) expect(line.startsWith(family)).toBe(true);
    }
  });

  it('reports a stopping replica as down', () => {
    expect(renderMetrics([], { up: true, stopping: true })).toContain('aquasync_scheduler_up 0');
  });
});

describe('schedule command flags', () => {
  it.each([
    [undefined, undefined],
    ['0', 0],
    ['9464', 9464],
  ])('--port %s', (value, port) => {
    expect(parsePort(value)).toBe(port);
  });

  it.each(['-1', '70000', 'http', '12.5'])('rejects --port %s', (value) => {
    expect(() => parsePort(value)).toThrow(/--port must be a port number/);
  });

  it.each([
    [undefined, 30],
    ['0', 0],
    ['2.5', 2.5],
    ['120', 120],
  ])('--grace %s', (value, seconds) => {
    expect(parseSeconds(value, '--grace', 30)).toBe(seconds);
  });

  it.each(['-3', 'soon', '1e3'])('rejects --grace %s', (value) => {
    expect(() => parseSeconds(value, '--grace', 30)).toThrow(/--grace must be a number of seconds/);
  });

  it('enforces a minimum', () => {
    expect(() => parseSeconds('0', 'AQUASYNC_SCHEDULER_LEASE_SECONDS', 60, 1)).toThrow(/at least 1/);
  });
});
