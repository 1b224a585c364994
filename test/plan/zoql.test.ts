import { describe, expect, it } from 'vitest';
import { buildObjectQuery, buildWindowQuery, expectedHeaders, queryBaseObject } from '../../src/plan/index.ts';
import { objectConfig } from './fixtures.ts';

const since = new Date('2026-01-01T00:00:00.750Z');
const until = new Date('2026-01-02T00:00:00Z');
const window = "UpdatedDate >= '2026-01-01T00:00:00Z' and UpdatedDate < '2026-01-02T00:00:00Z'";

describe('buildObjectQuery', () => {
  it.each([
    [{ name: 'InvoiceItem', fields: ['Id', 'Name', 'Invoice.Id'] }, 'select Id, Name, Invoice.Id from InvoiceItem'],
    [{ name: 'Account', query: '  select Id from Account ;  ' }, 'select Id from Account'],
    [{ name: 'Account', query: 'select Id from Account;;' }, 'select Id from Account'],
    [{ name: 'Account', query: "select Id from Account where Name = 'a;b'" }, "select Id from Account where Name = 'a;b'"],
  ])('%j -> %s', (object, expected) => {
    expect(buildObjectQuery(objectConfig(object))).toBe(expected);
  });
});

describe('buildWindowQuery', () => {
  it.each([
    [{ name: 'Account', fields: ['Id', 'UpdatedDate'] }, `select Id, UpdatedDate from Account where ${window}`],
    [{ name: 'Account', query: 'select Id from Account;' }, `select Id from Account where ${window}`],
    [
      { name: 'Account', query: "select Id from Account where Status = 'Active' or Balance > 0" },
      `select Id from Account where (Status = 'Active' or Balance > 0) and (${window})`,
    ],
    [
      { name: 'Account', query: 'SELECT Id FROM Account WHERE Balance > 0 ORDER BY UpdatedDate LIMIT 10' },
      `SELECT Id FROM Account where (Balance > 0) and (${window}) ORDER BY UpdatedDate LIMIT 10`,
    ],
    [
      { name: 'Account', query: 'select Id from Account order by UpdatedDate asc' },
      `select Id from Account where ${window} order by UpdatedDate asc`,
    ],
    [
      { name: 'Account', query: "select Id from Account where Name = 'x where y order by z'" },
      `select Id from Account where (Name = 'x where y order by z') and (${window})`,
    ],
    [
      { name: 'Account', query: "select Id from Account where Name = 'it''s' group by Id" },
      `select Id from Account where (Name = 'it''s') and (${window}) group by Id`,
    ],
  ])('%j', (object, expected) => {
    const query = buildWindowQuery(objectConfig(object), since, until);
    expect(query).toBe(expected);
    // Zuora silently drops a space-separated datetime literal (docs/aqua.md#literals).
    expect(query).not.toMatch(/'\d{4}-\d{2}-\d{2} \d/);
  });
});

describe('queryBaseObject', () => {
  it.each([
    ['select Id from Account', 'Account'],
    ['SELECT a.b FROM invoiceitem WHERE x = 1', 'invoiceitem'],
    ["select Id, Name from Account where Name = 'from Invoice'", 'Account'],
    ['select count(Id) from Invoice', 'Invoice'],
    ['select Id', undefined],
  ])('%s -> %s', (query, expected) => {
    expect(queryBaseObject(query)).toBe(expected);
  });
});

describe('expectedHeaders', () => {
  it.each([
    [{ name: 'InvoiceItem', fields: ['Id', 'ChargeAmount', 'Invoice.Id'] }, ['InvoiceItem.Id', 'InvoiceItem.ChargeAmount', 'Invoice.Id']],
    [{ name: 'Account', query: 'select Id, Account.Name, BillToContact.Id from Account' }, ['Account.Id', 'Account.Name', 'BillToContact.Id']],
    [{ name: 'Account', query: 'select id,name from account where Balance > 0' }, ['account.id', 'account.name']],
    [{ name: 'Account', query: 'select * from Account' }, undefined],
    [{ name: 'Account', query: 'select *, BillToContact.Id from Account' }, undefined],
    [{ name: 'Account', query: 'select count(Id) from Account' }, undefined],
    [{ name: 'Account', query: 'select Id as "key" from Account' }, undefined],
    [{ name: 'Account', query: 'select distinct Id from Account' }, undefined],
  ])('%j', (object, expected) => {
    expect(expectedHeaders(objectConfig(object))).toEqual(expected);
  });
});
