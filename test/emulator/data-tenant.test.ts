import { describe, expect, it } from 'vitest';
import {
  createTenant,
  describeIndexXml,
  describeXml,
  NASTY_DECIMALS,
  NASTY_EMPTY_INDEX,
  NASTY_TEXTS,
  OBJECTS,
} from '../../src/emulator/data.ts';
import { objectCodes } from '../../src/emulator/tenant/ids.ts';

const BEFORE = Date.parse('2025-01-01T00:00:00Z');
const YEAR = 365 * 86_400_000;

describe('object codes', () => {
  it('keep generated ids and values stable: each object owns its code, whatever its place in the list', () => {
    // Seeds in tests and saved emulator states depend on these: a renumbered object changes all its ids and values.
    const tenant = createTenant({ seed: 1, rows: 1000, generatedBefore: BEFORE });
    const snapshot = tenant.snapshot(BEFORE);
    const firstIds = Object.fromEntries(OBJECTS.map((o) => [o.name, [...snapshot.scan(o.name)][0]?.values.Id]));
    expect(firstIds).toEqual({
      Account: 'addc76bc010000000000000031028253',
      Contact: 'addc76bc020000000000000063c9116b',
      Product: 'addc76bc03000000000000000cc0d3af',
      ProductRatePlan: 'addc76bc0400000000000000781fb53c',
      ProductRatePlanCharge: 'addc76bc0500000000000000f2f7e834',
      Subscription: 'addc76bc060000000000000081046fd7',
      RatePlan: 'addc76bc0700000000000000f7ad3dde',
      RatePlanCharge: 'addc76bc0800000000000000107a06fa',
      Invoice: 'addc76bc09000000000000006aba313e',
      InvoiceItem: 'addc76bc0a000000000000009697fc3e',
      Payment: 'addc76bc0b00000000000000acf2dfdb',
      PaymentTransactionLog: 'addc76bc0c000000000000005c273421',
    });
    const account = [...snapshot.scan('Account')][10]?.values;
    expect([account?.Id, account?.CreatedDate, account?.Balance]).toEqual([
      'addc76bc010000000000000af24e9c46',
      1665219178000,
      '1996.65',
    ]);
  });

  it('rejects two objects sharing a code, and codes that do not fit an id', () => {
    const [a, b] = OBJECTS as [(typeof OBJECTS)[0], (typeof OBJECTS)[0]];
    expect(() => objectCodes([a, { ...b, code: a.code }])).toThrow(/share code/);
    expect(() => objectCodes([{ ...a, code: 256 }])).toThrow(/1 to 255/);
    expect(objectCodes(OBJECTS).size).toBe(OBJECTS.length);
  });
});

describe('schema', () => {
  it('has the objects the emulator promises, with audit fields and resolvable relationships', () => {
    const names = OBJECTS.map((o) => o.name);
    for (const name of [
      'Account',
      'Contact',
      'Product',
      'ProductRatePlan',
      'ProductRatePlanCharge',
      'Subscription',
      'RatePlan',
      'RatePlanCharge',
      'Invoice',
      'InvoiceItem',
      'Payment',
      'PaymentTransactionLog',
    ]) {
      expect(names).toContain(name);
    }
    for (const object of OBJECTS) {
      const fields = object.fields.map((f) => f.name);
      expect(fields).toEqual(expect.arrayContaining(['Id', 'CreatedDate', 'UpdatedDate']));
      for (const relation of Object.values(object.related)) {
        expect(names).toContain(relation.object);
        expect(object.fields.find((f) => f.name === relation.via)?.references).toBe(relation.object);
      }
    }
    expect(OBJECTS.find((o) => o.name === 'PaymentTransactionLog')?.supportsDeleted).toBe(false);
    expect(OBJECTS.find((o) => o.name === 'InvoiceItem')?.fields.filter((f) => f.exportable && !f.references).length).toBeGreaterThanOrEqual(15);
    expect(OBJECTS.flatMap((o) => o.fields).filter((f) => !f.exportable).length).toBeGreaterThanOrEqual(2);
  });
});

