import { describe, expect, it } from 'vitest';
import { ConfigError, DataError } from '../../src/errors.ts';
import type { ObjectConfig } from '../../src/config/types.ts';
import { planTable } from '../../src/plan/index.ts';
import type { ObjectDescription } from '../../src/zuora/types.ts';
import { objectConfig } from './fixtures.ts';

const descriptions: Record<string, ObjectDescription> = {
  account: {
    name: 'Account',
    relatedObjects: ['BillToContact'],
    fields: [
      { name: 'Id', label: 'ID', type: 'text', contexts: ['export'] },
      { name: 'Name', label: 'Name', type: 'text', contexts: ['export'] },
      { name: 'Balance', label: 'Balance', type: 'decimal', contexts: ['export'] },
      { name: 'UpdatedDate', label: 'Updated', type: 'datetime', contexts: ['export'] },
      { name: 'AutoPay', label: 'Auto Pay', type: 'boolean', contexts: ['export'] },
    ],
  },
  invoiceitem: {
    name: 'InvoiceItem',
    relatedObjects: ['Invoice', 'Account'],
    fields: [
      { name: 'Id', label: 'ID', type: 'text', contexts: ['export'] },
      { name: 'ChargeAmount', label: 'Amount', type: 'decimal', contexts: ['export'] },
      { name: 'ServiceStartDate', label: 'Start', type: 'date', contexts: ['export'] },
      { name: 'Quantity', label: 'Quantity', type: 'integer', contexts: ['export'] },
      { name: 'UpdatedDate', label: 'Updated', type: 'datetime', contexts: ['export'] },
    ],
  },
  invoice: {
    name: 'Invoice',
    relatedObjects: [],
    fields: [
      { name: 'Id', label: 'ID', type: 'text', contexts: ['export'] },
      { name: 'Amount', label: 'Amount', type: 'decimal', contexts: ['export'] },
    ],
  },
};
const describe_ = (name: string): ObjectDescription | undefined => descriptions[name.toLowerCase()];

const invoiceItem = objectConfig({
  name: 'InvoiceItem',
  table: 'invoice_item',
  query: 'select Id, ChargeAmount, ServiceStartDate, Quantity, UpdatedDate, Invoice.Id, Invoice.Amount from InvoiceItem',
});
const invoiceItemHeader = [
  'InvoiceItem.IsDeleted',
  'InvoiceItem.Id',
  'InvoiceItem.ChargeAmount',
  'InvoiceItem.ServiceStartDate',
  'InvoiceItem.Quantity',
  'InvoiceItem.UpdatedDate',
  'Invoice.Id',
  'Invoice.Amount',
];

