import { describe, expect, it } from 'vitest';
import { compileQuery, createTenant } from '../../src/emulator/data.ts';
import type { CompileOptions, Snapshot, StoredRow, Tenant, Value } from '../../src/emulator/model.ts';
import { ZoqlError } from '../../src/emulator/model.ts';
import { compareDecimal, tokenize } from '../../src/emulator/zoql.ts';

const GENERATED_BEFORE = Date.parse('2024-01-01T00:00:00Z');
const LA: CompileOptions = { spaceLiteralTrap: true, defaultZone: 'America/Los_Angeles' };
const DAY = 86_400_000;

// Four Accounts are updated around the LA and UTC boundaries of 2024-03-05 (PST, -08:00).
const A = Date.parse('2024-03-05T07:59:59Z'); // 2024-03-04 23:59:59 in LA
const B = Date.parse('2024-03-05T08:00:00Z'); // 2024-03-05 00:00:00 in LA
const C = Date.parse('2024-03-06T07:59:59Z'); // 2024-03-05 23:59:59 in LA
const D = Date.parse('2024-03-06T08:00:00Z'); // 2024-03-06 00:00:00 in LA
const SNAPSHOT_AT = Date.parse('2024-04-01T00:00:00Z');

interface Fixture {
  tenant: Tenant;
  snapshot: Snapshot;
  /** Id of the account updated at each boundary instant. */
  marked: Record<'a' | 'b' | 'c' | 'd', string>;
}

function fixture(): Fixture {
  const tenant = createTenant({ seed: 7, rows: 800, generatedBefore: GENERATED_BEFORE });
  const ids = [...tenant.snapshot(SNAPSHOT_AT).scan('Account')].map((row) => row.values.Id as string);
  const marked = { a: ids[10], b: ids[11], c: ids[12], d: ids[13] } as Record<'a' | 'b' | 'c' | 'd', string>;
  tenant.update('Account', marked.a, { Notes: 'a' }, A);
  tenant.update('Account', marked.b, { Notes: 'b' }, B);
  tenant.update('Account', marked.c, { Notes: 'c' }, C);
  tenant.update('Account', marked.d, { Notes: 'd' }, D);
  return { tenant, snapshot: tenant.snapshot(SNAPSHOT_AT), marked };
}

const fx = fixture();
const accounts: StoredRow[] = [...fx.snapshot.scan('Account')];

function ids(query: string, options: CompileOptions = LA): string[] {
  const compiled = compileQuery(query, fx.tenant, options);
  const idColumn = compiled.columns.findIndex((c) => c.header === 'Account.Id');
  return [...compiled.rows(fx.snapshot, { includeDeleted: false })].map((row) => row.values[idColumn] as string);
}

function expectedIds(filter: (values: Record<string, Value>) => boolean): string[] {
  return accounts.filter((row) => filter(row.values)).map((row) => row.values.Id as string);
}

function zoqlError(run: () => unknown): ZoqlError {
  try {
    run();
  } catch (error) {
    if (error instanceof ZoqlError) return error;
    throw error;
  }
  throw new Error('expected a ZoqlError');
}

describe('tokenize and decimals', () => {
  it('reads quoted strings with doubled quotes and aliases', () => {
    const tokens = tokenize(`select Name as "a b" from Account where Name = 'San Francisco''s Finest'`);
    expect(tokens.find((t) => t.kind === 'quoted')?.text).toBe('a b');
    expect(tokens.find((t) => t.kind === 'string')?.text).toBe("San Francisco's Finest");
  });

  it.each([
    ['12345678901234567890.123456789', '12345678901234567890.12345678', 1],
    ['-12345678901234567890.1', '-12345678901234567890.01', -1],
    ['0', '-0.0', 0],
    ['10', '9.999999999999999999999', 1],
    ['-1', '0.5', -1],
    ['007.50', '7.5', 0],
  ])('compareDecimal(%s, %s) = %i', (a, b, expected) => {
    expect(compareDecimal(a, b)).toBe(expected);
  });
});

