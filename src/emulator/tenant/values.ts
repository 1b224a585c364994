// How generated values look: dates, money as AQuA prints it, and the nasty values that break naive CSV handling.
import { PICKLISTS } from '../schema.ts';

export const DAY_MS = 86_400_000;
export const YEAR_MS = 365 * DAY_MS;

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

export function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** `YYYY-MM-DD` (UTC) without allocating a Date: days-to-civil from Howard Hinnant's date algorithms. */
export function isoDate(ms: number): string {
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
export function money(hundredths: number): string {
  const negative = hundredths < 0;
  const abs = Math.abs(hundredths);
  const whole = Math.floor(abs / 100);
  const fraction = abs % 100;
  let text = String(whole);
  if (fraction !== 0) text += `.${pad(fraction, 2)}`.replace(/0+$/, '');
  return negative && abs !== 0 ? `-${text}` : text;
}

export function picklist(object: string, field: string): readonly string[] {
  const values = PICKLISTS[`${object}.${field}`];
  if (values === undefined) throw new Error(`No picklist values for ${object}.${field}`);
  return values;
}

export function nastyIndex(index: number): number {
  const k = index % NASTY_PERIOD;
  return k < NASTY_TEXTS.length ? k : -1;
}

export function nastyText(index: number, fallback: string): string {
  const k = nastyIndex(index);
  return k < 0 ? fallback : (NASTY_TEXTS[k] ?? fallback);
}

export function nastyDecimal(index: number, fallback: string): string {
  const k = nastyIndex(index);
  return k < 0 ? fallback : (NASTY_DECIMALS[k] ?? fallback);
}
