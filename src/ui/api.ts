// The status page's JSON API: pipelines (freshness, last run, jobs), runs, tables and events, built from the
// state schema and the pipelines' configuration. Nothing from the configuration's sources (URLs, client ids,
// secrets) or the warehouse URL is ever part of an answer.
import type pg from 'pg';
import type { PipelineConfig } from '../config/types.ts';
import { tableRowCounts, type TableRowCount } from '../load/index.ts';
import { firingsOf } from './cron.ts';
import { freshness, graceMs } from './freshness.ts';
import * as q from './queries.ts';
import type { EventsResponse, PipelinesResponse, PipelineView, RunsResponse, TablesResponse, TableView } from './types.ts';

export const MAX_RUNS = 5000;
export const COUNT_TTL_MS = 60_000;

export interface StatusApiOptions {
  pool: pg.Pool;
  /** Warehouse schema of the tables (config warehouse.schema). */
  schema: string;
  pipelines: PipelineConfig[];
  /** For tests; default Date.now. */
  clock?: () => number;
}

export class StatusApi {
  private readonly pool: pg.Pool;
  private readonly names: string[];
  private readonly clock: () => number;
  private counts: { at: number; value: Promise<TableRowCount[]> } | undefined;

  constructor(private readonly options: StatusApiOptions) {
    this.pool = options.pool;
    this.names = options.pipelines.map((p) => p.name);
    this.clock = options.clock ?? Date.now;
  }

  /** Names of the configured pipelines, or only `pipeline`; undefined when that pipeline is not configured. */
  select(pipeline: string | undefined): string[] | undefined {
    if (pipeline === undefined) return this.names;
    return this.names.includes(pipeline) ? [pipeline] : undefined;
  }

  async pipelines(names = this.names): Promise<PipelinesResponse> {
    const now = new Date(this.clock());
    const [marks, runs, jobs] = await Promise.all([
      q.watermarks(this.pool, names),
      q.latestRuns(this.pool, names, now),
      q.unfinishedJobs(this.pool, names),
    ]);
    const pipelines = this.options.pipelines
      .filter((p) => names.includes(p.name))
      .map((p): PipelineView => {
        const firings = firingsOf(p.schedule, p.timezone);
        const next = firings.next();
        const dueFiring = firings.previous(new Date(now.getTime() - graceMs(firings.previous(now), next)));
        const lastRun = runs.lastFinished.get(p.name) ?? null;
        const watermark = marks.get(p.name);
        const fresh = freshness({
          now,
          watermark,
          lastOutcome: lastRun?.status === 'running' ? undefined : lastRun?.status,
          dueFiring,
          offsetSeconds: p.offset,
        });
        return {
          name: p.name,
          schedule: p.schedule,
          timezone: p.timezone,
          state: fresh.state,
          reason: fresh.reason,
          watermark: watermark ? watermark.toISOString() : null,
          lagSeconds: fresh.lagSeconds ?? null,
          dueFiring: dueFiring ? dueFiring.toISOString() : null,
          expectedWatermark: fresh.expectedWatermark ? fresh.expectedWatermark.toISOString() : null,
          nextFiring: next ? next.toISOString() : null,
          lastRun,
          running: runs.running.get(p.name) ?? [],
          jobs: jobs.get(p.name) ?? [],
        };
      });
    return { generatedAt: now.toISOString(), pipelines };
  }

  async runs(names: string[], days: number): Promise<RunsResponse> {
    const now = new Date(this.clock());
    const since = new Date(now.getTime() - days * 86_400_000);
    const { runs, truncated } = await q.runsSince(this.pool, names, since, MAX_RUNS, now);
    return { generatedAt: now.toISOString(), since: since.toISOString(), runs, truncated };
  }

  async tables(names: string[]): Promise<TablesResponse> {
    const now = new Date(this.clock());
    const { at, value } = this.rowCounts();
    const [counts, verifications, quarantined, owed] = await Promise.all([
      value,
      q.latestVerifications(this.pool, names),
      q.quarantinedCounts(this.pool, names),
      q.owedSnapshots(this.pool, names),
    ]);
    const { schema } = this.options;
    const tables: TableView[] = [];
    for (const p of this.options.pipelines.filter((p) => names.includes(p.name))) {
      for (const object of p.objects) {
        const qualified = `${schema}.${object.table}`;
        const count = counts.find((c) => c.table === qualified);
        // Tables are recorded by bare name in some state tables and schema-qualified in others.
        const find = <T>(map: Map<string, T>): T | undefined => map.get(`${p.name}/${object.table}`) ?? map.get(`${p.name}/${qualified}`);
        tables.push({
          pipeline: p.name,
          object: object.name,
          table: qualified,
          exists: count?.exists ?? false,
          rows: count?.rows ?? 0,
          deleted: count ? count.rows - count.live : 0,
          quarantined: find(quarantined) ?? 0,
          verification: find(verifications) ?? null,
          snapshotOwed: find(owed) ?? null,
        });
      }
    }
    return { generatedAt: now.toISOString(), countedAt: new Date(at).toISOString(), tables };
  }

  async events(names: string[], limit: number): Promise<EventsResponse> {
    const now = new Date(this.clock());
    const rows = await q.recentEvents(this.pool, names, limit);
    return {
      generatedAt: now.toISOString(),
      events: rows.map((r) => ({ id: r.id, pipeline: r.pipeline, at: r.at.toISOString(), kind: r.kind, message: r.message, zuoraJobId: r.zuora_job_id })),
    };
  }

  /**
   * Row counts of every configured table, counted at most once a minute however many pages poll: count(*) reads
   * the whole table, and a page left open must not become a load on the warehouse.
   */
  private rowCounts(): { at: number; value: Promise<TableRowCount[]> } {
    const now = this.clock();
    if (!this.counts || now - this.counts.at >= COUNT_TTL_MS) {
      const tables = [...new Set(this.options.pipelines.flatMap((p) => p.objects.map((o) => o.table)))];
      const value = tableRowCounts(this.options.pool, this.options.schema, tables);
      const entry = { at: now, value };
      this.counts = entry;
      // A failed count is not cached: the next request tries again.
      value.catch(() => {
        if (this.counts === entry) this.counts = undefined;
      });
    }
    return this.counts;
  }
}
