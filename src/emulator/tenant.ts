// The emulated Zuora tenant: generated rows computed on demand from (seed, object, index), plus an overlay of
// versioned mutations so a snapshot sees the tenant exactly as of its instant. Nothing generated is ever stored,
// which keeps memory flat for millions of InvoiceItem rows; only mutated and inserted rows live in memory.

import type { FieldDef, ObjectDef, Snapshot, StoredRow, Tenant, TenantOptions, Value } from './model.ts';
import { OBJECTS, PICKLISTS } from './schema.ts';

const DAY_MS = 86_400_000;
const YEAR_MS = 365 * DAY_MS;
/** Generated CreatedDate values fall in the three years before `generatedBefore`. */
const HISTORY_MS = 3 * YEAR_MS;

/**
 * Values that break naive CSV handling. Row i of every object whose `i % NASTY_PERIOD` is k < length uses
 * NASTY_TEXTS[k] in its main text field (InvoiceItem.ChargeName, Account.Name...) and NASTY_DECIMALS[k] in its main
 * amount (InvoiceItem.ChargeAmount, Account.Balance...). Row k = 7 also has a null right after the empty string.
 */
export const NASTY_PERIOD = 1000;
export const NASTY_TEXTS: readonly string[] = [
  'Acme, Inc.',
  'The "Pro" plan',
  'Line one\r\nLine two',
  'Line one\nLine two',
  'Café 日本 🚀 naïve',
  `Long text ${'0123456789abcdef,"\n'.repeat(539)}end`,
  '  padded value  ',
  '',
  'lone\rcarriage return',
  ' ,"\r\n everything at once "\n, ',
];
export const NASTY_DECIMALS: readonly string[] = [
  '12345678901234567890.123456789',
  '-42.5',
  '0',
  '-0.000000000000000000001',
  '98765432109876543210987654321',
  '-12345678901234567890.123456789',
  '0.1',
  '-1',
  '1000000',
  '3.14159265358979323846264338327950288',
];
/** Row k of NASTY_TEXTS that is the empty string; its next column holds null. */
export const NASTY_EMPTY_INDEX = 7;

function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashIndex(seed: number, code: number, index: number, salt = 0): number {
  let h = mix32((seed ^ 0x9e3779b9) >>> 0);
  h = mix32(h ^ Math.imul(code + 1, 0x27d4eb2f) ^ salt);
  h = mix32(h ^ (index >>> 0));
  h = mix32(h ^ Math.floor(index / 0x1_0000_0000));
  return h;
}

