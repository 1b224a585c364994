// Pure parts of verify and reconcile: which warehouse table and columns an object maps to, the Data Query SQL,
// and the comparisons. Day boundaries are UTC on both sides: Data Query renders timestamps in the tenant zone on
// Live, so its side converts with at_timezone(updateddate, 'UTC') and the warehouse side with AT TIME ZONE 'UTC'.
import type { DeleteMode, ObjectConfig, PipelineConfig } from '../config/types.ts';
import { ConfigError } from '../errors.ts';
import { columnNameFor, expectedHeaders } from '../plan/index.ts';
import { sqlString, sqlTimestamp } from '../zuora/index.ts';

/** A joined `Rel.Id` column compared with the base table's foreign key in Data Query (`invoiceid`). */
export interface JoinedIdColumn {
  /** Warehouse column: invoice_id. */
  column: string;
  /** Data Query column of the base table: invoiceid. */
  dataQueryColumn: string;
}

/** Relationships whose foreign key is not `<Relationship>Id` (Zuora's Account: BillToContact -> BillToId). */
const FOREIGN_KEYS: Readonly<Record<string, string>> = {
  'account.billtocontact': 'billtoid',
  'account.soldtocontact': 'soldtoid',
  'account.parentaccount': 'parentid',
  'account.parent': 'parentid',
};

/** Data Query column holding the foreign key behind `relationship` on `base`. Pure. */
export function foreignKeyColumn(base: string, relationship: string): string {
  const key = `${base}.${relationship}`.toLowerCase();
  return FOREIGN_KEYS[key] ?? `${relationship.toLowerCase()}id`;
}

export interface VerifyTarget {
  object: string;
  /** Data Query table: the lower-case object name. */
  dataQueryTable: string;
  schema: string;
  table: string;
  idColumn: string;
  /** Undefined when the object's fields do not include UpdatedDate: only totals can be compared. */
  updatedColumn: string | undefined;
  deletes: DeleteMode;
  joinedIds: JoinedIdColumn[];
}

/** The objects of a pipeline to check, in config order; unknown names are a ConfigError. */
export function verifyTargets(pipeline: PipelineConfig, schema: string, only: readonly string[] = []): VerifyTarget[] {
  for (const name of only) {
    if (!pipeline.objects.some((o) => o.name.toLowerCase() === name.toLowerCase())) {
      throw new ConfigError(`pipeline "${pipeline.name}" has no object named "${name}"`, {
        hint: `its objects: ${pipeline.objects.map((o) => o.name).join(', ')}`,
      });
    }
  }
  const wanted = only.map((n) => n.toLowerCase());
  return pipeline.objects.filter((o) => wanted.length === 0 || wanted.includes(o.name.toLowerCase())).map((o) => targetFor(o, schema));
}

export function targetFor(object: ObjectConfig, schema: string): VerifyTarget {
  const headers = expectedHeaders(object) ?? [];
  const base = object.name;
  const own = (field: string): string | undefined => {
    const header = headers.find((h) => h.toLowerCase() === `${base}.${field}`.toLowerCase());
    return header === undefined ? undefined : columnNameFor(header, base);
  };
  const idColumn = own('Id');
  if (idColumn === undefined || object.primaryKey.length !== 1 || object.primaryKey[0]?.toLowerCase() !== 'id') {
    throw new ConfigError(`object ${base} cannot be verified: its key must be Id and Id must be selected`, {
      hint: 'verify and reconcile compare rows by Zuora Id',
    });
  }
  const joinedIds = headers
    .filter((h) => {
      const [prefix, field, ...rest] = h.split('.');
      return rest.length === 0 && prefix !== undefined && prefix.toLowerCase() !== base.toLowerCase() && field?.toLowerCase() === 'id';
    })
    .map((h) => ({ column: columnNameFor(h, base), dataQueryColumn: foreignKeyColumn(base, h.split('.')[0] ?? '') }));
  return {
    object: base,
    dataQueryTable: base.toLowerCase(),
    schema,
    table: object.table,
    idColumn,
    updatedColumn: own('UpdatedDate'),
    deletes: object.deletes,
    joinedIds,
  };
}

/** Live rows per UTC day of UpdatedDate in [since, until): one aggregate query, at most one row per day. */
export function dailyCountQuery(target: VerifyTarget, since: Date | undefined, until: Date): string {
  const where = [...(since ? [`updateddate >= ${sqlTimestamp(since)}`] : []), `updateddate < ${sqlTimestamp(until)}`];
  return (
    `select date(at_timezone(updateddate, 'UTC')) as day, count(*) as n from ${target.dataQueryTable} ` +
    `where ${where.join(' and ')} group by 1 order by 1`
  );
}