describe('select list', () => {
  it('select * lists own exportable fields and no foreign keys', () => {
    const compiled = compileQuery('select * from Account', fx.tenant, LA);
    const headers = compiled.columns.map((c) => c.header);
    expect(headers[0]).toBe('Account.Id');
    expect(headers).toContain('Account.Balance');
    expect(headers).not.toContain('Account.BillToId');
    expect(headers).not.toContain('Account.ParentId');
    expect(headers).not.toContain('Account.TaxExemptCertificateID');
    expect(compiled.usesFunctions).toBe(false);
    expect(compiled.usesAliases).toBe(false);
  });

  it.each([
    [
      'select id, ACCOUNT.name, billtocontact.FIRSTNAME from account',
      ['Account.Id', 'Account.Name', 'BillToContact.FirstName'],
      ['Account: ID', 'Account: Account Name', 'Bill To: First Name'],
    ],
    ['SELECT Balance FROM Account;', ['Account.Balance'], ['Account: Account Balance']],
    ['select *, BillToContact.Id from account limit 1', undefined, undefined],
    ['select soldtocontact.* from Account', undefined, undefined],
    ['select Name as "n", Id from Account', ['n', 'Account.Id'], ['n', 'Account: ID']],
    ['select Name as "account.name" from Account', ['Account.Name'], ['Account: Account Name']],
    ['select ParentId, ParentAccount.Name from Account', ['Account.ParentId', 'ParentAccount.Name'], undefined],
  ])('%s', (query, headers, labels) => {
    const compiled = compileQuery(query, fx.tenant, LA);
    expect(compiled.baseObject).toBe('Account');
    if (headers !== undefined) expect(compiled.columns.map((c) => c.header)).toEqual(headers);
    if (labels !== undefined) expect(compiled.columns.map((c) => c.labelHeader)).toEqual(labels);
    expect(compiled.usesAliases).toBe(query.includes('"n"'));
  });

  it('expands Rel.* without the joined object foreign keys', () => {
    const headers = compileQuery('select *, BillToContact.Id from Account', fx.tenant, LA).columns.map((c) => c.header);
    expect(headers.at(-1)).toBe('BillToContact.Id');
    const joined = compileQuery('select billtocontact.* from account', fx.tenant, LA).columns.map((c) => c.header);
    expect(joined).toContain('BillToContact.FirstName');
    expect(joined).not.toContain('BillToContact.AccountId');
  });

  it('evaluates date functions in the default zone and marks usesFunctions', () => {
    const compiled = compileQuery(
      'select Id, DATE(UpdatedDate), YEAR(UpdatedDate), MONTH(UpdatedDate), QUARTER(UpdatedDate), WEEK(UpdatedDate), ' +
        'WEEKOFYEAR(UpdatedDate) from Account where Notes = \'b\'',
      fx.tenant,
      LA,
    );
    expect(compiled.usesFunctions).toBe(true);
    expect(compiled.columns[1]?.header).toBe('DATE(Account.UpdatedDate)');
    const rows = [...compiled.rows(fx.snapshot, { includeDeleted: false })];
    // B is 2024-03-05 00:00 in LA, a Tuesday: Sunday-based week 9 (week 1 starts Sunday 7 January), ISO week 10.
    expect(rows.map((r) => r.values.slice(1))).toEqual([['2024-03-05', '2024', '3', '1', '9', '10']]);
  });
});