/** mulberry32: tiny, fast and good enough for synthetic data. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(bound: number): number {
    return Math.floor(this.next() * bound);
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error('Rng.pick on an empty list');
    return item;
  }
  chance(probability: number): boolean {
    return this.next() < probability;
  }
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** `YYYY-MM-DD` (UTC) without allocating a Date: days-to-civil from Howard Hinnant's date algorithms. */
function isoDate(ms: number): string {
  const z = Math.floor(ms / DAY_MS) + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${pad(year, 4)}-${month < 10 ? '0' : ''}${month}-${day < 10 ? '0' : ''}${day}`;
}

/** Decimal string from an integer number of hundredths, without trailing zeros (AQuA prints `77.8`, `0`, `-11`). */
function money(hundredths: number): string {
  const negative = hundredths < 0;
  const abs = Math.abs(hundredths);
  const whole = Math.floor(abs / 100);
  const fraction = abs % 100;
  let text = String(whole);
  if (fraction !== 0) text += `.${pad(fraction, 2)}`.replace(/0+$/, '');
  return negative && abs !== 0 ? `-${text}` : text;
}

function picklist(object: string, field: string): readonly string[] {
  const values = PICKLISTS[`${object}.${field}`];
  if (values === undefined) throw new Error(`No picklist values for ${object}.${field}`);
  return values;
}

const FIRST_NAMES = ['Ada', 'Grace', 'Linus', 'Margaret', 'Alan', 'Barbara', 'Ken', 'Frances', 'Dennis', 'Radia'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Torvalds', 'Hamilton', 'Turing', 'Liskov', 'Thompson', 'Allen', 'Ritchie'];
const COMPANY_WORDS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark', 'Wayne', 'Tyrell', 'Soylent'];
const COMPANY_SUFFIXES = ['Ltd', 'Inc', 'GmbH', 'SA', 'Pty Ltd', 'KK', 'LLC'];
const CITIES = ['San Francisco', 'London', 'Berlin', 'Tokyo', 'Sydney', 'Paris', 'Toronto', 'São Paulo'];
const COUNTRIES = ['United States', 'United Kingdom', 'Germany', 'Japan', 'Australia', 'France', 'Canada', 'Brazil'];
const PRODUCT_WORDS = ['Analytics', 'Storage', 'Compute', 'Support', 'Seats', 'Messaging', 'Backup', 'Insights'];
const UOMS = ['Each', 'Seat', 'GB', 'Hour', 'License'];
const ACCOUNT_NOTE = 'Renewal call:\r\n- ask about "seats"\n- EUR, not USD';
const PROCESSING_TYPES = PICKLISTS['InvoiceItem.ProcessingType'] ?? ['Charge'];
/** Zuora user ids for CreatedById/UpdatedById (users are not an exportable object here). */
const USER_IDS = [
  '2c92a0fd55822b4d015590d8a5b07a6e',
  '2c92a0fe5aa2f6b4015aaf8b5ed41b3c',
  '2c92c0f86078c4d4016082e1e8c04f12',
];

/** Everything a row generator needs: counts, id minting and the parent-index functions shared by generators. */
interface GenContext {
  seed: number;
  before: number;
  counts: Record<string, number>;
  idOf(object: string, index: number): string;
  count(object: string): number;
}

type Generator = (ctx: GenContext, index: number, rng: Rng) => Record<string, Value>;

/** Maps index i of a table with `from` rows onto a table with `to` rows, monotonically (children follow parents). */
function scale(index: number, from: number, to: number): number {
  return Math.min(to - 1, Math.floor((index * to) / from));
}

function nastyIndex(index: number): number {
  const k = index % NASTY_PERIOD;
  return k < NASTY_TEXTS.length ? k : -1;
}

function nastyText(index: number, fallback: string): string {
  const k = nastyIndex(index);
  return k < 0 ? fallback : (NASTY_TEXTS[k] ?? fallback);
}

function nastyDecimal(index: number, fallback: string): string {
  const k = nastyIndex(index);
  return k < 0 ? fallback : (NASTY_DECIMALS[k] ?? fallback);
}

function audit(ctx: GenContext, rng: Rng): { created: number; updated: number } {
  const created = Math.floor((ctx.before - HISTORY_MS + rng.next() * (HISTORY_MS - DAY_MS)) / 1000) * 1000;
  const updated = Math.floor((created + rng.next() * (ctx.before - created - 1000)) / 1000) * 1000;
  return { created, updated };
}

function auditValues(ctx: GenContext, object: string, index: number, rng: Rng): Record<string, Value> {
  const { created, updated } = audit(ctx, rng);
  const userId = USER_IDS[rng.int(USER_IDS.length)] ?? null;
  return {
    Id: ctx.idOf(object, index),
    CreatedById: userId,
    CreatedDate: created,
    UpdatedById: userId,
    UpdatedDate: updated,
  };
}

// Parent-index functions, shared so that chains stay consistent (InvoiceItem.SubscriptionId is its charge's).
function ratePlanOfCharge(ctx: GenContext, charge: number): number {
  return scale(charge, ctx.count('RatePlanCharge'), ctx.count('RatePlan'));
}
function subscriptionOfRatePlan(ctx: GenContext, ratePlan: number): number {
  return scale(ratePlan, ctx.count('RatePlan'), ctx.count('Subscription'));
}
function productRatePlanOfRatePlan(ctx: GenContext, ratePlan: number): number {
  return hashIndex(ctx.seed, 99, ratePlan) % ctx.count('ProductRatePlan');
}
function productRatePlanChargeOfCharge(ctx: GenContext, charge: number): number {
  const prp = productRatePlanOfRatePlan(ctx, ratePlanOfCharge(ctx, charge));
  return Math.min(ctx.count('ProductRatePlanCharge') - 1, prp * 2 + (charge & 1));
}
function productOfProductRatePlan(ctx: GenContext, prp: number): number {
  return scale(prp, ctx.count('ProductRatePlan'), ctx.count('Product'));
}
function accountOfInvoice(ctx: GenContext, invoice: number): number {
  return scale(invoice, ctx.count('Invoice'), ctx.count('Account'));
}

const GENERATORS: Record<string, Generator> = {
  Account(ctx, i, rng) {
    const base = auditValues(ctx, 'Account', i, rng);
    const name = `${rng.pick(COMPANY_WORDS)} ${rng.pick(COMPANY_WORDS)} ${rng.pick(COMPANY_SUFFIXES)}`;
    const k = nastyIndex(i);
    return {
      ...base,
      AccountNumber: `A${pad(i + 1, 8)}`,
      Name: nastyText(i, name),
      Balance: nastyDecimal(i, money(rng.int(2_000_000) - 200_000)),
      CreditBalance: money(rng.chance(0.8) ? 0 : rng.int(50_000)),
      Status: rng.pick(picklist('Account', 'Status')),
      Currency: rng.pick(picklist('Account', 'Currency')),
      AutoPay: rng.chance(0.6),
      BillCycleDay: String(1 + rng.int(28)),
      PaymentTerm: rng.pick(['Due Upon Receipt', 'Net 30', 'Net 60']),
      Batch: rng.pick(picklist('Account', 'Batch')),
      CrmId: k === NASTY_EMPTY_INDEX ? null : `0015g0000${pad(rng.int(1_000_000), 7)}`,
      // The long free-text field: every 10th account gets a multi-line note, one in a thousand a 10 KB one.
      Notes: k === 5 ? (NASTY_TEXTS[5] ?? null) : i % 10 === 3 ? ACCOUNT_NOTE : null,
      LastInvoiceDate: isoDate(base.UpdatedDate as number),
      TaxExemptCertificateID: rng.chance(0.1) ? `TX-${rng.int(99999)}` : null,
      BillToId: ctx.idOf('Contact', Math.min(ctx.count('Contact') - 1, i * 2)),
      SoldToId: ctx.idOf('Contact', Math.min(ctx.count('Contact') - 1, i * 2 + 1)),
      ParentId: i % 7 === 6 ? ctx.idOf('Account', i - 1) : null,
    };
  },
  Contact(ctx, i, rng) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const city = rng.int(CITIES.length);
    return {
      ...auditValues(ctx, 'Contact', i, rng),
      FirstName: nastyText(i, first),
      LastName: last,
      WorkEmail: `${first.toLowerCase()}.${last.toLowerCase()}${i}@example.com`,
      WorkPhone: `+1 415 555 ${pad(rng.int(10000), 4)}`,
      Address1: `${1 + rng.int(999)} Market St, Suite ${rng.int(900)}`,
      City: CITIES[city] ?? null,
      State: null,
      PostalCode: pad(rng.int(100000), 5),
      Country: COUNTRIES[city] ?? null,
      Description: i % 5 === 0 ? 'Primary billing contact\nCall before 5pm' : null,
      AccountId: ctx.idOf('Account', Math.min(ctx.count('Account') - 1, i >> 1)),
    };
  },
  Product(ctx, i, rng) {
    const base = auditValues(ctx, 'Product', i, rng);
    return {
      ...base,
      Name: nastyText(i, `${PRODUCT_WORDS[i % PRODUCT_WORDS.length] ?? 'Product'} ${Math.floor(i / 8) + 1}`),
      SKU: `SKU-${pad(i + 1, 8)}`,
      Description: rng.chance(0.5) ? 'Includes "premium" support, 24/7' : null,
      Category: rng.pick(picklist('Product', 'Category')),
      EffectiveStartDate: isoDate(base.CreatedDate as number),
      EffectiveEndDate: '2099-12-31',
    };
  },
  ProductRatePlan(ctx, i, rng) {
    const base = auditValues(ctx, 'ProductRatePlan', i, rng);
    return {
      ...base,
      Name: nastyText(i, `${['Monthly', 'Annual', 'Enterprise'][i % 3] ?? 'Plan'} plan ${i + 1}`),
      Description: null,
      EffectiveStartDate: isoDate(base.CreatedDate as number),
      EffectiveEndDate: rng.chance(0.2) ? isoDate((base.CreatedDate as number) + 2 * YEAR_MS) : '2099-12-31',
      ProductId: ctx.idOf('Product', productOfProductRatePlan(ctx, i)),
    };
  },
  ProductRatePlanCharge(ctx, i, rng) {
    return {
      ...auditValues(ctx, 'ProductRatePlanCharge', i, rng),
      Name: nastyText(i, `${rng.pick(PRODUCT_WORDS)} charge ${i + 1}`),
      ChargeModel: rng.pick(picklist('ProductRatePlanCharge', 'ChargeModel')),
      ChargeType: rng.pick(picklist('ProductRatePlanCharge', 'ChargeType')),
      BillingPeriod: rng.pick(picklist('ProductRatePlanCharge', 'BillingPeriod')),
      TaxMode: rng.pick(picklist('ProductRatePlanCharge', 'TaxMode')),
      DefaultQuantity: nastyDecimal(i, String(1 + rng.int(10))),
      ProductRatePlanId: ctx.idOf('ProductRatePlan', Math.min(ctx.count('ProductRatePlan') - 1, i >> 1)),
    };
  },
  Subscription(ctx, i, rng) {
    const base = auditValues(ctx, 'Subscription', i, rng);
    const start = base.CreatedDate as number;
    const termed = rng.chance(0.7);
    return {
      ...base,
      Name: `A-S${pad(i + 1, 8)}`,
      Status: rng.pick(picklist('Subscription', 'Status')),
      TermType: termed ? 'TERMED' : 'EVERGREEN',
      ContractEffectiveDate: isoDate(start),
      SubscriptionStartDate: isoDate(start),
      SubscriptionEndDate: termed ? isoDate(start + YEAR_MS) : null,
      AutoRenew: rng.chance(0.5),
      Version: String(1 + rng.int(5)),
      Notes: nastyIndex(i) < 0 ? null : nastyText(i, ''),
      AccountId: ctx.idOf('Account', scale(i, ctx.count('Subscription'), ctx.count('Account'))),
    };
  },
  RatePlan(ctx, i, rng) {
    return {
      ...auditValues(ctx, 'RatePlan', i, rng),
      Name: nastyText(i, `${rng.pick(PRODUCT_WORDS)} plan`),
      AmendmentType: rng.chance(0.8) ? null : rng.pick(picklist('RatePlan', 'AmendmentType')),
      SubscriptionId: ctx.idOf('Subscription', subscriptionOfRatePlan(ctx, i)),
      ProductRatePlanId: ctx.idOf('ProductRatePlan', productRatePlanOfRatePlan(ctx, i)),
    };
  },
  RatePlanCharge(ctx, i, rng) {
    const base = auditValues(ctx, 'RatePlanCharge', i, rng);
    const ratePlan = ratePlanOfCharge(ctx, i);
    const quantity = 1 + rng.int(20);
    const price = rng.int(100_000);
    return {
      ...base,
      Name: nastyText(i, `${rng.pick(PRODUCT_WORDS)} fee`),
      ChargeNumber: `C-${pad(i + 1, 8)}`,
      ChargeModel: rng.pick(picklist('RatePlanCharge', 'ChargeModel')),
      ChargeType: rng.pick(picklist('RatePlanCharge', 'ChargeType')),
      Quantity: String(quantity),
      MRR: nastyDecimal(i, money(price)),
      TCV: money(price * 12),
      EffectiveStartDate: isoDate(base.CreatedDate as number),
      EffectiveEndDate: isoDate((base.CreatedDate as number) + YEAR_MS),
      IsLastSegment: rng.chance(0.9),
      RatePlanId: ctx.idOf('RatePlan', ratePlan),
      SubscriptionId: ctx.idOf('Subscription', subscriptionOfRatePlan(ctx, ratePlan)),
      ProductRatePlanChargeId: ctx.idOf('ProductRatePlanCharge', productRatePlanChargeOfCharge(ctx, i)),
    };
  },
  Invoice(ctx, i, rng) {
    const base = auditValues(ctx, 'Invoice', i, rng);
    const account = accountOfInvoice(ctx, i);
    const amount = rng.int(500_000);
    const posted = rng.chance(0.8);
    return {
      ...base,
      InvoiceNumber: `INV${pad(i + 1, 8)}`,
      InvoiceDate: isoDate(base.CreatedDate as number),
      DueDate: isoDate((base.CreatedDate as number) + 30 * DAY_MS),
      Amount: nastyDecimal(i, money(amount)),
      Balance: money(rng.chance(0.7) ? 0 : amount),
      TaxAmount: money(Math.floor(amount / 10)),
      Status: posted ? 'Posted' : rng.pick(['Draft', 'Canceled']),
      PostedDate: posted ? (base.UpdatedDate as number) : null,
      Comments: nastyIndex(i) < 0 ? null : nastyText(i, ''),
      AccountId: ctx.idOf('Account', account),
      BillToContactId: ctx.idOf('Contact', Math.min(ctx.count('Contact') - 1, account * 2)),
    };
  },
  InvoiceItem(ctx, i, rng) {
    // The hot path (millions of rows): one object literal in a fixed shape, no spreads.
    const { created, updated } = audit(ctx, rng);
    const userId = USER_IDS[rng.int(USER_IDS.length)] ?? null;
    const n = ctx.count('InvoiceItem');
    const invoice = scale(i, n, ctx.count('Invoice'));
    const charge = scale(i, n, ctx.count('RatePlanCharge'));
    const ratePlan = ratePlanOfCharge(ctx, charge);
    const product = productOfProductRatePlan(ctx, productRatePlanOfRatePlan(ctx, ratePlan));
    const processing = rng.chance(0.85) ? 'Charge' : rng.pick(PROCESSING_TYPES);
    const quantity = 1 + rng.int(50);
    const unit = rng.int(20_000);
    const sign = processing === 'Discount' ? -1 : 1;
    const amount = sign * quantity * unit;
    const serviceStart = created - rng.int(30) * DAY_MS;
    const k = nastyIndex(i);
    return {
      Id: ctx.idOf('InvoiceItem', i),
      ChargeAmount: nastyDecimal(i, money(amount)),
      ChargeDate: created,
      ChargeName: nastyText(i, `${PRODUCT_WORDS[product % PRODUCT_WORDS.length] ?? 'Product'} usage`),
      // Right after the empty ChargeName of the nasty row: a null, so '' and null sit side by side.
      ServiceStartDate: k === NASTY_EMPTY_INDEX ? null : isoDate(serviceStart),
      ServiceEndDate: isoDate(serviceStart + 30 * DAY_MS),
      Quantity: String(quantity),
      UnitPrice: money(unit),
      TaxAmount: processing === 'Tax' ? money(Math.floor(Math.abs(amount) / 10)) : '0',
      SKU: `SKU-${pad(product + 1, 8)}`,
      ProcessingType: processing,
      UOM: rng.pick(UOMS),
      Description: rng.chance(0.3) ? 'Prorated, partial period' : null,
      InvoiceId: ctx.idOf('Invoice', invoice),
      AccountId: ctx.idOf('Account', accountOfInvoice(ctx, invoice)),
      SubscriptionId: ctx.idOf('Subscription', subscriptionOfRatePlan(ctx, ratePlan)),
      RatePlanChargeId: ctx.idOf('RatePlanCharge', charge),
      ProductId: ctx.idOf('Product', product),
      CreatedById: userId,
      CreatedDate: created,
      UpdatedById: userId,
      UpdatedDate: updated,
    };
  },
  Payment(ctx, i, rng) {
    const base = auditValues(ctx, 'Payment', i, rng);
    const amount = rng.int(500_000);
    return {
      ...base,
      PaymentNumber: `P-${pad(i + 1, 8)}`,
      Amount: nastyDecimal(i, money(amount)),
      AppliedAmount: money(rng.chance(0.9) ? amount : 0),
      EffectiveDate: isoDate(base.CreatedDate as number),
      Status: rng.pick(picklist('Payment', 'Status')),
      Type: rng.pick(picklist('Payment', 'Type')),
      ReferenceId: rng.chance(0.5) ? `ch_${(hashIndex(ctx.seed, 77, i) >>> 0).toString(36)}` : null,
      Comment: nastyIndex(i) < 0 ? null : nastyText(i, ''),
      AccountId: ctx.idOf('Account', scale(i, ctx.count('Payment'), ctx.count('Account'))),
    };
  },
  PaymentTransactionLog(ctx, i, rng) {
    const base = auditValues(ctx, 'PaymentTransactionLog', i, rng);
    return {
      ...base,
      TransactionDate: base.CreatedDate as number,
      GatewayState: rng.pick(picklist('PaymentTransactionLog', 'GatewayState')),
      GatewayReasonCode: rng.chance(0.9) ? '00' : nastyText(i, 'card_declined'),
      Amount: money(rng.int(500_000)),
      PaymentId: ctx.idOf('Payment', Math.min(ctx.count('Payment') - 1, i)),
    };
  },
};

/** Row counts per object for `rows` InvoiceItems; every object gets at least MIN_ROWS. */
const MIN_ROWS = 12;
function countsFor(rows: number): Record<string, number> {
  const n = Math.max(MIN_ROWS, Math.floor(rows));
  const at = (value: number) => Math.max(MIN_ROWS, Math.ceil(value));
  const accounts = at(n / 40);
  const products = at(Math.min(200, n / 2000));
  const productRatePlans = products * 3;
  const payments = at(n / 8);
  return {
    InvoiceItem: n,
    Invoice: at(n / 4),
    Account: accounts,
    Contact: accounts * 2,
    Product: products,
    ProductRatePlan: productRatePlans,
    ProductRatePlanCharge: productRatePlans * 2,
    Subscription: at(n / 20),
    RatePlan: at(n / 10),
    RatePlanCharge: at(n / 5),
    Payment: payments,
    PaymentTransactionLog: payments,
  };
}

interface Version {
  at: number;
  values: Record<string, Value>;
  deletedAt: number | undefined;
}

const ID_LENGTH = 32;
const KIND_GENERATED = '0';
const KIND_INSERTED = '1';

function checkValueType(object: string, def: FieldDef, value: Value): void {
  if (value === null) return;
  const where = `${object}.${def.name}`;
  const fail = (expected: string): never => {
    throw new Error(`Invalid value ${JSON.stringify(value)} for ${where} (${def.type}): expected ${expected}`);
  };
  switch (def.type) {
    case 'boolean':
      if (typeof value !== 'boolean') fail('true or false');
      break;
    case 'datetime':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail('epoch milliseconds');
      break;
    case 'decimal':
      if (typeof value !== 'string' || !/^-?\d+(\.\d+)?$/.test(value)) fail('a decimal string such as "-12.50"');
      break;
    case 'integer':
      if (typeof value !== 'string' || !/^-?\d+$/.test(value)) fail('a string of digits');
      break;
    case 'date':
      if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) fail('a YYYY-MM-DD string');
      break;
    case 'text':
    case 'picklist':
      if (typeof value !== 'string') fail('a string');
      break;
  }
}

export function createTenant(options: TenantOptions): Tenant {
  if (!Number.isFinite(options.seed)) throw new Error(`createTenant: seed must be a finite number`);
  if (!Number.isFinite(options.rows) || options.rows < 0) {
    throw new Error(`createTenant: rows must be a non-negative number, got ${options.rows}`);
  }
  if (!Number.isFinite(options.generatedBefore)) throw new Error('createTenant: generatedBefore must be epoch ms');

  const seed = options.seed >>> 0;
  const counts = countsFor(options.rows);
  const codes = new Map<string, number>(OBJECTS.map((def, index) => [def.name, index + 1]));
  const byLowerName = new Map<string, ObjectDef>(OBJECTS.map((def) => [def.name.toLowerCase(), def]));
  const tagWord = mix32(seed ^ 0x5bd1e995);
  const tag = tagWord.toString(16).padStart(8, '0');
  const codeHex = ['00', ...OBJECTS.map((_, index) => (index + 1).toString(16).padStart(2, '0'))];

  function codeOf(object: string): number {
    const code = codes.get(object);
    if (code === undefined) throw new Error(`Unknown object "${object}"`);
    return code;
  }

  function mintId(object: string, kind: string, index: number): string {
    const code = codeOf(object);
    // The check word makes ids look random and lets get() reject forged ones; one mix is enough for that.
    const salt = kind === KIND_INSERTED ? 0x5555 : 0;
    const check = mix32(tagWord ^ Math.imul(code, 0x9e3779b1) ^ Math.imul(index | 0, 0x85ebca6b) ^ salt)
      .toString(16)
      .padStart(8, '0');
    return `${tag}${codeHex[code] ?? ''}${kind}${index.toString(16).padStart(13, '0')}${check}`;
  }

  /** The generated index encoded in `id`, or undefined when `id` is not a generated id of `object`. */
  function generatedIndex(object: string, id: string): number | undefined {
    if (id.length !== ID_LENGTH || !id.startsWith(tag)) return undefined;
    if (id.slice(8, 10) !== codeHex[codeOf(object)] || id[10] !== KIND_GENERATED) {
      return undefined;
    }
    const indexHex = id.slice(11, 24);
    if (!/^[0-9a-f]{13}$/.test(indexHex)) return undefined;
    const index = parseInt(indexHex, 16);
    if (index >= (counts[object] ?? 0) || mintId(object, KIND_GENERATED, index) !== id) return undefined;
    return index;
  }

  const ctx: GenContext = {
    seed,
    before: options.generatedBefore,
    counts,
    idOf: (object, index) => mintId(object, KIND_GENERATED, index),
    count: (object) => counts[object] ?? 0,
  };

  function generate(object: string, index: number): StoredRow {
    const generator = GENERATORS[object];
    if (generator === undefined) throw new Error(`No generator for object "${object}"`);
    const values = generator(ctx, index, new Rng(hashIndex(seed, codeOf(object), index)));
    return { values, updatedAt: values.UpdatedDate as number, deletedAt: undefined };
  }

  // Overlay: object -> id -> versions in clock order; inserted ids per object in insertion order.
  const overlays = new Map<string, Map<string, Version[]>>(OBJECTS.map((def) => [def.name, new Map()]));
  const inserted = new Map<string, string[]>(OBJECTS.map((def) => [def.name, []]));

  function resolve(name: string): ObjectDef {
    const def = byLowerName.get(name.toLowerCase());
    if (def === undefined) {
      throw new Error(`Unknown object "${name}": known objects are ${OBJECTS.map((o) => o.name).join(', ')}`);
    }
    return def;
  }

  function overlayOf(object: string): Map<string, Version[]> {
    const overlay = overlays.get(object);
    if (overlay === undefined) throw new Error(`Unknown object "${object}"`);
    return overlay;
  }

  function versionAt(versions: readonly Version[], at: number): Version | undefined {
    for (let i = versions.length - 1; i >= 0; i--) {
      const version = versions[i];
      if (version !== undefined && version.at <= at) return version;
    }
    return undefined;
  }

  function fromVersion(version: Version): StoredRow {
    return { values: version.values, updatedAt: Math.max(version.at, version.values.UpdatedDate as number), deletedAt: version.deletedAt };
  }

  /** Row state as of `at`: overlay version, else the generated row, else undefined (unknown or not yet inserted). */
  function rowAt(object: string, id: string, at: number): StoredRow | undefined {
    const versions = overlayOf(object).get(id);
    if (versions !== undefined) {
      const version = versionAt(versions, at);
      if (version !== undefined) return fromVersion(version);
    }
    const index = generatedIndex(object, id);
    return index === undefined ? undefined : generate(object, index);
  }

  function normaliseValues(def: ObjectDef, values: Record<string, Value>): Record<string, Value> {
    const out: Record<string, Value> = {};
    for (const [key, value] of Object.entries(values)) {
      const fieldDef = def.fields.find((f) => f.name.toLowerCase() === key.toLowerCase());
      if (fieldDef === undefined) {
        throw new Error(
          `Unknown field "${key}" on object ${def.name}: known fields are ${def.fields.map((f) => f.name).join(', ')}`,
        );
      }
      if (fieldDef.name === 'Id') throw new Error(`${def.name}.Id is assigned by the tenant and cannot be set`);
      checkValueType(def.name, fieldDef, value);
      out[fieldDef.name] = value;
    }
    return out;
  }

  /** Latest state of an existing row (for mutations), checking the clock does not go backwards. */
  function latest(def: ObjectDef, id: string, at: number, action: string): StoredRow {
    const versions = overlayOf(def.name).get(id);
    const last = versions?.[versions.length - 1];
    if (last !== undefined && at < last.at) {
      throw new Error(
        `Cannot ${action} ${def.name} ${id} at ${at}: it already changed at ${last.at} (mutations go in clock order)`,
      );
    }
    const row = rowAt(def.name, id, Number.POSITIVE_INFINITY);
    if (row === undefined) throw new Error(`Cannot ${action} ${def.name} ${id}: no such row`);
    if (row.deletedAt !== undefined) {
      throw new Error(`Cannot ${action} ${def.name} ${id}: it was deleted at ${row.deletedAt}`);
    }
    return row;
  }

  function pushVersion(object: string, id: string, version: Version): void {
    const overlay = overlayOf(object);
    const versions = overlay.get(id);
    if (versions === undefined) overlay.set(id, [version]);
    else versions.push(version);
  }

  function snapshot(at: number): Snapshot {
    return {
      at,
      *scan(name: string): Iterable<StoredRow> {
        const def = resolve(name);
        const overlay = overlayOf(def.name);
        const total = counts[def.name] ?? 0;
        for (let index = 0; index < total; index++) {
          const row = generate(def.name, index);
          if (overlay.size > 0) {
            const versions = overlay.get(row.values.Id as string);
            const version = versions === undefined ? undefined : versionAt(versions, at);
            if (version !== undefined) {
              yield fromVersion(version);
              continue;
            }
          }
          yield row;
        }
        for (const id of inserted.get(def.name) ?? []) {
          const versions = overlay.get(id);
          const version = versions === undefined ? undefined : versionAt(versions, at);
          if (version !== undefined) yield fromVersion(version);
        }
      },
      get(name: string, id: string): StoredRow | undefined {
        return rowAt(resolve(name).name, id, at);
      },
      count(name: string): number {
        const def = resolve(name);
        const overlay = overlayOf(def.name);
        let visible = 0;
        for (const id of inserted.get(def.name) ?? []) {
          const versions = overlay.get(id);
          if (versions !== undefined && versionAt(versions, at) !== undefined) visible++;
        }
        return (counts[def.name] ?? 0) + visible;
      },
    };
  }

  return {
    objects: OBJECTS,
    object: (name) => byLowerName.get(name.toLowerCase()),
    snapshot,
    insert(name, values, at) {
      const def = resolve(name);
      const given = normaliseValues(def, values);
      const ids = inserted.get(def.name) ?? [];
      const id = mintId(def.name, KIND_INSERTED, ids.length);
      const row: Record<string, Value> = {};
      for (const f of def.fields) row[f.name] = given[f.name] ?? null;
      row.Id = id;
      row.CreatedDate = given.CreatedDate ?? at;
      row.UpdatedDate = at;
      ids.push(id);
      inserted.set(def.name, ids);
      pushVersion(def.name, id, { at, values: row, deletedAt: undefined });
      return id;
    },
    update(name, id, values, at) {
      const def = resolve(name);
      const given = normaliseValues(def, values);
      const current = latest(def, id, at, 'update');
      pushVersion(def.name, id, { at, values: { ...current.values, ...given, UpdatedDate: at }, deletedAt: undefined });
    },
    remove(name, id, at) {
      const def = resolve(name);
      const current = latest(def, id, at, 'delete');
      const values = options.deleteMovesUpdatedDate === false ? current.values : { ...current.values, UpdatedDate: at };
      pushVersion(def.name, id, { at, values, deletedAt: at });
    },
  };
}
