// Which objects may carry a `deleted` spec. Asking for deleted rows of the others makes Zuora reject the whole
// job (90017), so those objects are exported without it.

/** Name of the deleted-flag column requested from Zuora; the CSV header is `<Base>.IsDeleted`. */
export const ZUORA_DELETED_COLUMN = 'IsDeleted';

// tap-zuora's empirically grown list plus AccountingCode from Zuora's own list (docs/aqua.md#deleted-rows).
const WITHOUT_DELETED = new Set(
  [
    'AccountingCode',
    'AccountingPeriod',
    'BookingTransaction',
    'CalloutHistory',
    'ContactSnapshot',
    'DiscountAppliedMetrics',
    'EmailHistory',
    'HpmCaptchaValidationResult',
    'PaymentGatewayReconciliationEventLog',
    'PaymentMethodTransactionLog',
    'PaymentReconciliationJob',
    'PaymentReconciliationLog',
    'PaymentTransactionLog',
    'ProcessedUsage',
    'RefundTransactionLog',
    'SmartPreventionAudit',
    'UpdaterBatch',
    'UpdaterDetail',
  ].map((name) => name.toLowerCase()),
);

export function supportsDeletedExport(object: string): boolean {
  return !WITHOUT_DELETED.has(object.trim().toLowerCase());
}
