// `aquasync emulator` argv -> emulator options (pure).
import { describe, expect, it } from 'vitest';
import { parseEmulatorArgs } from '../../src/emulator/cli.ts';

describe('parseEmulatorArgs', () => {
  it('maps every option onto the emulator options', () => {
    const parsed = parseEmulatorArgs([
      '--partner', 'mypartner', '--partner', 'salesforce', '--partner', 'other',
      '--state', '/tmp/s.json', '--job-time', '2000', '--fault', '429:every=5', '--segmentation', 'off',
      '--full-honours-incremental-time', 'yes', '--incremental-time-boundary', 'exclusive', '--start-time-format', 'iso',
      '--delete-moves-updated-date', 'no', '--idempotency-key', 'ignored', '--data-center', 'eu',
    ]);
    expect(parsed.options).toMatchObject({
      partners: ['aquasync', 'salesforce', 'mypartner', 'other'],
      statePath: '/tmp/s.json',
      timing: { queuedMs: 500, executingMs: 1500 },
      segmentation: false,
      startTimeFormat: 'iso',
      dataCenter: 'eu',
      readings: { fullHonoursIncrementalTime: true, incrementalTimeBoundary: 'exclusive', deleteMovesUpdatedDate: false, idempotencyKey: 'ignored' },
    });
    expect(parsed.faults).toEqual([{ kind: 'status', status: 429, every: 5 }]);
  });

  it('leaves every reading at the emulator default when not given', () => {
    const parsed = parseEmulatorArgs([]);
    expect(parsed.options.readings).toEqual({});
    expect(parsed.options.timing).toBeUndefined();
    expect(parsed.options.partners).toEqual(['aquasync', 'salesforce']);
  });

  it.each([
    [['--job-time=-1'], /--job-time must be an integer >= 0/],
    [['--partner', ''], /--partner must be a non-empty name/],
    [['--segmentation', 'maybe'], /--segmentation must be on or off/],
    [['--full-honours-incremental-time', 'true'], /must be yes or no/],
    [['--client-id', 'x'], /go together/],
  ])('%j is refused', (argv, message) => {
    expect(() => parseEmulatorArgs(argv)).toThrow(message);
  });
});
