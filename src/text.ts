// Text that comes from outside (Zuora's headers, messages and bodies) before it goes into a log line, an error
// message or a table: control characters would forge log lines or corrupt terminals, and its size is theirs to
// choose (a 10,000-column header), not ours. Pure, no imports: every folder may use it.

/**
 * C0 and C1 controls (newlines included), DEL, the Unicode line and paragraph separators, and the bidirectional
 * overrides and isolates that can make a line read differently from what it holds.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;

/** Default length of one piece of outside text in a message. */
export const MAX_OUTSIDE_TEXT = 500;

/** `text` on one line, each run of unsafe characters a single space, cut to `max` characters with a note of the rest. */
export function outsideText(text: string, max = MAX_OUTSIDE_TEXT): string {
  const flat = text.replace(UNSAFE, ' ');
  if (flat.length <= max) return flat;
  return `${flat.slice(0, max)}… (${flat.length - max} more characters)`;
}

/** A list of outside names (CSV header cells): `[a, b, c, … and 9,997 more]`, each name cut as outsideText. */
export function outsideList(items: readonly string[], maxItems = 20, maxEach = 80): string {
  const shown = items.slice(0, maxItems).map((item) => outsideText(item, maxEach));
  const rest = items.length - shown.length;
  return `[${shown.join(', ')}${rest > 0 ? `, … and ${rest} more` : ''}]`;
}

/** Longest message a state table keeps (runs.error_message, events.message, backfill_windows.error). */
export const MAX_STORED_MESSAGE = 4000;

/** `text` cut to MAX_STORED_MESSAGE characters: a safety net for whatever message reaches a table. */
export function storedText(text: string): string {
  return text.length <= MAX_STORED_MESSAGE ? text : `${text.slice(0, MAX_STORED_MESSAGE)}… (${text.length - MAX_STORED_MESSAGE} more characters)`;
}
