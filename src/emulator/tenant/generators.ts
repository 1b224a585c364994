// One generator per object: row i of an object is a pure function of (seed, i) and the row counts, and its foreign
// keys point at rows that the parent-index functions below pick, so joins and chains stay consistent.
import type { Value } from '../model.ts';
import { PICKLISTS } from '../schema.ts';
import { hashIndex, Rng } from './random.ts';
import {
  DAY_MS,
  isoDate,
  money,
  NASTY_EMPTY_INDEX,
  NASTY_TEXTS,
  nastyDecimal,
  nastyIndex,
  nastyText,
  pad,
  picklist,
  YEAR_MS,
} from './values.ts';

/** Generated CreatedDate values fall in the three years before `generatedBefore`. */
const HISTORY_MS = 3 * YEAR_MS;

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
export interface GenContext {
  seed: number;
  before: number;
  counts: Record<string, number>;
  idOf(object: string, index: number): string;
  count(object: string): number;
}

export type Generator = (ctx: GenContext, index: number, rng: Rng) => Record<string, Value>;

/** Maps index i of a table with `from` rows onto a table with `to` rows, monotonically (children follow parents). */
function scale(index: number, from: number, to: number): number {
  return Math.min(to - 1, Math.floor((index * to) / from));
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

export const GENERATORS: Record<string, Generator> = {
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
export function countsFor(rows: number): Record<string, number> {
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
