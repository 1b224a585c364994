// Recognising Postgres errors that mean "the data is wrong" (SQLSTATE class 22 and friends) as opposed to
// "the warehouse is unwell", so the first become DataError and the rest pass through unchanged.
import pg from 'pg';

export type PgDatabaseError = InstanceType<typeof pg.DatabaseError>;

export function isPgError(error: unknown): error is PgDatabaseError {
  return error instanceof pg.DatabaseError;
}

/** Class 22 (data exception): bad CSV, invalid UTF-8 or NUL, values a type cannot read. */
export function isDataException(error: unknown): error is PgDatabaseError {
  return isPgError(error) && typeof error.code === 'string' && error.code.startsWith('22');
}

/** The line number in a COPY error's context: `COPY s_abc, line 5, column c2: "..."`. */
export function copyLine(error: PgDatabaseError): number | undefined {
  const match = /\bline (\d+)/.exec(error.where ?? '');
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
