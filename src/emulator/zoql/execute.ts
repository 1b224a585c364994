// Running a QueryPlan over a snapshot, lazily: rows stream out one at a time, and ORDER BY keeps only ids and
// sort keys, never whole rows, so memory stays flat for millions of rows.
import type { CompiledQuery, OutputColumn, Snapshot, Value } from '../model.ts';
import type { QueryPlan } from './parser.ts';
import { rowContext } from './row-context.ts';
import type { JoinCache, OrderKey, RowContext } from './row-context.ts';
import { compareValues } from './values.ts';

const DAY_MS = 86_400_000;
/** Zuora keeps deleted records for 30 days (docs/aqua.md#deleted-rows). */
export const DELETED_RETENTION_MS = 30 * DAY_MS;

type RowOptions = Parameters<CompiledQuery['rows']>[1];

export function buildQuery(plan: QueryPlan): CompiledQuery {
  const getters = plan.columns.map((column) => column.get);
  const columns: OutputColumn[] = plan.columns.map(({ header, labelHeader, type }) => ({ header, labelHeader, type }));
  return {
    baseObject: plan.base.name,
    columns,
    usesFunctions: plan.usesFunctions,
    usesAliases: plan.usesAliases,
    *rows(snapshot, options) {
      const source = matching(plan, snapshot, options);
      const ordered = plan.order.length > 0 ? sorted(plan, snapshot, source) : source;
      for (const rc of limited(ordered, plan.offset, plan.limit)) {
        yield { values: getters.map((get) => get(rc)), deleted: rc.deleted };
      }
    },
  };
}

/** Rows of the base object that are visible (deleted ones only when asked, within retention), in the window, and match WHERE. */
function* matching(plan: QueryPlan, snapshot: Snapshot, options: RowOptions): Generator<RowContext> {
  const oldestDeletion = snapshot.at - DELETED_RETENTION_MS;
  const window = options.window;
  const lastJoin: JoinCache = { keys: [], rows: [] };
  for (const row of snapshot.scan(plan.base.name)) {
    if (row.deletedAt !== undefined && (!options.includeDeleted || row.deletedAt < oldestDeletion)) continue;
    if (window !== undefined && (row.updatedAt < window.since || row.updatedAt >= window.until)) continue;
    const rc = rowContext(snapshot, row, lastJoin);
    if (plan.where !== undefined && plan.where(rc) !== true) continue;
    yield rc;
  }
}

/** ORDER BY needs every match before the first row: keep only ids and sort keys, never whole rows. */
function* sorted(plan: QueryPlan, snapshot: Snapshot, source: Iterable<RowContext>): Generator<RowContext> {
  const { base, order } = plan;
  const ids: string[] = [];
  const keys: Value[][] = order.map(() => []);
  const lastJoin: JoinCache = { keys: [], rows: [] };
  for (const rc of source) {
    ids.push(rc.base.values.Id as string);
    order.forEach((key, k) => (keys[k] as Value[]).push(key.get(rc)));
  }
  const permutation = Array.from(ids.keys());
  permutation.sort((x, y) => compareKeys(order, keys, x, y));
  for (const position of permutation) {
    const row = snapshot.get(base.name, ids[position] as string);
    if (row === undefined) throw new Error(`internal: ${base.name} ${ids[position]} vanished from its snapshot`);
    yield rowContext(snapshot, row, lastJoin);
  }
}

/** Compares matches x and y by the ORDER BY keys; ties keep scan order (a stable sort). */
function compareKeys(order: OrderKey[], keys: Value[][], x: number, y: number): number {
  for (let k = 0; k < order.length; k++) {
    const key = order[k] as OrderKey;
    const column = keys[k] as Value[];
    const cmp = compareValues(key.type, column[x] ?? null, column[y] ?? null);
    if (cmp !== 0) return key.descending ? -cmp : cmp;
  }
  return x - y;
}

function* limited<T>(rows: Iterable<T>, offset: number, limit: number): Generator<T> {
  let skipped = 0;
  let emitted = 0;
  if (emitted >= limit) return;
  for (const row of rows) {
    if (skipped < offset) {
      skipped++;
      continue;
    }
    yield row;
    emitted++;
    if (emitted >= limit) return;
  }
}
