// aquasync status page: polls the JSON API and draws it. Plain browser JavaScript, no build step.
// Every value from the API is data: it enters the page only as text (el() below, uPlot's canvas), never as HTML.
/* global uPlot, document, window, fetch, AbortController, ResizeObserver, setTimeout, clearTimeout, URLSearchParams */
'use strict';

/** ?refresh=SECONDS (1-3600) sets how often the page polls; default 15 s. */
const REFRESH_MS = (() => {
  const asked = Number(new URLSearchParams(window.location.search).get('refresh'));
  return Number.isInteger(asked) && asked >= 1 && asked <= 3600 ? asked * 1000 : 15_000;
})();
const REQUEST_TIMEOUT_MS = 10_000;
const DAYS = 30;
const COLORS = { succeeded: '#1f9d55', failed: '#d93025', running: '#2563eb', abandoned: '#9aa0a6' };
/** Drawn in this order, so a failure is never hidden under a success. */
const DRAW_ORDER = ['succeeded', 'abandoned', 'running', 'failed'];
const STATES = ['ok', 'late', 'failing', 'waiting'];
const BAD_EVENTS = new Set(['file-expired', 'job-abandoned', 'staged-rows-lost', 'snapshot-doubtful']);
const WARN_EVENTS = new Set(['unexpected-full-snapshot', 'snapshot-owed', 'rows-quarantined']);
const PHASES = {
  submitting: 'being submitted to Zuora',
  submitted: 'running at Zuora',
  completed: 'finished at Zuora; downloading its files',
  staged: 'downloaded; applying to the warehouse',
};

// ---- building the page: text only ----

/** An element with properties (className, title, dataset...) and children; strings become text nodes. */
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === 'dataset') Object.assign(node.dataset, value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return node;
}

// ---- formatting ----

let serverSkewMs = 0;
const now = () => Date.now() + serverSkewMs;
const count = (n) => Number(n).toLocaleString('en-US');

