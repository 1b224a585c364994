import { describe, expect, it } from 'vitest';
import { buildBackfillRequest, buildJobRequest } from '../../src/plan/index.ts';
import { pipelineConfig } from './fixtures.ts';

describe('buildJobRequest', () => {
  it('builds the stateful request with incrementalTime, labels, UTC datetimes and deleted specs', () => {
    const pipeline = pipelineConfig({ offset: 600 });
    const { request, incrementalTime, from } = buildJobRequest(pipeline, new Date('2026-06-01T12:00:00Z'));
    expect(incrementalTime).toBe('2026-06-01 04:00:00');
    expect(from).toEqual(new Date('2026-06-01T11:00:00Z'));
    expect(request).toEqual({
      format: 'gzip',
      version: '1.1',
      name: 'aquasync-billing',
      encrypted: 'none',
      useQueryLabels: 'true',
      dateTimeUtc: 'true',
      partner: 'aquasync',
      project: 'billing-warehouse',
      incrementalTime: '2026-06-01 04:00:00',
      offset: 600,
      queries: [
        {
          name: 'account',
          type: 'zoqlexport',
          query: 'select Id, Name, UpdatedDate from Account',
          deleted: { column: 'IsDeleted', format: 'Boolean' },
        },
        {
          name: 'invoice_item',
          type: 'zoqlexport',
          query: 'select Id, ChargeAmount, UpdatedDate, Invoice.Id from InvoiceItem',
          deleted: { column: 'IsDeleted', format: 'Boolean' },
        },
        // AccountingPeriod cannot export deletes; Product has deletes: ignore.
        { name: 'accounting_period', type: 'zoqlexport', query: 'select Id, Name from AccountingPeriod' },
        { name: 'product', type: 'zoqlexport', query: 'select Id from Product' },
      ],
    });
  });

  it.each([
    ['billing', 'aquasync-billing'],
    ['a-very-long-pipeline-name-for-the-warehouse', 'aquasync-a-very-long-pipeline-na'],
  ])('job name for %s is %s (max 32)', (name, expected) => {
    const { request } = buildJobRequest(pipelineConfig({ name }), new Date('2026-06-01T12:00:00Z'));
    expect(request.name).toBe(expected);
    expect(request.name.length).toBeLessThanOrEqual(32);
  });

  it.each([
    ['us', '2026-11-01T10:30:00Z', 3600, '2026-11-01 00:59:59'],
    ['eu', '2026-11-01T10:30:00Z', 3600, '2026-11-01 09:30:00'],
  ] as const)('uses the data center zone (%s)', (dataCenter, watermark, lookback, expected) => {
    const pipeline = pipelineConfig({ lookback });
    pipeline.source.dataCenter = dataCenter;
    expect(buildJobRequest(pipeline, new Date(watermark)).request.incrementalTime).toBe(expected);
  });
});

describe('buildBackfillRequest', () => {
  it('is stateless, windowed by UpdatedDate and forces deleted export', () => {
    const pipeline = pipelineConfig({ format: 'csv' });
    const request = buildBackfillRequest(
      pipeline,
      pipeline.objects.slice(1, 3),
      new Date('2026-01-01T00:00:00Z'),
      new Date('2026-01-08T00:00:00Z'),
    );
    expect(request).toEqual({
      format: 'csv',
      version: '1.1',
      name: 'aquasync-billing-backfill',
      encrypted: 'none',
      useQueryLabels: 'true',
      dateTimeUtc: 'true',
      queries: [
        {
          name: 'invoice_item',
          type: 'zoqlexport',
          query:
            'select Id, ChargeAmount, UpdatedDate, Invoice.Id from InvoiceItem ' +
            "where UpdatedDate >= '2026-01-01T00:00:00Z' and UpdatedDate < '2026-01-08T00:00:00Z'",
          deleted: { column: 'IsDeleted', format: 'Boolean', forceExport: true },
        },
        {
          name: 'accounting_period',
          type: 'zoqlexport',
          query:
            'select Id, Name from AccountingPeriod ' +
            "where UpdatedDate >= '2026-01-01T00:00:00Z' and UpdatedDate < '2026-01-08T00:00:00Z'",
        },
      ],
    });
    expect(request).not.toHaveProperty('partner');
    expect(request).not.toHaveProperty('project');
    expect(request).not.toHaveProperty('incrementalTime');
  });
});