/** Total live rows (objects without UpdatedDate in the warehouse). */
export function totalCountQuery(target: VerifyTarget): string {
  return `select count(*) as n from ${target.dataQueryTable}`;
}

/** One page of Ids after `after` (byte order), with UpdatedDate and the joined foreign keys. */
export function idPageQuery(target: VerifyTarget, after: string, limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new ConfigError(`page size must be a positive whole number, got ${limit}`);
  const columns = ['id', 'updateddate', ...target.joinedIds.map((j) => j.dataQueryColumn)];
  return `select ${columns.join(', ')} from ${target.dataQueryTable} where id > ${sqlString(after)} order by id limit ${limit}`;
}

/** Live Ids changed at or after `watermark` (what the next sync brings), one page after `after` in Id order. */
export function changedSinceQuery(target: VerifyTarget, watermark: Date, after: string, limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new ConfigError(`page size must be a positive whole number, got ${limit}`);
  return (
    `select id, updateddate from ${target.dataQueryTable} where updateddate >= ${sqlTimestamp(watermark)} ` +
    `and id > ${sqlString(after)} order by id limit ${limit}`
  );
}

/** Ids updated in [from, to) (one day of a verify drill-down), one page after `after` in Id order. */
export function updatedInQuery(target: VerifyTarget, from: Date, to: Date, after: string, limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new ConfigError(`page size must be a positive whole number, got ${limit}`);
  return (
    `select id, updateddate from ${target.dataQueryTable} where updateddate >= ${sqlTimestamp(from)} ` +
    `and updateddate < ${sqlTimestamp(to)} and id > ${sqlString(after)} order by id limit ${limit}`
  );
}

/** The instants bounding UTC day `day` (YYYY-MM-DD) clipped to [since, until). Pure. */
export function dayWindow(day: string, since: Date | undefined, until: Date): { from: Date; to: Date } {
  const start = Date.parse(`${day}T00:00:00Z`);
  const from = Math.max(start, since?.getTime() ?? start);
  const to = Math.min(start + 86_400_000, until.getTime());
  return { from: new Date(from), to: new Date(to) };
}

/**
 * A Data Query timestamp as an instant: ISO (`2026-01-02T03:04:05.000-08:00`) or Trino's text
 * (`2026-01-02 03:04:05.000 -08:00`, `... UTC`). Undefined when it carries no zone (it would be ambiguous).
 */
export function parseDataQueryTimestamp(value: unknown): Date | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value < 1e12 ? value * 1000 : value);
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)\s*(Z|UTC|[+-]\d{2}:?\d{2})$/.exec(value.trim());
  if (m === null) return undefined;
  const zone = m[3] === 'UTC' || m[3] === 'Z' ? 'Z' : (m[3] ?? '').replace(/^([+-]\d{2}):?(\d{2})$/, '$1:$2');
  const at = Date.parse(`${m[1]}T${m[2]}${zone}`);
  return Number.isNaN(at) ? undefined : new Date(at);
}

export interface DayComparison {
  daysChecked: number;
  daysMatching: number;
  zuoraRows: number;
  warehouseRows: number;
  /** Sum over days of rows Zuora has beyond the warehouse. */
  rowsMissing: number;
  /** Sum over days of rows the warehouse has beyond Zuora. */
  rowsExtra: number;
  /** The day with the largest absolute difference (earliest on ties), undefined when all match. */
  worstDay: { day: string; zuora: number; warehouse: number } | undefined;
  /** Every differing day, in order. */
  differences: { day: string; zuora: number; warehouse: number }[];
}

/** Compares per-day counts; a day present on one side only counts as 0 on the other. */
export function compareDays(zuora: ReadonlyMap<string, number>, warehouse: ReadonlyMap<string, number>): DayComparison {
  const days = [...new Set([...zuora.keys(), ...warehouse.keys()])].sort();
  const out: DayComparison = {
    daysChecked: days.length,
    daysMatching: 0,
    zuoraRows: 0,
    warehouseRows: 0,
    rowsMissing: 0,
    rowsExtra: 0,
    worstDay: undefined,
    differences: [],
  };
  for (const day of days) {
    const z = zuora.get(day) ?? 0;
    const w = warehouse.get(day) ?? 0;
    out.zuoraRows += z;
    out.warehouseRows += w;
    if (z === w) {
      out.daysMatching++;
      continue;
    }
    if (z > w) out.rowsMissing += z - w;
    else out.rowsExtra += w - z;
    const diff = { day, zuora: z, warehouse: w };
    out.differences.push(diff);
    if (out.worstDay === undefined || Math.abs(z - w) > Math.abs(out.worstDay.zuora - out.worstDay.warehouse)) out.worstDay = diff;
  }
  return out;
}

