import { describe, expect, it } from 'vitest';
import { ZUORA_DELETED_COLUMN, columnNameFor, pgTypeFor, snakeCase, supportsDeletedExport } from '../../src/plan/index.ts';

describe('snakeCase', () => {
  it.each([
    ['InvoiceItem', 'invoice_item'],
    ['ProductRatePlanCharge', 'product_rate_plan_charge'],
    ['AccountType__c', 'account_type__c'],
    ['BillToContact', 'bill_to_contact'],
    ['Id', 'id'],
    ['MRR', 'mrr'],
    ['TCV', 'tcv'],
    ['DMRC', 'dmrc'],
    ['HTTPServer', 'http_server'],
    ['Address1', 'address1'],
    ['already_snake', 'already_snake'],
  ])('%s -> %s', (name, expected) => {
    expect(snakeCase(name)).toBe(expected);
  });
});

describe('columnNameFor', () => {
  it.each([
    ['Account.Balance', 'Account', 'balance'],
    ['Invoice.Id', 'InvoiceItem', 'invoice_id'],
    ['BillToContact.Id', 'Account', 'bill_to_contact_id'],
    ['account.AccountNumber', 'Account', 'account_number'],
    ['Account.Balance', 'ACCOUNT', 'balance'],
    ['Account.AccountType__c', 'Account', 'account_type__c'],
    ['InvoiceItem.MRR', 'InvoiceItem', 'mrr'],
    ['Subscription.TCV', 'InvoiceItem', 'subscription_tcv'],
    ['UpdatedDate', 'Account', 'updated_date'],
    ['Total Amount', 'Account', 'total_amount'],
    ['1st', 'Account', '_1st'],
  ])('%s (base %s) -> %s', (header, base, expected) => {
    expect(columnNameFor(header, base)).toBe(expected);
  });

  it('keeps names within 63 characters and distinct', () => {
    const a = columnNameFor(`Account.${'VeryLongCustomFieldName'.repeat(4)}A__c`, 'Account');
    const b = columnNameFor(`Account.${'VeryLongCustomFieldName'.repeat(4)}B__c`, 'Account');
    expect(a.length).toBeLessThanOrEqual(63);
    expect(b.length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^[a-z_][a-z0-9_]*$/);
  });
});

describe('pgTypeFor', () => {
  it.each([
    ['decimal', 'numeric'],
    ['integer', 'bigint'],
    ['boolean', 'boolean'],
    ['date', 'date'],
    ['datetime', 'timestamptz'],
    ['DateTime', 'timestamptz'],
    ['text', 'text'],
    ['picklist', 'text'],
    ['something-new', 'text'],
  ])('%s -> %s', (zuora, pg) => {
    expect(pgTypeFor(zuora)).toBe(pg);
  });
});

describe('supportsDeletedExport', () => {
  it.each([
    ['Account', true],
    ['InvoiceItem', true],
    ['Subscription', true],
    ['AccountingCode', false],
    ['accountingcode', false],
    ['AccountingPeriod', false],
    ['PaymentTransactionLog', false],
    ['RefundTransactionLog', false],
    ['ProcessedUsage', false],
    ['DiscountAppliedMetrics', false],
    ['ContactSnapshot', false],
    ['EmailHistory', false],
    ['UpdaterDetail', false],
    ['HpmCaptchaValidationResult', false],
  ])('%s -> %s', (object, expected) => {
    expect(supportsDeletedExport(object)).toBe(expected);
  });

  it('names the deleted column IsDeleted', () => {
    expect(ZUORA_DELETED_COLUMN).toBe('IsDeleted');
  });
});
