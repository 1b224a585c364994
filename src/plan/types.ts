// What the planner hands to the loader: how one AQuA batch maps onto one warehouse table.
import type { DeleteMode } from '../config/types.ts';

/** Postgres types aquasync maps Zuora types to; overrides from config may be any vetted type text. */
export type PgType = 'text' | 'numeric' | 'bigint' | 'boolean' | 'date' | 'timestamptz' | (string & {});

export interface ColumnSpec {
  /** CSV header as Zuora writes it with useQueryLabels: `Account.Balance`, `Invoice.Id`. */
  header: string;
  /** Warehouse column name: `balance`, `invoice_id`. */
  name: string;
  type: PgType;
  /** True for columns of joined objects (empty in deleted rows, so a soft delete keeps the old value). */
  joined: boolean;
  /** 0-based position of the column in the CSV header (the staging table's column c<position>). */
  position: number;
  /** The type comes from the object's `types:` override: an existing column of another type is changed to it. */
  overridden: boolean;
}

export interface TableSpec {
  schema: string;
  table: string;
  /** Zuora object name (base object of the query). */
  object: string;
  /** Data columns in the order of the CSV header, the deleted-flag column excluded. */
  columns: ColumnSpec[];
  /** Warehouse column names of the key. */
  primaryKey: string[];
  /** Warehouse column holding UpdatedDate, used for last-writer-wins; undefined if the query lacks it. */
  updatedColumn: string | undefined;
  /** The CSV header of the deleted flag (`Account.IsDeleted`), when the batch carries one. */
  deletedHeader: string | undefined;
  /** 0-based position of the deleted flag in the CSV header, when the batch carries one. */
  deletedPosition: number | undefined;
  deletes: DeleteMode;
}