function compact(n) {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${+(n / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

function relative(iso) {
  if (!iso) return '—';
  const seconds = (Date.parse(iso) - now()) / 1000;
  if (seconds >= 0 && seconds < 30) return 'in a moment';
  if (seconds < 0 && seconds > -30) return 'just now';
  return seconds < 0 ? `${duration(-seconds)} ago` : `in ${duration(seconds)}`;
}

const whenFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const when = (iso) => (iso ? whenFormat.format(new Date(iso)) : '—');

// ---- API ----

async function get(path) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(path, { cache: 'no-store', headers: { accept: 'application/json' }, signal: controller.signal });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(`${path}: ${response.status} ${body.error || response.statusText}`);
    return body;
  } finally {
    clearTimeout(timer);
  }
}

// ---- charts ----

const charts = new Map();

/** Keeps a uPlot chart as wide as its container. */
function fitWidth(chart, container, height) {
  new ResizeObserver(() => {
    const width = Math.max(200, container.clientWidth);
    if (width !== chart.width) chart.setSize({ width, height });
  }).observe(container);
}

/** Remembers a user's zoom across refreshes (a drag selects, a double-click zooms out). */
function zoomMemory(container) {
  const memory = { zoomed: false };
  container.addEventListener('dblclick', () => (memory.zoomed = false));
  return { memory, hook: () => (memory.zoomed = true) };
}

/** One lane per pipeline, one mark per run from its start to its end, coloured by outcome; hover for the run. */
function drawTimeline(container, pipelines, runs, sinceIso) {
  const names = pipelines.map((p) => p.name);
  const laneOf = new Map(names.map((name, i) => [name, names.length - 1 - i]));
  const data = [[Date.parse(sinceIso) / 1000, now() / 1000], [null, null]];
  const height = 56 + 34 * Math.max(1, names.length);
  let chart = charts.get('timeline');
  if (chart && chart.key === names.join('\n')) {
    chart.state.runs = runs;
    chart.u.setData(data, !chart.zoom.memory.zoomed);
    return;
  }
  if (chart) chart.u.destroy();
  container.replaceChildren();
  const state = { runs };
  const tooltip = el('div', { className: 'tooltip', hidden: true });
  const zoom = zoomMemory(container);

  const markBox = (u, run) => {
    const x0 = u.valToPos(Date.parse(run.startedAt) / 1000, 'x');
    const x1 = u.valToPos(Date.parse(run.finishedAt || new Date(now()).toISOString()) / 1000, 'x');
    const y = u.valToPos(laneOf.get(run.pipeline), 'y');
    // At least 5 px wide (a 4-minute run is a fraction of a pixel in 30 days), kept inside the plot: a run
    // that started a minute ago is at the right edge and must not be clipped away.
    const plotWidth = u.bbox.width / (uPlot.pxRatio || window.devicePixelRatio || 1);
    const left = Math.max(0, Math.min(x0, x1 - 5, plotWidth - 5));
    return { left, right: Math.max(left + 5, Math.min(x1, plotWidth)), top: y - 9, bottom: y + 9 };
  };

  const u = new uPlot(
    {
      width: Math.max(200, container.clientWidth),
      height,
      legend: { show: false },
      cursor: { y: false, points: { show: false }, drag: { x: true, y: false } },
      scales: { x: { time: true }, y: { auto: false, range: [-0.6, names.length - 0.4] } },
      axes: [
        { stroke: '#5f6b7a', grid: { stroke: '#eef1f5' } },
        {
          stroke: '#1c2430',
          size: 120,
          gap: 8,
          splits: () => names.map((_, i) => i),
          values: (_u, splits) => splits.map((lane) => names[names.length - 1 - lane] || ''),
          grid: { stroke: '#eef1f5' },
          ticks: { show: false },
        },
      ],
      series: [{}, { label: 'runs', stroke: 'transparent', points: { show: false } }],
      hooks: {
        setSelect: [zoom.hook],
        draw: [
          (u) => {
            const { ctx } = u;
            const ratio = uPlot.pxRatio || window.devicePixelRatio || 1;
            ctx.save();
            ctx.beginPath();
            ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
            ctx.clip();
            for (const status of DRAW_ORDER) {
              ctx.fillStyle = COLORS[status];
              for (const run of state.runs) {
                if (run.status !== status || !laneOf.has(run.pipeline)) continue;
                const box = markBox(u, run);
                ctx.fillRect(u.bbox.left + box.left * ratio, u.bbox.top + box.top * ratio, (box.right - box.left) * ratio, (box.bottom - box.top) * ratio);
              }
            }
            ctx.restore();
          },
        ],
        setCursor: [
          (u) => {
            const { left, top } = u.cursor;
            let best;
            let bestDistance = 12;
            if (left >= 0) {
              for (const run of state.runs) {
                if (!laneOf.has(run.pipeline)) continue;
                const box = markBox(u, run);
                const dx = left < box.left ? box.left - left : left > box.right ? left - box.right : 0;
                const dy = top < box.top ? box.top - top : top > box.bottom ? top - box.bottom : 0;
                const distance = Math.hypot(dx, dy);
                if (distance <= bestDistance) [best, bestDistance] = [run, distance];
              }
            }
            if (!best) {
              tooltip.hidden = true;
              return;
            }
            tooltip.replaceChildren(...runDetails(best));
            tooltip.hidden = false;
            const over = u.over.getBoundingClientRect();
            const box = container.getBoundingClientRect();
            const x = over.left - box.left + left;
            const flip = x + 400 > box.width;
            tooltip.style.left = `${flip ? Math.max(0, x - tooltip.offsetWidth - 14) : x + 14}px`;
            tooltip.style.top = `${over.top - box.top + top + 14}px`;
          },
        ],
      },
    },
    data,
    container,
  );
  container.append(tooltip);
  u.over.addEventListener('mouseleave', () => (tooltip.hidden = true));
  fitWidth(u, container, height);
  charts.set('timeline', { u, key: names.join('\n'), state, zoom });
}

function runDetails(run) {
  const rows = `${count(run.rowsWritten)} written of ${count(run.rowsRead)} read${run.rowsQuarantined ? `, ${count(run.rowsQuarantined)} quarantined` : ''}`;
  return [
    el('div', { className: 't-head' }, `${run.pipeline} · run #${run.id} · ${run.status}`),
    el('div', {}, `${run.kind}, started ${when(run.startedAt)}, ${run.finishedAt ? 'took' : 'running for'} ${duration(run.durationSeconds)}`),
    el('div', {}, rows),
    run.zuoraJobId ? el('div', {}, `Zuora job ${run.zuoraJobId}`) : null,
    run.error ? el('div', { className: 't-error' }, run.error) : null,
  ];
}

/** Rows written (bars) and duration (line) of each of the pipeline's runs. */
function drawRowsChart(container, name, runs) {
  const mine = runs.filter((r) => r.pipeline === name);
  const key = `rows:${name}`;
  const data = [mine.map((r) => Date.parse(r.startedAt) / 1000), mine.map((r) => r.rowsWritten), mine.map((r) => r.durationSeconds)];
  const height = 200;
  let chart = charts.get(key);
  if (chart) {
    if (chart.container !== container) container.replaceWith(chart.container);
    chart.u.setData(data, !chart.zoom.memory.zoomed);
    return chart.container;
  }
  const zoom = zoomMemory(container);
  const u = new uPlot(
    {
      width: Math.max(200, container.clientWidth || 500),
      height,
      cursor: { drag: { x: true, y: false }, points: { size: 7 } },
      scales: { x: { time: true }, rows: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] }, s: { range: (_u, _min, max) => [0, Math.max(60, max * 1.15)] } },
      axes: [
        { stroke: '#5f6b7a', grid: { stroke: '#eef1f5' } },
        { scale: 'rows', stroke: '#0f6cbd', values: (_u, splits) => splits.map(compact), grid: { stroke: '#eef1f5' }, size: 50 },
        { scale: 's', side: 1, stroke: '#b26f00', values: (_u, splits) => splits.map(duration), grid: { show: false }, size: 70 },
      ],
      series: [
        { value: (_u, v) => (v === null ? '—' : when(new Date(v * 1000).toISOString())) },
        {
          label: 'rows written',
          scale: 'rows',
          stroke: '#0f6cbd',
          fill: 'rgba(15,108,189,0.35)',
          paths: uPlot.paths.bars({ size: [0.7, 14], align: 0 }),
          points: { show: false },
          value: (_u, v) => (v === null ? '—' : count(v)),
        },
        {
          label: 'duration',
          scale: 's',
          stroke: '#d98e04',
          width: 2,
          points: { show: true, size: 5, fill: '#d98e04' },
          value: (_u, v) => (v === null ? '—' : duration(v)),
        },
      ],
      hooks: { setSelect: [zoom.hook] },
    },
    data,
    container,
  );
  fitWidth(u, container, height);
  charts.set(key, { u, container, zoom });
  return container;
}

