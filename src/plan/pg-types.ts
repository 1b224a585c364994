// Zuora describe types -> Postgres column types. Anything unknown (text, picklist, future types) stays text.
import type { PgType } from './types.ts';

const MAPPING: Record<string, PgType> = {
  decimal: 'numeric',
  integer: 'bigint',
  boolean: 'boolean',
  date: 'date',
  datetime: 'timestamptz',
};

export function pgTypeFor(zuoraType: string): PgType {
  return MAPPING[zuoraType.trim().toLowerCase()] ?? 'text';
}