describe('where', () => {
  const cases: [string, (v: Record<string, Value>) => boolean][] = [
    ["select Id from Account where Status = 'Active'", (v) => v.Status === 'Active'],
    ["SELECT ID FROM ACCOUNT WHERE STATUS = 'Active'", (v) => v.Status === 'Active'],
    ["select Id from Account where Status != 'Active'", (v) => v.Status !== 'Active'],
    ['select Id from Account where Balance > 100', (v) => compareDecimal(String(v.Balance), '100') > 0],
    ["select Id from Account where Balance <= '-0.5'", (v) => compareDecimal(String(v.Balance), '-0.5') <= 0],
    ['select Id from Account where Balance = -42.5', (v) => v.Balance === '-42.5'],
    ['select Id from Account where AutoPay = true', (v) => v.AutoPay === true],
    ['select Id from Account where AutoPay != false', (v) => v.AutoPay === true],
    ['select Id from Account where Notes is null', (v) => v.Notes === null],
    ['select Id from Account where Notes is not null', (v) => v.Notes !== null],
    ['select Id from Account where Notes = null', (v) => v.Notes === null],
    ['select Id from Account where ParentId != null', (v) => v.ParentId !== null],
    // SQL semantics: != never matches null.
    ["select Id from Account where Notes != 'b'", (v) => v.Notes !== null && v.Notes !== 'b'],
    ["select Id from Account where Name like 'Acme%'", (v) => String(v.Name).startsWith('Acme')],
    ["select Id from Account where Name like '%Ltd'", (v) => String(v.Name).endsWith('Ltd')],
    ["select Id from Account where Name like 'A_me%'", (v) => /^A.me/su.test(String(v.Name))],
    [
      "select Id from Account where not (Status = 'Active' or AutoPay = false)",
      (v) => !(v.Status === 'Active' || v.AutoPay === false),
    ],
    [
      "select Id from Account where (Status = 'Draft' or Status = 'Canceled') and AutoPay = true",
      (v) => (v.Status === 'Draft' || v.Status === 'Canceled') && v.AutoPay === true,
    ],
    ["select Id from Account where LastInvoiceDate >= '2023-01-01'", (v) => String(v.LastInvoiceDate) >= '2023-01-01'],
    ['select Id from Account where Balance > CreditBalance', (v) => compareDecimal(String(v.Balance), String(v.CreditBalance)) > 0],
    [
      "select Id from Account where CreatedDate >= '2022-01-01T00:00:00Z' and CreatedDate < '2023-01-01T00:00:00+00:00'",
      (v) => (v.CreatedDate as number) >= Date.parse('2022-01-01T00:00:00Z') && (v.CreatedDate as number) < Date.parse('2023-01-01T00:00:00Z'),
    ],
    ["select Id from Account where Name = 'Acme, Inc.'", (v) => v.Name === 'Acme, Inc.'],
    ["select Id from Account where Name = 'The \"Pro\" plan'", (v) => v.Name === 'The "Pro" plan'],
  ];

  it.each(cases)('%s', (query, filter) => {
    const expected = expectedIds(filter);
    expect(ids(query)).toEqual(expected);
  });

  it('has cases that select something and leave something out', () => {
    for (const [, filter] of cases) {
      const n = expectedIds(filter).length;
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThan(accounts.length);
    }
  });

  it.each([
    ["UpdatedDate = '2024-03-05'", LA, ['b', 'c']],
    ["UpdatedDate = '2024-03-05'", { ...LA, defaultZone: 'UTC' }, ['a', 'b']],
    ["UpdatedDate = '2024-03-05Z'", LA, ['a', 'b']],
    ["UpdatedDate != '2024-03-05' and UpdatedDate >= '2024-01-01'", LA, ['a', 'd']],
    ["UpdatedDate > '2024-03-05'", LA, ['d']],
    ["UpdatedDate >= '2024-03-05'", LA, ['b', 'c', 'd']],
    ["UpdatedDate < '2024-03-05' and UpdatedDate >= '2024-01-01'", LA, ['a']],
    ["UpdatedDate <= '2024-03-05' and UpdatedDate >= '2024-01-01'", LA, ['a', 'b', 'c']],
    ["UpdatedDate = '2024-03-05T00:00:00'", LA, ['b']],
    ["UpdatedDate = '2024-03-05T00:00'", LA, ['b']],
    ["UpdatedDate = '2024-03-05T00:00:00'", { ...LA, defaultZone: 'UTC' }, []],
    ["UpdatedDate = '2024-03-05T07:59:59Z'", LA, ['a']],
    ["UpdatedDate = '2024-03-05T00:00:00-08:00'", LA, ['b']],
    ["UpdatedDate = '2024-03-05T13:30:00+05:30'", LA, ['b']],
    ["UpdatedDate >= '2024-03-05T08:00:00Z' and UpdatedDate < '2024-03-06T08:00:00Z'", LA, ['b', 'c']],
  ] as [string, CompileOptions, string[]][])('%s in %o', (predicate, options, letters) => {
    const expected = letters.map((letter) => fx.marked[letter as 'a' | 'b' | 'c' | 'd']);
    expect(ids(`select Id from Account where ${predicate}`, options).sort()).toEqual([...expected].sort());
  });

  it('drops a space-separated datetime predicate when the trap is on, rejects it when off', () => {
    const query = "select Id from Account where UpdatedDate >= '2024-03-05 00:00:00' and Status = 'Active'";
    expect(ids(query, { ...LA, spaceLiteralTrap: true })).toEqual(expectedIds((v) => v.Status === 'Active'));
    const error = zoqlError(() => compileQuery(query, fx.tenant, { ...LA, spaceLiteralTrap: false }));
    expect(error.errorCode).toBe('90005');
    expect(error.message).toMatch(/space-separated/);
  });
});