// ---- sections ----

function renderSummary(pipelines) {
  const chips = STATES.map((state) => {
    const n = pipelines.filter((p) => p.state === state).length;
    return n ? el('span', { className: `chip ${state}`, dataset: { state } }, el('b', {}, String(n)), state) : null;
  });
  document.getElementById('summary').replaceChildren(...chips.filter(Boolean));
}

function stat(label, value, valueClass, sub) {
  return el('div', { className: 'stat' }, el('div', { className: 'label' }, label), el('div', { className: `value ${valueClass || ''}` }, value), el('div', { className: 'sub' }, sub));
}

function verificationCell(v) {
  if (!v) return el('span', { className: 'muted' }, 'not verified yet');
  const age = relative(v.checkedAt);
  if (v.error) return el('span', { className: 'pill bad', title: v.error }, `${v.kind} failed · ${age}`);
  if (v.ok) return el('span', { className: 'pill good', title: `${count(v.zuoraRows)} rows in Zuora, ${count(v.warehouseRows)} in the warehouse` }, `matches Zuora · ${age}`);
  const parts = [v.rowsMissing ? `${count(v.rowsMissing)} missing` : null, v.rowsExtra ? `${count(v.rowsExtra)} extra` : null].filter(Boolean);
  return el('span', { className: 'pill bad', title: `${count(v.zuoraRows)} rows in Zuora, ${count(v.warehouseRows)} in the warehouse` }, `${parts.join(', ') || 'differs'} · ${age}`);
}

