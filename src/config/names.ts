// How Zuora's names become warehouse names, where the configuration needs it too (the planner builds on it).

/** InvoiceItem -> invoice_item, MRR -> mrr, AccountType__c -> account_type__c. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}
