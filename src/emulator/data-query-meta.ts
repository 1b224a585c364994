// The two catalogue statements of Data Query that discovery-driven clients send before any SELECT (the airbyte
// Zuora source lists objects with `SHOW TABLES` and types each with `DESCRIBE <table>`). Pure: text -> result.
import type { FieldDef, Tenant, Value } from './model.ts';
import type { SqlResult } from './data-query-sql.ts';
import { SqlError } from './data-query-sql.ts';

/** Data Query (Trino) column types as DESCRIBE reports them. */
const TYPES: Record<FieldDef['type'], string> = {
  text: 'varchar',
  picklist: 'varchar',
  decimal: 'decimal(22,9)',
  integer: 'bigint',
  boolean: 'boolean',
  date: 'date',
  datetime: 'timestamp with time zone',
};

/** The result of a SHOW TABLES or DESCRIBE statement, or undefined for any other statement. */
export function catalogueStatement(sql: string, tenant: Tenant): SqlResult | undefined {
  const text = sql.trim().replace(/;\s*$/, '').trim();
  if (/^show\s+tables$/i.test(text)) {
    const rows: Value[][] = tenant.objects.map((o) => [o.name.toLowerCase()]);
    return { fields: [{ name: 'Table', type: 'text' }], rows };
  }
  const m = /^describe\s+("?)([A-Za-z_][A-Za-z0-9_]*)\1$/i.exec(text);
  if (m === null) return undefined;
  const object = tenant.object(m[2] ?? '');
  if (object === undefined) throw new SqlError(`Table owl.data.${(m[2] ?? '').toLowerCase()} does not exist`);
  const rows: Value[][] = object.fields.map((f) => [f.name.toLowerCase(), TYPES[f.type], '', f.name]);
  return {
    fields: ['Column', 'Type', 'Extra', 'Comment'].map((name) => ({ name, type: 'text' as const })),
    rows,
  };
}