function tablesTable(tables) {
  if (!tables.length) return el('p', { className: 'empty' }, 'No tables.');
  return el(
    'div',
    { className: 'scroll' },
    el(
      'table',
      { className: 'grid tables' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Table'), el('th', {}, 'Rows'), el('th', {}, 'Deleted'), el('th', {}, 'Quarantined'), el('th', {}, 'Verification'))),
      el(
        'tbody',
        {},
        tables.map((t) =>
          el(
            'tr',
            { dataset: { table: t.table } },
            el('td', {}, el('span', { className: 'mono' }, t.table), t.snapshotOwed ? el('div', {}, el('span', { className: 'pill warn', title: t.snapshotOwed.reason }, 'snapshot owed')) : null),
            el('td', { className: 'num rows' }, t.exists ? count(t.rows) : el('span', { className: 'muted' }, 'not created yet')),
            el('td', { className: 'num deleted' }, t.exists ? count(t.deleted) : ''),
            el('td', { className: 'num quarantined' }, t.quarantined ? el('span', { className: 'pill bad' }, count(t.quarantined)) : '0'),
            el('td', { className: 'verification' }, verificationCell(t.verification)),
          ),
        ),
      ),
    ),
  );
}

function nowItems(p) {
  const items = [];
  for (const run of p.running) {
    items.push(el('div', { className: 'item running-run' }, el('b', {}, 'Running: '), `${run.kind} run #${run.id}, started ${relative(run.startedAt)}`));
  }
  for (const job of p.jobs) {
    const files = job.files ? `, ${count(job.filesStaged)} of ${count(job.files)} files staged` : '';
    const zuora = job.zuoraStatus ? ` (Zuora: ${job.zuoraStatus})` : '';
    items.push(
      el(
        'div',
        { className: 'item job', dataset: { phase: job.phase } },
        el('b', {}, `Zuora ${job.kind} job `),
        el('span', { className: 'mono' }, job.zuoraJobId || '(not yet accepted)'),
        ` ${PHASES[job.phase] || job.phase}${zuora}${files}; since ${relative(job.submittedAt || job.createdAt)}`,
      ),
    );
  }
  return items.length ? el('div', { className: 'now' }, items) : null;
}

/** The API's reason, in the reader's time zone. */
function reasonText(p) {
  if (p.state === 'ok' && p.dueFiring) return `Up to date: loaded through the run due ${when(p.dueFiring)}.`;
  if (p.state === 'late' && p.dueFiring) return `Late: the run due ${when(p.dueFiring)} has not loaded its data yet.`;
  if (p.state === 'failing') return `Failing: the last run failed${p.lastRun && p.lastRun.finishedAt ? ` ${relative(p.lastRun.finishedAt)}` : ''}; the next run retries.`;
  return `${p.reason.charAt(0).toUpperCase()}${p.reason.slice(1)}.`;
}

function pipelineCard(p, runs, tables) {
  const last = p.lastRun;
  const lateSub = p.state === 'late' && p.dueFiring ? `the run due ${when(p.dueFiring)} has not loaded` : null;
  const rowsWritten = last ? count(last.rowsWritten) : '—';
  const chartBox = el('div', { className: 'chart rows-chart' });
  const mine = runs.filter((r) => r.pipeline === p.name);
  const card = el(
    'article',
    { className: `card ${p.state}`, dataset: { pipeline: p.name, state: p.state } },
    el(
      'div',
      { className: 'card-head' },
      el('h3', {}, p.name),
      el('span', { className: `badge state ${p.state}` }, p.state),
      p.running.length ? el('span', { className: 'badge running' }, 'running') : null,
      el('span', { className: 'schedule', title: 'schedule and its time zone' }, `${p.schedule} · ${p.timezone}`),
    ),
    el('p', { className: 'reason' }, reasonText(p)),
    el(
      'div',
      { className: 'stats' },
      stat('Freshness', p.lagSeconds === null ? '—' : duration(p.lagSeconds), `freshness ${p.state}`, lateSub || (p.watermark ? `watermark ${when(p.watermark)}` : 'no watermark yet')),
      stat('Next run', p.nextFiring ? relative(p.nextFiring) : '—', 'next', p.nextFiring ? when(p.nextFiring) : 'never'),
      stat('Last run', last ? last.status : 'never', `last-status ${last ? last.status : ''}`, last ? `${relative(last.finishedAt || last.startedAt)} · took ${duration(last.durationSeconds)}` : 'no run yet'),
      stat('Rows written / read', last ? `${rowsWritten} / ${count(last.rowsRead)}` : '—', 'rows', last && last.rowsQuarantined ? `${count(last.rowsQuarantined)} quarantined` : 'in the last run'),
    ),
    nowItems(p),
    last && last.error && last.status !== 'succeeded' ? el('pre', { className: 'error last-error' }, last.error) : null,
    el(
      'div',
      { className: 'card-body' },
      el('div', {}, el('p', { className: 'sub-title' }, 'Rows written and duration per run'), mine.length ? chartBox : el('p', { className: 'empty' }, `No runs in the last ${DAYS} days.`)),
      el('div', {}, el('p', { className: 'sub-title' }, 'Tables'), tablesTable(tables.filter((t) => t.pipeline === p.name))),
    ),
  );
  return { card, chartBox: mine.length ? chartBox : null };
}

function renderPipelines(pipelines, runs, tables) {
  const section = document.getElementById('pipelines');
  if (!pipelines.length) {
    section.replaceChildren(el('div', { className: 'panel empty' }, 'No pipelines in the configuration.'));
    return;
  }
  const built = pipelines.map((p) => ({ p, ...pipelineCard(p, runs, tables) }));
  section.replaceChildren(...built.map((b) => b.card));
  // Charts are drawn once the cards are in the page (they need a width) and kept across refreshes.
  for (const { p, chartBox } of built) if (chartBox) drawRowsChart(chartBox, p.name, runs);
}

function renderEvents(events) {
  const body = document.querySelector('#events tbody');
  if (!events.length) {
    body.replaceChildren(el('tr', {}, el('td', { colSpan: 5, className: 'empty' }, 'No events.')));
    return;
  }
  body.replaceChildren(
    ...events.map((e) =>
      el(
        'tr',
        { dataset: { kind: e.kind } },
        el('td', { title: e.at }, when(e.at)),
        el('td', {}, e.pipeline),
        el('td', {}, el('span', { className: `pill ${BAD_EVENTS.has(e.kind) ? 'bad' : WARN_EVENTS.has(e.kind) ? 'warn' : ''}` }, e.kind)),
        el('td', { className: 'message' }, e.message),
        el('td', { className: 'mono' }, e.zuoraJobId || ''),
      ),
    ),
  );
}

// ---- refresh loop ----

let timer;
let refreshes = 0;
let lastGood;

async function refresh() {
  clearTimeout(timer);
  const updated = document.getElementById('updated');
  const problem = document.getElementById('problem');
  try {
    const [pipelines, runs, tables, events] = await Promise.all([get('api/pipelines'), get(`api/runs?days=${DAYS}`), get('api/tables'), get('api/events?limit=50')]);
    serverSkewMs = Date.parse(pipelines.generatedAt) - Date.now();
    renderSummary(pipelines.pipelines);
    drawTimeline(document.getElementById('timeline'), pipelines.pipelines, runs.runs, runs.since);
    renderPipelines(pipelines.pipelines, runs.runs, tables.tables);
    renderEvents(events.events);
    lastGood = new Date();
    problem.hidden = true;
    updated.classList.remove('stale');
    updated.textContent = `updated ${clockFormat.format(lastGood)} · refreshes every ${REFRESH_MS / 1000} s`;
    refreshes += 1;
    document.documentElement.dataset.refreshes = String(refreshes);
  } catch (error) {
    problem.hidden = false;
    problem.textContent = `Cannot read the status (${error && error.message ? error.message : error}). ${lastGood ? `Showing what was true at ${clockFormat.format(lastGood)}; ` : ''}retrying every ${REFRESH_MS / 1000} s.`;
    updated.classList.add('stale');
    updated.textContent = lastGood ? `stale since ${clockFormat.format(lastGood)}` : 'no data yet';
  } finally {
    timer = setTimeout(refresh, REFRESH_MS);
  }
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') void refresh();
});
void refresh();
