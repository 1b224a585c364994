// The synthetic Zuora tenant schema the emulator serves: object and field API names, labels and types modelled on
// Zuora's describe output (`GET /v1/describe/{Object}`), foreign keys with `references`, and the relationship names
// Export ZOQL joins through. Generated data (tenant.ts) and the describe XML (describe.ts) both read from here.

import type { FieldDef, FieldType, ObjectDef } from './model.ts';

interface FieldOptions {
  references?: string;
  exportable?: boolean;
}

function field(name: string, label: string, type: FieldType, options: FieldOptions = {}): FieldDef {
  const def: FieldDef = { name, label, type, exportable: options.exportable ?? true };
  if (options.references !== undefined) def.references = options.references;
  return def;
}

function fk(name: string, label: string, references: string, exportable = true): FieldDef {
  return field(name, label, 'text', { references, exportable });
}

/** Every Zuora object carries these audit fields; Id first, dates last, as describe lists them. */
function withAudit(fields: FieldDef[]): FieldDef[] {
  return [
    field('Id', 'ID', 'text'),
    ...fields,
    field('CreatedById', 'Created By ID', 'text'),
    field('CreatedDate', 'Created Date', 'datetime'),
    field('UpdatedById', 'Updated By ID', 'text'),
    field('UpdatedDate', 'Updated Date', 'datetime'),
  ];
}

/** An object the emulated tenant serves and generates rows for. */
export interface SchemaObject extends ObjectDef {
  /**
   * Minted into every id of the object (tenant/ids.ts) and seeding its generated rows: unique, and never changed,
   * or every generated id and value of the object changes with it. A new object takes the next unused code.
   */
  code: number;
}

interface ObjectHead {
  code: number;
  name: string;
  label: string;
  /** False for objects Zuora cannot export deleted rows for (docs/aqua.md#deleted-rows). */
  supportsDeleted?: boolean;
}

function object(head: ObjectHead, fields: FieldDef[], related: ObjectDef['related']): SchemaObject {
  const { code, name, label, supportsDeleted = true } = head;
  return { code, name, label, fields: withAudit(fields), related, supportsDeleted };
}