describe('generated rows', () => {
  const tenant = createTenant({ seed: 42, rows: 2000, generatedBefore: BEFORE });
  const snapshot = tenant.snapshot(BEFORE);

  it('scales counts from rows and keeps a minimum per object', () => {
    expect(snapshot.count('InvoiceItem')).toBe(2000);
    expect(snapshot.count('Invoice')).toBe(500);
    expect(snapshot.count('Account')).toBe(50);
    for (const object of OBJECTS) expect(snapshot.count(object.name)).toBeGreaterThanOrEqual(5);
    expect(createTenant({ seed: 1, rows: 0, generatedBefore: BEFORE }).snapshot(BEFORE).count('Account')).toBeGreaterThanOrEqual(5);
  });

  it('mints unique 32-hex ids, finds each one with get(), and points every foreign key at an existing row', () => {
    const seen = new Set<string>();
    for (const object of OBJECTS) {
      let n = 0;
      for (const row of snapshot.scan(object.name)) {
        const id = row.values.Id as string;
        expect(id).toMatch(/^[0-9a-f]{32}$/);
        expect(seen.has(id)).toBe(false);
        seen.add(id);
        if (n++ % 37 === 0) expect(snapshot.get(object.name, id)).toEqual(row);
        expect(Object.keys(row.values).sort()).toEqual(object.fields.map((f) => f.name).sort());
        const created = row.values.CreatedDate as number;
        expect(created).toBeLessThan(BEFORE);
        expect(created).toBeGreaterThanOrEqual(BEFORE - 3 * YEAR);
        expect(row.updatedAt).toBe(row.values.UpdatedDate);
        expect(row.updatedAt).toBeGreaterThanOrEqual(created);
        expect(row.updatedAt).toBeLessThan(BEFORE);
        for (const field of object.fields) {
          const value = row.values[field.name];
          if (field.references === undefined || value === null) continue;
          expect(snapshot.get(field.references, value as string), `${object.name}.${field.name}`).toBeDefined();
        }
      }
    }
    expect(seen.size).toBeGreaterThan(2000);
  });

  it('rejects unknown, forged and other-object ids', () => {
    const id = [...snapshot.scan('Account')][0]?.values.Id as string;
    expect(snapshot.get('account', id)?.values.Id).toBe(id);
    expect(snapshot.get('Contact', id)).toBeUndefined();
    expect(snapshot.get('Account', `${id.slice(0, 31)}${id[31] === '0' ? '1' : '0'}`)).toBeUndefined();
    expect(snapshot.get('Account', 'f'.repeat(32))).toBeUndefined();
    expect(snapshot.get('Account', 'nope')).toBeUndefined();
  });

  it('is deterministic per seed', () => {
    const again = createTenant({ seed: 42, rows: 2000, generatedBefore: BEFORE }).snapshot(BEFORE);
    const other = createTenant({ seed: 43, rows: 2000, generatedBefore: BEFORE }).snapshot(BEFORE);
    for (const object of ['Account', 'InvoiceItem', 'Payment']) {
      const a = [...snapshot.scan(object)].slice(0, 50);
      expect([...again.scan(object)].slice(0, 50)).toEqual(a);
      const b = [...other.scan(object)].slice(0, 50);
      expect(b.map((r) => r.values.Id)).not.toEqual(a.map((r) => r.values.Id));
      expect(b.map((r) => r.values.UpdatedDate)).not.toEqual(a.map((r) => r.values.UpdatedDate));
    }
  });

  it('puts the CSV-hostile values at fixed positions', () => {
    const items = [...snapshot.scan('InvoiceItem')];
    NASTY_TEXTS.forEach((text, k) => {
      expect(items[k]?.values.ChargeName).toBe(text);
      expect(items[k]?.values.ChargeAmount).toBe(NASTY_DECIMALS[k]);
      expect(items[1000 + k]?.values.ChargeName).toBe(text);
    });
    expect(items[NASTY_EMPTY_INDEX]?.values.ServiceStartDate).toBeNull();
    expect(NASTY_TEXTS.some((t) => t.length >= 10_240)).toBe(true);
    const accounts = [...snapshot.scan('Account')];
    expect(accounts[0]?.values.Balance).toBe('12345678901234567890.123456789');
    expect(accounts.some((a) => a.values.Notes === NASTY_TEXTS[5])).toBe(true);
    expect(items.some((i) => String(i.values.ChargeAmount).startsWith('-'))).toBe(true);
  });
});

