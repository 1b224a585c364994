// Config objects for plan tests, built the way parseConfig would build them.
import type { ObjectConfig, PipelineConfig } from '../../src/config/types.ts';

export function objectConfig(overrides: Partial<ObjectConfig> & { name: string }): ObjectConfig {
  return {
    fields: undefined,
    query: undefined,
    table: overrides.name.toLowerCase(),
    primaryKey: ['Id'],
    deletes: 'soft',
    types: {},
    ...overrides,
  };
}

export function pipelineConfig(overrides: Partial<PipelineConfig> = {}): PipelineConfig {
  return {
    name: 'billing',
    schedule: '0 2 * * *',
    timezone: 'UTC',
    partner: 'aquasync',
    project: 'billing-warehouse',
    format: 'gzip',
    offset: 0,
    lookback: 3600,
    startDate: new Date('2000-01-01T00:00:00Z'),
    jobTimeout: 10_800,
    concurrency: 4,
    objects: [
      objectConfig({ name: 'Account', fields: ['Id', 'Name', 'UpdatedDate'] }),
      objectConfig({
        name: 'InvoiceItem',
        table: 'invoice_item',
        query: 'select Id, ChargeAmount, UpdatedDate, Invoice.Id from InvoiceItem;',
      }),
      objectConfig({ name: 'AccountingPeriod', table: 'accounting_period', fields: ['Id', 'Name'] }),
      objectConfig({ name: 'Product', fields: ['Id'], deletes: 'ignore' }),
    ],
    source: { baseUrl: 'emulator', clientId: '', clientSecret: '', dataCenter: 'us', entityId: undefined, minDownloadSpeed: 64 },
    ...overrides,
  };
}