export const OBJECTS: SchemaObject[] = [
  object(
    { code: 1, name: 'Account', label: 'Account' },
    [
      field('AccountNumber', 'Account Number', 'text'),
      field('Name', 'Account Name', 'text'),
      field('Balance', 'Account Balance', 'decimal'),
      field('CreditBalance', 'Credit Balance', 'decimal'),
      field('Status', 'Status', 'picklist'),
      field('Currency', 'Currency', 'picklist'),
      field('AutoPay', 'Auto Pay', 'boolean'),
      field('BillCycleDay', 'Bill Cycle Day', 'integer'),
      field('PaymentTerm', 'Payment Term', 'text'),
      field('Batch', 'Batch', 'picklist'),
      field('CrmId', 'CRM Account ID', 'text'),
      field('Notes', 'Notes', 'text'),
      field('LastInvoiceDate', 'Last Invoice Date', 'date'),
      // Zuora's describe lists fields that AQuA cannot export (no `export` context); selecting one fails.
      field('TaxExemptCertificateID', 'Tax Exempt Certificate ID', 'text', { exportable: false }),
      fk('BillToId', 'Bill To ID', 'Contact'),
      fk('SoldToId', 'Sold To ID', 'Contact'),
      fk('ParentId', 'Parent Account ID', 'Account'),
    ],
    {
      BillToContact: { object: 'Contact', via: 'BillToId' },
      SoldToContact: { object: 'Contact', via: 'SoldToId' },
      ParentAccount: { object: 'Account', via: 'ParentId' },
    },
  ),
  object(
    { code: 2, name: 'Contact', label: 'Contact' },
    [
      field('FirstName', 'First Name', 'text'),
      field('LastName', 'Last Name', 'text'),
      field('WorkEmail', 'Work Email', 'text'),
      field('WorkPhone', 'Work Phone', 'text'),
      field('Address1', 'Address 1', 'text'),
      field('City', 'City', 'text'),
      field('State', 'State/Province', 'text'),
      field('PostalCode', 'Postal Code', 'text'),
      field('Country', 'Country', 'text'),
      field('Description', 'Description', 'text'),
      fk('AccountId', 'Account ID', 'Account'),
    ],
    { Account: { object: 'Account', via: 'AccountId' } },
  ),
  object(
    { code: 3, name: 'Product', label: 'Product' },
    [
      field('Name', 'Product Name', 'text'),
      field('SKU', 'SKU', 'text'),
      field('Description', 'Description', 'text'),
      field('Category', 'Product Category', 'picklist'),
      field('EffectiveStartDate', 'Effective Start Date', 'date'),
      field('EffectiveEndDate', 'Effective End Date', 'date'),
    ],
    {},
  ),
  object(
    { code: 4, name: 'ProductRatePlan', label: 'Product Rate Plan' },
    [
      field('Name', 'Product Rate Plan Name', 'text'),
      field('Description', 'Description', 'text'),
      field('EffectiveStartDate', 'Effective Start Date', 'date'),
      field('EffectiveEndDate', 'Effective End Date', 'date'),
      fk('ProductId', 'Product ID', 'Product'),
    ],
    { Product: { object: 'Product', via: 'ProductId' } },
  ),
  object(
    { code: 5, name: 'ProductRatePlanCharge', label: 'Product Rate Plan Charge' },
    [
      field('Name', 'Product Rate Plan Charge Name', 'text'),
      field('ChargeModel', 'Charge Model', 'picklist'),
      field('ChargeType', 'Charge Type', 'picklist'),
      field('BillingPeriod', 'Billing Period', 'picklist'),
      field('TaxMode', 'Tax Mode', 'picklist'),
      field('DefaultQuantity', 'Default Quantity', 'decimal'),
      fk('ProductRatePlanId', 'Product Rate Plan ID', 'ProductRatePlan'),
    ],
    { ProductRatePlan: { object: 'ProductRatePlan', via: 'ProductRatePlanId' } },
  ),
  object(
    { code: 6, name: 'Subscription', label: 'Subscription' },
    [
      field('Name', 'Subscription Number', 'text'),
      field('Status', 'Status', 'picklist'),
      field('TermType', 'Term Type', 'picklist'),
      field('ContractEffectiveDate', 'Contract Effective Date', 'date'),
      field('SubscriptionStartDate', 'Subscription Start Date', 'date'),
      field('SubscriptionEndDate', 'Subscription End Date', 'date'),
      field('AutoRenew', 'Auto Renew', 'boolean'),
      field('Version', 'Version', 'integer'),
      field('Notes', 'Notes', 'text'),
      fk('AccountId', 'Account ID', 'Account'),
    ],
    { Account: { object: 'Account', via: 'AccountId' } },
  ),
  object(
    { code: 7, name: 'RatePlan', label: 'Rate Plan' },
    [
      field('Name', 'Rate Plan Name', 'text'),
      field('AmendmentType', 'Amendment Type', 'picklist'),
      fk('SubscriptionId', 'Subscription ID', 'Subscription'),
      fk('ProductRatePlanId', 'Product Rate Plan ID', 'ProductRatePlan'),
    ],
    {
      Subscription: { object: 'Subscription', via: 'SubscriptionId' },
      ProductRatePlan: { object: 'ProductRatePlan', via: 'ProductRatePlanId' },
    },
  ),
  object(
    { code: 8, name: 'RatePlanCharge', label: 'Rate Plan Charge' },
    [
      field('Name', 'Rate Plan Charge Name', 'text'),
      field('ChargeNumber', 'Charge Number', 'text'),
      field('ChargeModel', 'Charge Model', 'picklist'),
      field('ChargeType', 'Charge Type', 'picklist'),
      field('Quantity', 'Quantity', 'decimal'),
      field('MRR', 'MRR', 'decimal'),
      field('TCV', 'Total Contract Value', 'decimal'),
      field('EffectiveStartDate', 'Effective Start Date', 'date'),
      field('EffectiveEndDate', 'Effective End Date', 'date'),
      field('IsLastSegment', 'Is Last Segment', 'boolean'),
      fk('RatePlanId', 'Rate Plan ID', 'RatePlan'),
      fk('SubscriptionId', 'Subscription ID', 'Subscription', false),
      fk('ProductRatePlanChargeId', 'Product Rate Plan Charge ID', 'ProductRatePlanCharge'),
    ],
    {
      RatePlan: { object: 'RatePlan', via: 'RatePlanId' },
      Subscription: { object: 'Subscription', via: 'SubscriptionId' },
      ProductRatePlanCharge: { object: 'ProductRatePlanCharge', via: 'ProductRatePlanChargeId' },
    },
  ),
  object(
    { code: 9, name: 'Invoice', label: 'Invoice' },
    [
      field('InvoiceNumber', 'Invoice Number', 'text'),
      field('InvoiceDate', 'Invoice Date', 'date'),
      field('DueDate', 'Due Date', 'date'),
      field('Amount', 'Amount', 'decimal'),
      field('Balance', 'Balance', 'decimal'),
      field('TaxAmount', 'Tax Amount', 'decimal'),
      field('Status', 'Status', 'picklist'),
      field('PostedDate', 'Posted Date', 'datetime'),
      field('Comments', 'Comments', 'text'),
      fk('AccountId', 'Account ID', 'Account'),
      fk('BillToContactId', 'Bill To Contact ID', 'Contact'),
    ],
    {
      Account: { object: 'Account', via: 'AccountId' },
      BillToContact: { object: 'Contact', via: 'BillToContactId' },
    },
  ),
  object(
    { code: 10, name: 'InvoiceItem', label: 'Invoice Item' },
    [
      field('ChargeAmount', 'Charge Amount', 'decimal'),
      field('ChargeDate', 'Charge Date', 'datetime'),
      field('ChargeName', 'Charge Name', 'text'),
      field('ServiceStartDate', 'Service Start Date', 'date'),
      field('ServiceEndDate', 'Service End Date', 'date'),
      field('Quantity', 'Quantity', 'decimal'),
      field('UnitPrice', 'Unit Price', 'decimal'),
      field('TaxAmount', 'Tax Amount', 'decimal'),
      field('SKU', 'SKU', 'text'),
      field('ProcessingType', 'Processing Type', 'picklist'),
      field('UOM', 'Unit of Measure', 'text'),
      field('Description', 'Description', 'text', { exportable: false }),
      fk('InvoiceId', 'Invoice ID', 'Invoice'),
      fk('AccountId', 'Account ID', 'Account'),
      fk('SubscriptionId', 'Subscription ID', 'Subscription'),
      fk('RatePlanChargeId', 'Rate Plan Charge ID', 'RatePlanCharge'),
      // Zuora joins Product to InvoiceItem through the charge chain; the emulator keeps a direct key for it.
      fk('ProductId', 'Product ID', 'Product', false),
    ],
    {
      Invoice: { object: 'Invoice', via: 'InvoiceId' },
      Account: { object: 'Account', via: 'AccountId' },
      Subscription: { object: 'Subscription', via: 'SubscriptionId' },
      RatePlanCharge: { object: 'RatePlanCharge', via: 'RatePlanChargeId' },
      Product: { object: 'Product', via: 'ProductId' },
    },
  ),
  object(
    { code: 11, name: 'Payment', label: 'Payment' },
    [
      field('PaymentNumber', 'Payment Number', 'text'),
      field('Amount', 'Payment Amount', 'decimal'),
      field('AppliedAmount', 'Applied Amount', 'decimal'),
      field('EffectiveDate', 'Effective Date', 'date'),
      field('Status', 'Status', 'picklist'),
      field('Type', 'Type', 'picklist'),
      field('ReferenceId', 'Reference ID', 'text'),
      field('Comment', 'Comment', 'text'),
      fk('AccountId', 'Account ID', 'Account'),
    ],
    { Account: { object: 'Account', via: 'AccountId' } },
  ),
  object(
    // Zuora keeps no deleted records for transaction logs (docs/aqua.md#deleted-rows): asking is error 90017.
    { code: 12, name: 'PaymentTransactionLog', label: 'Payment Transaction Log', supportsDeleted: false },
    [
      field('TransactionDate', 'Transaction Date', 'datetime'),
      field('GatewayState', 'Gateway State', 'picklist'),
      field('GatewayReasonCode', 'Gateway Reason Code', 'text'),
      field('Amount', 'Amount', 'decimal'),
      fk('PaymentId', 'Payment ID', 'Payment'),
    ],
    { Payment: { object: 'Payment', via: 'PaymentId' } },
  ),
];

