// Everything under deploy/ (the Grafana dashboard, alert rules) may only name metrics that a real /metrics serves.
// The served names are read from a live scheduler's /metrics over a warehouse with history, not from a list kept
// here: a metric someone adds to /metrics is known to this test at once, and a panel for a metric that is not
// served (or was renamed) fails it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { Scheduler, startStatusServer } from '../../src/scheduler/index.ts';
import { openTestWarehouse } from '../helpers/db.ts';
import { fixturePipelines, seedWorld } from '../ui/fixtures.ts';

const DEPLOY = resolve(import.meta.dirname, '../../deploy');
const DASHBOARD = join(DEPLOY, 'grafana/aquasync.json');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : /\.(json|ya?ml)$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

/** Metric names a Prometheus text exposition serves, including the series a histogram or summary expands to. */
export function servedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = match as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  for (const match of exposition.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)) names.add(match[1]!);
  return names;
}

const named = (text: string): string[] => [...new Set(text.match(/\baquasync_[a-z0-9_]+\b/g) ?? [])].sort();

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
}

describe('deploy/: dashboards and rules name only served metrics', () => {
  let world: Awaited<ReturnType<typeof openTestWarehouse>>;
  let served: Set<string>;

  beforeAll(async () => {
    world = await openTestWarehouse('deploy_metrics');
    await seedWorld(world.warehouse.pool);
    const { pipelines } = fixturePipelines();
    const scheduler = new Scheduler({
      pool: world.warehouse.pool,
      db: world.warehouse.db,
      pipelines,
      logger: silentLogger,
      run: () => Promise.reject(new Error('never started in this test')),
    });
    const server = await startStatusServer({ port: 0, host: '127.0.0.1', scheduler, pool: world.warehouse.pool, logger: silentLogger });
    try {
      served = servedNames(await (await fetch(`${server.url}/metrics`)).text());
    } finally {
      await server.close();
    }
  });
  afterAll(async () => {
    await world?.close();
  });

  it('reads the served names from the exposition', () => {
    expect(servedNames('# TYPE a_seconds histogram\na_seconds_bucket{le="1"} 1\n# TYPE b gauge\nb{x="1"} 2\nc 3\n')).toEqual(
      new Set(['a_seconds', 'a_seconds_bucket', 'a_seconds_sum', 'a_seconds_count', 'b', 'c']),
    );
    expect(served.has('aquasync_watermark_lag_seconds')).toBe(true);
  });

  it.each(filesUnder(DEPLOY).map((file) => [file.slice(DEPLOY.length + 1), file]))('%s names only metrics /metrics serves', (_name, file) => {
    const names = named(readFileSync(file, 'utf8'));
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => !served.has(name))).toEqual([]);
  });

  it('the Grafana dashboard is valid JSON, every panel queries Prometheus through the chosen data source, and it covers the run', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: Panel[]; templating: { list: { name: string }[] } };
    expect(dashboard.uid).toBe('aquasync');
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'pipeline']);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        const expr = target.expr ?? '';
        expect(target.datasource?.uid, panel.title).toBe('${datasource}');
        expect(named(expr).length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
        for (const [open, close] of ['()', '{}', '[]']) expect(expr.split(open!).length, expr).toBe(expr.split(close!).length);
      }
    }
    const queried = new Set(dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => named(t.expr ?? ''))));
    for (const metric of [
      'aquasync_watermark_lag_seconds',
      'aquasync_last_success_timestamp_seconds',
      'aquasync_runs_total',
      'aquasync_run_failures_total',
      'aquasync_rows_written_total',
      'aquasync_last_run_duration_seconds',
      'aquasync_last_job_wait_seconds',
      'aquasync_rows_read_total',
      'aquasync_quarantined_rows',
      'aquasync_rows_quarantined_total',
      'aquasync_snapshots_owed',
    ]) {
      expect(queried.has(metric), metric).toBe(true);
    }
  });
});
