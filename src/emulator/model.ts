// The contract between the emulator's data side (tenant, ZOQL, CSV rendering, describe) and its HTTP side
// (server, jobs, sessions, faults). The emulator is a separate world: nothing here is imported by the sync path.

/** Field types as Zuora's describe API names them. */
export type FieldType = 'text' | 'picklist' | 'decimal' | 'integer' | 'boolean' | 'date' | 'datetime';

export interface FieldDef {
  name: string;
  /** Display label (CSV header with useQueryLabels false is `<Object label>: <Field label>`). */
  label: string;
  type: FieldType;
  /** Selectable in AQuA (describe `<contexts>` includes export). */
  exportable: boolean;
  /** Set on foreign keys (AccountId, InvoiceId...): `select *` omits them, joins use them. */
  references?: string;
}

export interface ObjectDef {
  name: string;
  label: string;
  fields: FieldDef[];
  /** Relationship name usable in Export ZOQL (`Invoice`, `BillToContact`) -> target object name and FK field. */
  related: Record<string, { object: string; via: string }>;
  /** False for objects Zuora cannot export deleted rows for (90017). */
  supportsDeleted: boolean;
}

/**
 * Values as stored: text/picklist/decimal/date are strings (decimals keep every digit, dates are YYYY-MM-DD),
 * integer is a string of digits, boolean a boolean, datetime epoch milliseconds (UTC).
 */
export type Value = string | boolean | number | null;

export interface StoredRow {
  /** Field name -> value, for every field of the object. */
  values: Record<string, Value>;
  /** Epoch ms of the last change (an update or the deletion), whether or not the deletion moved UpdatedDate. */
  updatedAt: number;
  /** Epoch ms of the deletion when deleted. */
  deletedAt: number | undefined;
}

/** A frozen view of the tenant at one instant (a job's snapshot). */
export interface Snapshot {
  readonly at: number;
  /** Lazily yields every row of the object, deleted ones included (they carry deletedAt). */
  scan(object: string): Iterable<StoredRow>;
  get(object: string, id: string): StoredRow | undefined;
  count(object: string): number;
}

export interface Tenant {
  readonly objects: readonly ObjectDef[];
  /** Case-insensitive lookup; undefined when the object does not exist. */
  object(name: string): ObjectDef | undefined;
  snapshot(at: number): Snapshot;
  /** Mutations; `at` is the emulator clock. Updates and deletes move UpdatedDate to `at`. Return the row id. */
  insert(object: string, values: Record<string, Value>, at: number): string;
  update(object: string, id: string, values: Record<string, Value>, at: number): void;
  remove(object: string, id: string, at: number): void;
}

export interface TenantOptions {
  seed: number;
  /** InvoiceItem rows; other objects scale from it (at least a few rows each). */
  rows: number;
  /** Epoch ms; generated UpdatedDate/CreatedDate values fall before this instant. */
  generatedBefore: number;
  /** A deletion moves UpdatedDate to the deletion time (default true). */
  deleteMovesUpdatedDate?: boolean;
}

/** One output column of a compiled query. */
export interface OutputColumn {
  /** API-name header: `Account.Balance`, `BillToContact.Id` (canonical casing). */
  header: string;
  /** Label header: `Account: Balance`, `Bill To: ID`. */
  labelHeader: string;
  type: FieldType;
}

export interface CompiledQuery {
  /** Canonical base object name (`InvoiceItem` even when written `invoiceitem`). */
  baseObject: string;
  columns: OutputColumn[];
  /** Any function in the select list: disables segmentation. */
  usesFunctions: boolean;
  /** Any alias in the select list: disables segmentation. */
  usesAliases: boolean;
  /**
   * Rows matching the query's own WHERE at the snapshot, as arrays aligned with `columns`. `window` restricts to
   * rows whose UpdatedDate is in [since, until) (stateful incremental), `includeDeleted` adds deleted rows (their
   * joined columns are null). Deleted rows are never returned when includeDeleted is false.
   */
  rows(
    snapshot: Snapshot,
    options: { window?: { since: number; until: number }; includeDeleted: boolean },
  ): Iterable<{ values: Value[]; deleted: boolean }>;
}

/** Thrown by compileQuery; the server turns it into Zuora's HTTP-200 error body. */
export class ZoqlError extends Error {
  constructor(
    readonly errorCode: '90005' | '90017' | '90020',
    message: string,
  ) {
    super(message);
  }
}

export interface CompileOptions {
  /** Reproduce Zuora's trap: a space-separated datetime literal silently drops that predicate. */
  spaceLiteralTrap: boolean;
  /** Zone for literals without an offset (tenant zone); default America/Los_Angeles. */
  defaultZone: string;
}

export interface RenderOptions {
  useQueryLabels: boolean;
  dateTimeUtc: boolean;
  nullReplacement: string | undefined;
  /** Deleted-flag column written first: header `<Base>.<column>`, values per format. */
  deleted: { column: string; format: 'Boolean' | 'Numeric' } | undefined;
  /** Tenant zone used for datetimes when dateTimeUtc is false. */
  tenantZone: string;
}