/** Display labels of relationship names whose label is not the target object's label (`Bill To: ID`). */
const RELATION_LABELS: Record<string, string> = {
  BillToContact: 'Bill To',
  SoldToContact: 'Sold To',
  ParentAccount: 'Parent Account',
};

/** The label of a relationship as used in describe `<related-objects>` and in label CSV headers. */
export function relationLabel(relationName: string, target: ObjectDef): string {
  return RELATION_LABELS[relationName] ?? target.label;
}

/** Picklist values listed in describe `<options>` and used by the generator. Keyed `Object.Field`. */
export const PICKLISTS: Record<string, readonly string[]> = {
  'Account.Status': ['Draft', 'Active', 'Canceled'],
  'Account.Currency': ['USD', 'EUR', 'GBP', 'JPY', 'AUD'],
  'Account.Batch': ['Batch1', 'Batch2', 'Batch3'],
  'Product.Category': ['Base Products', 'Add On Services', 'Miscellaneous Products'],
  'ProductRatePlanCharge.ChargeModel': ['Flat Fee Pricing', 'Per Unit Pricing', 'Tiered Pricing', 'Volume Pricing'],
  'ProductRatePlanCharge.ChargeType': ['OneTime', 'Recurring', 'Usage'],
  'ProductRatePlanCharge.BillingPeriod': ['Month', 'Quarter', 'Annual', 'Semi-Annual'],
  'ProductRatePlanCharge.TaxMode': ['TaxExclusive', 'TaxInclusive'],
  'Subscription.Status': ['Draft', 'Active', 'Cancelled', 'Expired', 'Suspended'],
  'Subscription.TermType': ['TERMED', 'EVERGREEN'],
  'RatePlan.AmendmentType': ['NewProduct', 'UpdateProduct', 'RemoveProduct'],
  'RatePlanCharge.ChargeModel': ['Flat Fee Pricing', 'Per Unit Pricing', 'Tiered Pricing', 'Volume Pricing'],
  'RatePlanCharge.ChargeType': ['OneTime', 'Recurring', 'Usage'],
  'Invoice.Status': ['Draft', 'Posted', 'Canceled'],
  'InvoiceItem.ProcessingType': ['Charge', 'Discount', 'Tax', 'Rounding'],
  'Payment.Status': ['Draft', 'Processing', 'Processed', 'Error', 'Canceled', 'Posted'],
  'Payment.Type': ['External', 'Electronic'],
  'PaymentTransactionLog.GatewayState': ['Submitted', 'NotSubmitted', 'FailedToSettle', 'Settled'],
};