describe('planTable', () => {
  it('maps every header to a typed column, excluding the deleted flag', () => {
    const spec = planTable({ schema: 'zuora', object: invoiceItem, header: invoiceItemHeader, describe: describe_ });
    expect(spec).toEqual({
      schema: 'zuora',
      table: 'invoice_item',
      object: 'InvoiceItem',
      columns: [
        { header: 'InvoiceItem.Id', name: 'id', type: 'text', joined: false, position: 1, overridden: false },
        { header: 'InvoiceItem.ChargeAmount', name: 'charge_amount', type: 'numeric', joined: false, position: 2, overridden: false },
        { header: 'InvoiceItem.ServiceStartDate', name: 'service_start_date', type: 'date', joined: false, position: 3, overridden: false },
        { header: 'InvoiceItem.Quantity', name: 'quantity', type: 'bigint', joined: false, position: 4, overridden: false },
        { header: 'InvoiceItem.UpdatedDate', name: 'updated_date', type: 'timestamptz', joined: false, position: 5, overridden: false },
        { header: 'Invoice.Id', name: 'invoice_id', type: 'text', joined: true, position: 6, overridden: false },
        { header: 'Invoice.Amount', name: 'invoice_amount', type: 'numeric', joined: true, position: 7, overridden: false },
      ],
      primaryKey: ['id'],
      updatedColumn: 'updated_date',
      deletedHeader: 'InvoiceItem.IsDeleted',
      deletedPosition: 0,
      deletes: 'soft',
    });
  });

  it.each<[string, Partial<ObjectConfig>, string[], Partial<ReturnType<typeof planTable>>]>([
    [
      'no deleted column, no UpdatedDate',
      { fields: ['Id', 'Name'] },
      ['Account.Id', 'Account.Name'],
      { deletedHeader: undefined, updatedColumn: undefined },
    ],
    [
      'deleted header in other casing, anywhere',
      { fields: ['Id', 'Name'] },
      ['Account.Id', 'account.isdeleted', 'Account.Name'],
      {
        deletedHeader: 'account.isdeleted',
        deletedPosition: 1,
        columns: [
          { header: 'Account.Id', name: 'id', type: 'text', joined: false, position: 0, overridden: false },
          { header: 'Account.Name', name: 'name', type: 'text', joined: false, position: 2, overridden: false },
        ],
      },
    ],
    [
      'unknown relationship is text',
      { fields: ['Id', 'BillToContact.WorkEmail'] },
      ['Account.Id', 'BillToContact.WorkEmail'],
      {
        columns: [
          { header: 'Account.Id', name: 'id', type: 'text', joined: false, position: 0, overridden: false },
          { header: 'BillToContact.WorkEmail', name: 'bill_to_contact_work_email', type: 'text', joined: true, position: 1, overridden: false },
        ],
      },
    ],
    [
      'type override applied',
      { fields: ['Id', 'Balance', 'AutoPay'], types: { balance: 'numeric(22,9)' } },
      ['Account.Id', 'Account.Balance', 'Account.AutoPay'],
      {
        columns: [
          { header: 'Account.Id', name: 'id', type: 'text', joined: false, position: 0, overridden: false },
          { header: 'Account.Balance', name: 'balance', type: 'numeric(22,9)', joined: false, position: 1, overridden: true },
          { header: 'Account.AutoPay', name: 'auto_pay', type: 'boolean', joined: false, position: 2, overridden: false },
        ],
      },
    ],
    [
      'composite primary key with a joined field',
      { fields: ['Id', 'BillToContact.Id'], primaryKey: ['Id', 'BillToContact.Id'] },
      ['Account.Id', 'BillToContact.Id'],
      { primaryKey: ['id', 'bill_to_contact_id'] },
    ],
    [
      'select * query: header taken as it comes',
      { query: 'select * from Account' },
      ['Account.Id', 'Account.Name', 'Account.Balance'],
      { columns: [
        { header: 'Account.Id', name: 'id', type: 'text', joined: false, position: 0, overridden: false },
        { header: 'Account.Name', name: 'name', type: 'text', joined: false, position: 1, overridden: false },
        { header: 'Account.Balance', name: 'balance', type: 'numeric', joined: false, position: 2, overridden: false },
      ] },
    ],
    [
      'custom deleted column name',
      { fields: ['Id'] },
      ['Account.Gone', 'Account.Id'],
      { deletedHeader: 'Account.Gone', deletedPosition: 0 },
    ],
  ])('%s', (_name, overrides, header, expected) => {
    const object = objectConfig({ name: 'Account', ...overrides });
    const deletedColumn = header.includes('Account.Gone') ? 'Gone' : undefined;
    const spec = planTable({ schema: 'zuora', object, header, describe: describe_, ...(deletedColumn ? { deletedColumn } : {}) });
    expect(spec).toMatchObject(expected);
  });

  it.each<[string, Partial<ObjectConfig>, string[], typeof DataError | typeof ConfigError, RegExp]>([
    [
      'header differs from the query',
      { fields: ['Id', 'Name'] },
      ['Account.IsDeleted', 'Account.Id', 'Account.Balance'],
      DataError,
      /^CSV header of Account does not match the query: expected \[Account\.Id, Account\.Name\], got \[Account\.Id, Account\.Balance\]$/,
    ],
    [
      'label headers (useQueryLabels missing)',
      { fields: ['Id'] },
      ['Account: ID'],
      DataError,
      /CSV header of Account does not match the query/,
    ],
    [
      'primary key missing from header',
      { query: 'select * from Account', primaryKey: ['AccountNumber'] },
      ['Account.Id', 'Account.Name'],
      DataError,
      /primary key field AccountNumber of Account is not in the CSV header/,
    ],
    [
      'duplicate column names',
      { query: 'select * from Account' },
      ['Account.Id', 'Account.BillToContactId', 'BillToContact.Id'],
      DataError,
      /both map to column "bill_to_contact_id"/,
    ],
    [
      'override of an unknown column',
      { fields: ['Id'], types: { balanse: 'numeric' } },
      ['Account.Id'],
      ConfigError,
      /type override for "balanse" of Account: no such column/,
    ],
    ['empty header', { query: 'select * from Account' }, [], DataError, /header of Account is empty/],
    [
      'a header that maps onto an aquasync column (only a broken file can carry one)',
      { query: 'select * from Account' },
      ['Account.Id', 'Account._aquasync_deleted'],
      DataError,
      /maps to column "_aquasync_deleted", which is reserved for aquasync/,
    ],
  ])('%s -> error', (_name, overrides, header, type, message) => {
    const object = objectConfig({ name: 'Account', ...overrides });
    const run = () => planTable({ schema: 'zuora', object, header, describe: describe_ });
    expect(run).toThrow(type);
    expect(run).toThrow(message);
  });
});