export interface ZuoraIdRow {
  id: string;
  updated: Date | undefined;
  /** Data Query column -> value as text (null when empty). */
  joined: Record<string, string | null>;
}

export interface IdComparison {
  /** In Zuora (updated before the watermark) but not live in the warehouse. */
  missing: ZuoraIdRow[];
  /** Live in the warehouse but not in Zuora: deleted there (possibly more than 30 days ago). */
  extra: string[];
  /** In both, but a joined Id column differs: the warehouse missed a change. */
  stale: (ZuoraIdRow & { columns: string[] })[];
  /** In Zuora, updated at or after the watermark: the next sync brings them, so they are not counted. */
  pending: number;
}

const norm = (v: string | null | undefined): string | null => (v === undefined || v === null || v === '' ? null : v);

/**
 * Compares one Id range. Rows Zuora updated at or after `watermark` are the next sync's business and are not
 * reported as missing or stale.
 */
export function compareIds(
  zuora: readonly ZuoraIdRow[],
  warehouse: readonly ({ id: string } & Record<string, string | null>)[],
  joinedIds: readonly JoinedIdColumn[],
  watermark: Date,
): IdComparison {
  const out: IdComparison = { missing: [], extra: [], stale: [], pending: 0 };
  const inZuora = new Map(zuora.map((r) => [r.id, r]));
  const inWarehouse = new Map(warehouse.map((r) => [r.id, r]));
  for (const row of zuora) {
    const settled = row.updated === undefined || row.updated.getTime() < watermark.getTime();
    const here = inWarehouse.get(row.id);
    if (!settled) {
      if (here === undefined) out.pending++;
      continue;
    }
    if (here === undefined) {
      out.missing.push(row);
      continue;
    }
    const columns = joinedIds.filter((j) => norm(here[j.column]) !== norm(row.joined[j.dataQueryColumn])).map((j) => j.column);
    if (columns.length > 0) out.stale.push({ ...row, columns });
  }
  for (const row of warehouse) if (!inZuora.has(row.id)) out.extra.push(row.id);
  return out;
}

/**
 * Time ranges [since, until) covering every instant, merging instants closer than `gapMs` so a few backfill runs
 * cover many rows. Zuora times have whole seconds: ranges start at the second and end one second after the last.
 */
export function coveringRanges(instants: readonly Date[], gapMs: number): { since: Date; until: Date }[] {
  const sorted = [...new Set(instants.map((d) => Math.floor(d.getTime() / 1000) * 1000))].sort((a, b) => a - b);
  const ranges: { since: number; until: number }[] = [];
  for (const t of sorted) {
    const last = ranges.at(-1);
    if (last !== undefined && t - (last.until - 1000) <= gapMs) last.until = t + 1000;
    else ranges.push({ since: t, until: t + 1000 });
  }
  return ranges.map((r) => ({ since: new Date(r.since), until: new Date(r.until) }));
}

export interface DrilledDay {
  /** In Zuora on the day (updated before the watermark) but not live in the warehouse on it. */
  missing: string[];
  /** Live in the warehouse on the day but not in Zuora on it, and not changed in Zuora since the watermark. */
  extra: string[];
  /** Differing Ids that Zuora changed (updated or deleted) at or after the watermark: the next sync brings them. */
  pending: string[];
}

/**
 * Sorts the Ids of one day that differ between Zuora and the warehouse. `changed` holds the Ids Zuora changed at
 * or after the watermark (live or deleted); a difference they explain is pending, not a fault. Pure.
 */
export function classifyDrill(
  zuora: ReadonlyMap<string, unknown>,
  warehouse: ReadonlyMap<string, unknown>,
  changed: { has(id: string): boolean },
): DrilledDay {
  const out: DrilledDay = { missing: [], extra: [], pending: [] };
  for (const id of zuora.keys()) if (!warehouse.has(id)) (changed.has(id) ? out.pending : out.missing).push(id);
  for (const id of warehouse.keys()) if (!zuora.has(id)) (changed.has(id) ? out.pending : out.extra).push(id);
  return out;
}