describe('errors', () => {
  it.each([
    ['select Id from Foo', '90005', /^The requested data source could not be found$/],
    ['select Foo.Id from Account', '90005', /^The requested data source could not be found$/],
    ['select Invoice.Id from Account', '90005', /^The requested data source could not be found$/],
    ['select Nope from Account', '90005', /^There is no field named Nope$/],
    ['select TaxExemptCertificateID from Account', '90005', /There is no field named TaxExemptCertificateID/],
    ['select BillToContact.Nope from Account', '90005', /There is no field named BillToContact.Nope/],
    ["select Id from Account where TaxExemptCertificateID = 'x'", '90005', /no field named/],
    ['select Id Account', '90005', /syntax error/],
    ['select from Account', '90005', /syntax error/],
    ['select Id from Account where', '90005', /syntax error/],
    ["select Id from Account where Name = 'unterminated", '90005', /unterminated/],
    ["select Id from Account where UpdatedDate > TIMESTAMP '2026-08-01 00:00:00.000000'", '90005', /TIMESTAMP/],
    ["select Id from Account where UpdatedDate > 'today - 30 days'", '90005', /relative/],
    ["select Id from Account where UpdatedDate > 'now'", '90005', /relative/],
    ["select Id from Account where UpdatedDate > '2024-13-01'", '90005', /invalid date/],
    ["select Id from Account where UpdatedDate > '2024-03-05T00:00:00.000Z'", '90005', /not a date or datetime/],
    ["select Id from Account where LastInvoiceDate = '2024-03-05T00:00:00Z'", '90005', /date field/],
    ["select Id from Account where Name like '%a%'", '90005', /one %/],
    ["select Id from Account where Name like 'a%c'", '90005', /one %/],
    ['select Id from Account where Balance like 1', '90005', /LIKE/],
    ["select Id from Account where AutoPay = 'true'", '90005', /boolean/],
    ["select Id from Account where Balance > 'abc'", '90005', /not a number/],
    ['select Id from Account where Name = 5', '90005', /cannot be compared/],
    ["select Id from Account where Name <> 'x'", '90005', /comparison operator/],
    ['select Id from Account where Balance < null', '90005', /IS \[NOT\] NULL/],
    ['select Id from Account where Name > Balance', '90005', /cannot compare/],
    ['select Id from Account where YEAR(CreatedDate) = 2024', '90005', /functions are not allowed in WHERE/],
    ['select count(Id) from Account', '90005', /aggregate/],
    ['select FOO(Id) from Account', '90005', /unknown function/],
    ['select YEAR(Name) from Account', '90005', /date or datetime/],
    ['select Id from Account group by Id', '90005', /GROUP BY/],
    ['select Id as "x", Name as "X" from Account', '90005', /^Duplicate column aliases X were defined\.$/],
    ["select Id as 'x' from Account", '90005', /double-quoted/],
    ['select Id from Account limit 1.5', '90005', /LIMIT/],
    ['select Id from Account extra', '90005', /unexpected/],
    ['select distinct Id from Account', '90020', /Distinct/],
  ])('%s -> %s', (query, code, message) => {
    const error = zoqlError(() => compileQuery(query, fx.tenant, LA));
    expect(error.errorCode).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('rejects an unknown default zone with a plain Error', () => {
    expect(() => compileQuery('select Id from Account', fx.tenant, { ...LA, defaultZone: 'Mars/Olympus' })).toThrow(
      /Unknown time zone/,
    );
  });
});

describe('joins, order and limit', () => {
  it('follows foreign keys into the snapshot', () => {
    const compiled = compileQuery(
      'select Id, Account.Id, Account.Name, Invoice.InvoiceNumber, Product.Name from InvoiceItem limit 60',
      fx.tenant,
      LA,
    );
    const rows = [...compiled.rows(fx.snapshot, { includeDeleted: false })];
    expect(rows).toHaveLength(60);
    for (const { values } of rows) {
      const item = fx.snapshot.get('InvoiceItem', values[0] as string);
      expect(item).toBeDefined();
      expect(values[1]).toBe(item?.values.AccountId);
      expect(values[2]).toBe(fx.snapshot.get('Account', item?.values.AccountId as string)?.values.Name);
      expect(values[3]).toBe(fx.snapshot.get('Invoice', item?.values.InvoiceId as string)?.values.InvoiceNumber);
      expect(values[4]).toBe(fx.snapshot.get('Product', item?.values.ProductId as string)?.values.Name);
      expect(values[3]).toMatch(/^INV\d{8}$/);
    }
  });

  it('orders by a key, descending, with limit offset,count', () => {
    const compiled = compileQuery('select Id, UpdatedDate from Account order by UpdatedDate desc limit 2, 5', fx.tenant, LA);
    const got = [...compiled.rows(fx.snapshot, { includeDeleted: false })].map((r) => r.values[0]);
    const expected = [...accounts]
      .sort((x, y) => (y.values.UpdatedDate as number) - (x.values.UpdatedDate as number))
      .slice(2, 7)
      .map((r) => r.values.Id);
    expect(got).toEqual(expected);
  });

  it('orders by a decimal exactly and applies a plain limit', () => {
    const compiled = compileQuery('select Id, Balance from Account order by Balance asc, Id limit 3', fx.tenant, LA);
    const got = [...compiled.rows(fx.snapshot, { includeDeleted: false })].map((r) => r.values[1]);
    const expected = accounts
      .map((r) => String(r.values.Balance))
      .sort(compareDecimal)
      .slice(0, 3);
    expect(got).toEqual(expected);
    expect(got[0]).toBe('-12345678901234567890.123456789');
  });
});

describe('window and deleted rows', () => {
  const T = Date.parse('2024-06-01T00:00:00Z');

  function deletedFixture() {
    const tenant = createTenant({ seed: 11, rows: 400, generatedBefore: GENERATED_BEFORE });
    const all = [...tenant.snapshot(T).scan('Account')];
    const recent = all[3]?.values.Id as string;
    const old = all[4]?.values.Id as string;
    const updated = all[5]?.values.Id as string;
    tenant.remove('Account', old, T - 40 * DAY);
    tenant.remove('Account', recent, T - 10 * DAY);
    tenant.update('Account', updated, { Name: 'Renamed' }, T - 5 * DAY);
    return { tenant, snapshot: tenant.snapshot(T), recent, old, updated, total: all.length };
  }

  it('returns deleted rows only when asked and only within 30 days, joined columns null', () => {
    const { tenant, snapshot, recent, old, total } = deletedFixture();
    const compiled = compileQuery('select Id, Name, BillToContact.Id from Account', tenant, LA);
    const live = [...compiled.rows(snapshot, { includeDeleted: false })];
    expect(live).toHaveLength(total - 2);
    expect(live.every((r) => !r.deleted && r.values[2] !== null)).toBe(true);

    const withDeleted = [...compiled.rows(snapshot, { includeDeleted: true })];
    expect(withDeleted).toHaveLength(total - 1);
    const deleted = withDeleted.filter((r) => r.deleted);
    expect(deleted.map((r) => r.values[0])).toEqual([recent]);
    expect(deleted[0]?.values[1]).not.toBeNull();
    expect(deleted[0]?.values[2]).toBeNull();
    expect(withDeleted.some((r) => r.values[0] === old)).toBe(false);
  });

  it('applies WHERE to deleted rows on their own fields', () => {
    const { tenant, snapshot, recent } = deletedFixture();
    const name = snapshot.get('Account', recent)?.values.Name as string;
    const escaped = name.replace(/'/g, "''");
    const hit = compileQuery(`select Id from Account where Name = '${escaped}'`, tenant, LA);
    expect([...hit.rows(snapshot, { includeDeleted: true })].some((r) => r.deleted)).toBe(true);
    const miss = compileQuery(`select Id from Account where Name = 'no such name'`, tenant, LA);
    expect([...miss.rows(snapshot, { includeDeleted: true })]).toEqual([]);
    const joined = compileQuery('select Id from Account where BillToContact.Id != null', tenant, LA);
    expect([...joined.rows(snapshot, { includeDeleted: true })].some((r) => r.deleted)).toBe(false);
  });

  it('filters on UpdatedDate in [since, until), deletes and updates moving it', () => {
    const { tenant, snapshot, recent, updated } = deletedFixture();
    const compiled = compileQuery('select Id from Account', tenant, LA);
    const window = { since: T - 20 * DAY, until: T };
    const got = [...compiled.rows(snapshot, { includeDeleted: true, window })];
    expect(got.map((r) => [r.values[0], r.deleted])).toEqual([
      [recent, true],
      [updated, false],
    ]);
    const exact = { since: T - 5 * DAY, until: T - 5 * DAY + 1 };
    expect([...compiled.rows(snapshot, { includeDeleted: true, window: exact })].map((r) => r.values[0])).toEqual([updated]);
    const before = { since: T - 6 * DAY, until: T - 5 * DAY };
    expect([...compiled.rows(snapshot, { includeDeleted: true, window: before })]).toEqual([]);

    const generated = [...snapshot.scan('Account')].filter((r) => r.deletedAt === undefined);
    const since = Date.parse('2022-01-01T00:00:00Z');
    const until = Date.parse('2023-01-01T00:00:00Z');
    const expected = generated.filter((r) => r.updatedAt >= since && r.updatedAt < until).map((r) => r.values.Id);
    expect(expected.length).toBeGreaterThan(0);
    expect([...compiled.rows(snapshot, { includeDeleted: false, window: { since, until } })].map((r) => r.values[0])).toEqual(
      expected,
    );
  });
});