describe('mutations and snapshots', () => {
  const T0 = BEFORE + 1000;

  it('keeps every snapshot as of its instant', () => {
    const tenant = createTenant({ seed: 5, rows: 400, generatedBefore: BEFORE });
    const id = [...tenant.snapshot(T0).scan('Account')][2]?.values.Id as string;
    const original = tenant.snapshot(T0).get('Account', id)?.values.Name;
    const frozen = tenant.snapshot(T0 + 50);

    tenant.update('Account', id, { Name: 'Renamed, Ltd', Balance: '-1.5' }, T0 + 100);
    const inserted = tenant.insert('account', { Name: 'New "Co"', AutoPay: true }, T0 + 200);
    tenant.remove('Account', id, T0 + 300);

    expect(frozen.get('Account', id)?.values.Name).toBe(original);
    expect(tenant.snapshot(T0 + 99).get('Account', id)?.values.Name).toBe(original);
    const afterUpdate = tenant.snapshot(T0 + 100).get('Account', id);
    expect(afterUpdate?.values).toMatchObject({ Name: 'Renamed, Ltd', Balance: '-1.5', UpdatedDate: T0 + 100 });
    expect(afterUpdate?.updatedAt).toBe(T0 + 100);
    expect(afterUpdate?.deletedAt).toBeUndefined();

    expect(inserted).toMatch(/^[0-9a-f]{32}$/);
    expect(tenant.snapshot(T0 + 199).get('Account', inserted)).toBeUndefined();
    expect(tenant.snapshot(T0 + 199).count('Account')).toBe(frozen.count('Account'));
    const later = tenant.snapshot(T0 + 300);
    expect(later.count('Account')).toBe(frozen.count('Account') + 1);
    expect(later.get('Account', inserted)?.values).toMatchObject({
      Id: inserted,
      Name: 'New "Co"',
      AutoPay: true,
      Balance: null,
      CreatedDate: T0 + 200,
      UpdatedDate: T0 + 200,
    });
    expect([...later.scan('Account')].at(-1)?.values.Id).toBe(inserted);
    expect([...frozen.scan('Account')].some((r) => r.values.Id === inserted)).toBe(false);

    const deleted = [...later.scan('Account')].find((r) => r.values.Id === id);
    expect(deleted?.deletedAt).toBe(T0 + 300);
    expect(deleted?.updatedAt).toBe(T0 + 300);
    expect(deleted?.values.Name).toBe('Renamed, Ltd');
    expect(tenant.snapshot(T0 + 299).get('Account', id)?.deletedAt).toBeUndefined();
  });

  it.each([
    ['unknown object', (t: ReturnType<typeof createTenant>) => t.insert('Nope', {}, T0), /Unknown object "Nope"/],
    ['unknown field', (t: ReturnType<typeof createTenant>) => t.insert('Account', { Nope: 'x' }, T0), /Unknown field "Nope" on object Account/],
    ['setting Id', (t: ReturnType<typeof createTenant>) => t.insert('Account', { Id: 'x' }, T0), /Id is assigned/],
    ['bad decimal', (t: ReturnType<typeof createTenant>) => t.insert('Account', { Balance: '1e5' }, T0), /Account.Balance/],
    ['bad datetime', (t: ReturnType<typeof createTenant>) => t.insert('Invoice', { PostedDate: '2024-01-01' }, T0), /epoch/],
    ['unknown id', (t: ReturnType<typeof createTenant>) => t.update('Account', 'f'.repeat(32), {}, T0), /no such row/],
  ])('throws on %s', (_name, run, message) => {
    const tenant = createTenant({ seed: 5, rows: 100, generatedBefore: BEFORE });
    expect(() => run(tenant)).toThrow(message);
  });

  it('refuses to change a deleted row or to go back in time', () => {
    const tenant = createTenant({ seed: 5, rows: 100, generatedBefore: BEFORE });
    const [first, second] = [...tenant.snapshot(T0).scan('Contact')].map((r) => r.values.Id as string);
    tenant.remove('Contact', first as string, T0 + 10);
    expect(() => tenant.update('Contact', first as string, { City: 'x' }, T0 + 20)).toThrow(/deleted/);
    expect(() => tenant.remove('Contact', first as string, T0 + 20)).toThrow(/deleted/);
    tenant.update('Contact', second as string, { City: 'x' }, T0 + 10);
    expect(() => tenant.update('Contact', second as string, { City: 'y' }, T0 + 5)).toThrow(/clock order/);
  });
});

describe('describe XML', () => {
  it('lists fields with export contexts, picklist options and related objects', () => {
    const account = OBJECTS.find((o) => o.name === 'Account');
    if (account === undefined) throw new Error('no Account');
    const xml = describeXml(account, OBJECTS, 'http://127.0.0.1:1234/');
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?><object><name>Account</name><label>Account</label><fields>')).toBe(true);
    expect(xml).toContain(
      '<field><name>Id</name><label>ID</label><type>text</type><selectable>true</selectable><createable>false</createable>',
    );
    expect(xml).toMatch(/<name>TaxExemptCertificateID<\/name>.*?<contexts><context>soap<\/context><\/contexts>/);
    expect(xml).toMatch(/<name>Balance<\/name><label>Account Balance<\/label><type>decimal<\/type>.*?<context>export<\/context>/);
    expect(xml).toContain('<options><option>Draft</option><option>Active</option><option>Canceled</option></options>');
    expect(xml).toContain(
      '<related-objects><object href="http://127.0.0.1:1234/v1/describe/Contact"><name>BillToContact</name><label>Bill To</label></object>',
    );
    expect(xml.endsWith('</related-objects></object>')).toBe(true);
    const index = describeIndexXml(OBJECTS);
    expect(index).toContain('<object href="https://rest.zuora.com/v1/describe/InvoiceItem"><name>InvoiceItem</name><label>Invoice Item</label></object>');
  });

  it('escapes XML special characters', () => {
    const xml = describeXml(
      { name: 'X', label: 'A & <B>', fields: [{ name: 'F', label: '"q" \'s\'', type: 'text', exportable: true }], related: {}, supportsDeleted: true },
      OBJECTS,
    );
    expect(xml).toContain('<label>A &amp; &lt;B&gt;</label>');
    expect(xml).toContain('<label>&quot;q&quot; &apos;s&apos;</label>');
  });
});
