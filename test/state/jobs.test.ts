// The job lifecycle as recorded in aquasync.jobs/batches/files, runs and events, and what status reports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../src/db/index.ts';
import { WarehouseError, ZuoraProtocolError } from '../../src/errors.ts';
import {
  createJob,
  findUnfinishedJob,
  finishRun,
  markFileStaged,
  markJobStatus,
  markJobSubmitted,
  pipelineStatus,
  recordEvent,
  recordJobCompleted,
  resetStagedFiles,
  stagedFiles,
  startRun,
} from '../../src/state/index.ts';
import type { AquaJob } from '../../src/zuora/types.ts';
import { openTestWarehouse } from '../helpers/db.ts';

let w: Warehouse;
let close: () => Promise<void>;

beforeAll(async () => {
  const opened = await openTestWarehouse('state_jobs');
  w = opened.warehouse;
  close = opened.close;
});
afterAll(async () => close?.());

const targets = [
  { name: 'account', object: 'Account', tableName: 'account' },
  { name: 'invoice', object: 'Invoice', tableName: 'invoice' },
];

function completedJob(id: string): AquaJob {
  return {
    id,
    status: 'completed',
    startTime: '2024-03-01 10:00:00',
    offset: 300,
    batches: [
      { batchId: 'b1', name: 'account', query: 'select Id from Account', status: 'completed', recordCount: 3, full: false, fileId: `${id}-f1` },
      {
        batchId: 'b2',
        name: 'invoice',
        query: 'select Id from Invoice',
        status: 'completed',
        recordCount: 10,
        full: true,
        segments: [`${id}-s1`, `${id}-s2`, `${id}-s3`],
      },
    ],
  };
}

describe('job lifecycle', () => {
  it('findUnfinishedJob follows every phase until applied-or-failed', async () => {
    const pipeline = 'lifecycle';
    expect(await findUnfinishedJob(w.db, pipeline)).toBeUndefined();

    const runId = await startRun(w.db, { pipeline, kind: 'manual' });
    const request = { format: 'csv', queries: [{ name: 'account' }] };
    const id = await createJob(w.db, {
      pipeline,
      runId,
      kind: 'sync',
      idempotencyKey: 'key-1',
      request,
      incrementalTime: '2024-03-01 00:00:00',
      windowFrom: new Date('2024-03-01T08:00:00Z'),
    });

    let found = await findUnfinishedJob(w.db, pipeline);
    expect(found).toMatchObject({ id, status: 'submitting', zuoraJobId: undefined, idempotencyKey: 'key-1', runId, request });
    expect(found?.windowFrom?.toISOString()).toBe('2024-03-01T08:00:00.000Z');
    expect(found?.batches).toEqual([]);

    // A retried create with the same key returns the same row.
    expect(await createJob(w.db, { pipeline, runId, kind: 'sync', idempotencyKey: 'key-1', request, incrementalTime: undefined, windowFrom: undefined })).toBe(id);

    await markJobSubmitted(w.db, id, 'zjob-1');
    found = await findUnfinishedJob(w.db, pipeline);
    expect(found).toMatchObject({ status: 'submitted', zuoraJobId: 'zjob-1' });
    expect(found?.submittedAt).toBeInstanceOf(Date);
    expect((await pipelineStatus(w.db, pipeline)).lastRun?.jobId).toBe('zjob-1');

    await recordJobCompleted(w.db, id, completedJob('zjob-1'), targets);
    found = await findUnfinishedJob(w.db, pipeline);
    expect(found).toMatchObject({ status: 'completed', zuoraStatus: 'completed', startTime: '2024-03-01 10:00:00', offsetSeconds: 300 });
    expect(found?.batches).toEqual([
      { name: 'account', object: 'Account', tableName: 'account', batchId: 'b1', full: false, recordCount: 3, status: 'completed' },
      { name: 'invoice', object: 'Invoice', tableName: 'invoice', batchId: 'b2', full: true, recordCount: 10, status: 'completed' },
    ]);
    expect(found?.files.map((f) => [f.batchName, f.ordinal, f.fileId, f.status])).toEqual([
      ['account', 0, 'zjob-1-f1', 'pending'],
      ['invoice', 0, 'zjob-1-s1', 'pending'],
      ['invoice', 1, 'zjob-1-s2', 'pending'],
      ['invoice', 2, 'zjob-1-s3', 'pending'],
    ]);

    await markFileStaged(w.db, 'zjob-1-s2', { rows: 4, stageTable: 'stage_s2', header: ['Invoice.Id', 'Invoice.Amount'] });
    const staged = await stagedFiles(w.db, id);
    expect([...staged.keys()]).toEqual(['zjob-1-s2']);
    expect(staged.get('zjob-1-s2')).toMatchObject({ rows: 4, stageTable: 'stage_s2', header: ['Invoice.Id', 'Invoice.Amount'] });

    // Recording the completion again (a resumed run) keeps what was staged.
    await recordJobCompleted(w.db, id, completedJob('zjob-1'), targets);
    expect((await findUnfinishedJob(w.db, pipeline))?.files.find((f) => f.fileId === 'zjob-1-s2')?.status).toBe('staged');

    expect(await resetStagedFiles(w.db, id, ['zjob-1-s2', 'zjob-1-s1'])).toBe(1);
    expect((await stagedFiles(w.db, id)).size).toBe(0);

    await markJobStatus(w.db, id, 'staged');
    expect((await findUnfinishedJob(w.db, pipeline))?.status).toBe('staged');
    expect((await pipelineStatus(w.db, pipeline)).inflightJob?.id).toBe(id);

    await markJobStatus(w.db, id, 'failed', 'Zuora said no');
    expect(await findUnfinishedJob(w.db, pipeline)).toBeUndefined();
    expect((await pipelineStatus(w.db, pipeline)).inflightJob).toBeUndefined();
  });

  it('returns the latest unfinished job of the asked kind only', async () => {
    const pipeline = 'kinds';
    const a = await createJob(w.db, { pipeline, runId: undefined, kind: 'sync', idempotencyKey: 'kinds-a', request: {}, incrementalTime: undefined, windowFrom: undefined });
    const b = await createJob(w.db, { pipeline, runId: undefined, kind: 'sync', idempotencyKey: 'kinds-b', request: {}, incrementalTime: undefined, windowFrom: undefined });
    const c = await createJob(w.db, { pipeline, runId: undefined, kind: 'backfill', idempotencyKey: 'kinds-c', request: {}, incrementalTime: undefined, windowFrom: undefined });
    expect((await findUnfinishedJob(w.db, pipeline))?.id).toBe(b);
    expect((await findUnfinishedJob(w.db, pipeline, 'backfill'))?.id).toBe(c);
    await markJobStatus(w.db, b, 'abandoned');
    expect((await findUnfinishedJob(w.db, pipeline))?.id).toBe(a);
    expect(await findUnfinishedJob(w.db, 'other-pipeline')).toBeUndefined();
  });

  it('rejects a batch the job did not ask for, writing nothing', async () => {
    const id = await createJob(w.db, { pipeline: 'strange', runId: undefined, kind: 'sync', idempotencyKey: 'strange-1', request: {}, incrementalTime: undefined, windowFrom: undefined });
    await expect(recordJobCompleted(w.db, id, completedJob('zjob-x'), [targets[0]!])).rejects.toBeInstanceOf(ZuoraProtocolError);
    expect((await findUnfinishedJob(w.db, 'strange'))?.files).toEqual([]);
  });

  it('refuses to stage an unknown file', async () => {
    await expect(markFileStaged(w.db, 'no-such-file', { rows: 1, stageTable: 's' })).rejects.toBeInstanceOf(WarehouseError);
  });

  it('refuses an idempotency key of another pipeline', async () => {
    await createJob(w.db, { pipeline: 'p1', runId: undefined, kind: 'sync', idempotencyKey: 'shared', request: {}, incrementalTime: undefined, windowFrom: undefined });
    await expect(
      createJob(w.db, { pipeline: 'p2', runId: undefined, kind: 'sync', idempotencyKey: 'shared', request: {}, incrementalTime: undefined, windowFrom: undefined }),
    ).rejects.toThrow(/belongs to a job of pipeline "p1"/);
  });
});

describe('runs, events and status', () => {
  it('records a run from start to finish', async () => {
    const pipeline = 'runs';
    const runId = await startRun(w.db, { pipeline, kind: 'scheduled' });
    let status = await pipelineStatus(w.db, pipeline);
    expect(status.lastRun).toMatchObject({ id: runId, status: 'running', kind: 'scheduled', pid: process.pid, rowsWritten: 0 });
    expect(status.watermark).toBeUndefined();

    await finishRun(w.db, runId, {
      status: 'failed',
      rowsWritten: 12,
      watermarkBefore: new Date('2024-01-01T00:00:00Z'),
      watermarkAfter: null,
      error: { code: 'ZUORA_AUTH', message: 'credentials refused' },
      details: { tables: ['account'] },
    });
    status = await pipelineStatus(w.db, pipeline);
    expect(status.lastRun).toMatchObject({
      status: 'failed',
      rowsWritten: 12,
      errorCode: 'ZUORA_AUTH',
      errorMessage: 'credentials refused',
      details: { tables: ['account'] },
      watermarkAfter: undefined,
    });
    expect(status.lastRun?.finishedAt).toBeInstanceOf(Date);
    expect(status.lastRun?.watermarkBefore?.toISOString()).toBe('2024-01-01T00:00:00.000Z');

    await expect(finishRun(w.db, 999_999, { status: 'succeeded', rowsWritten: 0, watermarkBefore: undefined, watermarkAfter: undefined })).rejects.toBeInstanceOf(WarehouseError);
  });

  it('appends events', async () => {
    const id = await recordEvent(w.db, { pipeline: 'ev', kind: 'file-expired', message: 'gone', details: ['a', 'b'] });
    const { rows } = await w.pool.query('SELECT pipeline, kind, message, details FROM aquasync.events WHERE id = $1', [id]);
    expect(rows).toEqual([{ pipeline: 'ev', kind: 'file-expired', message: 'gone', details: ['a', 'b'] }]);
  });
});
