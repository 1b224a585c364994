// The status page as a person sees it, in a real headless Chromium against a real warehouse: the states, the
// numbers, the charts actually drawn, a hostile error message shown as text (and run nowhere), the page refreshing
// itself and saying so when aquasync goes away. Leaves a screenshot in test-output/ui/.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { createStatusPage, StatusApi, startUiServer, type UiServer } from '../../src/ui/index.ts';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { openTestWarehouse } from '../helpers/db.ts';
import { fixturePipelines, HOSTILE_ERROR, SECRET, seedWorld } from './fixtures.ts';

const OUTPUT = resolve(import.meta.dirname, '../../test-output/ui');
const RED = [0xd9, 0x30, 0x25];
const GREEN = [0x1f, 0x9d, 0x55];
const BLUE = [0x25, 0x63, 0xeb];

/**
 * Pixels of one colour on a canvas of the page, and the right-most one (page coordinates). Runs in the page, so it
 * is written as browser JavaScript (the tests are type-checked without the DOM library).
 */
async function colourOn(page: Page, selector: string, rgb: number[]): Promise<{ count: number; rightmost: { x: number; y: number } | null }> {
  const script = `(() => {
    const [selector, rgb] = ${JSON.stringify([selector, rgb])};
    const canvas = document.querySelector(selector);
    if (!canvas) return { count: 0, rightmost: null };
    const { data, width } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    let best = null;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - rgb[0]) < 6 && Math.abs(data[i + 1] - rgb[1]) < 6 && Math.abs(data[i + 2] - rgb[2]) < 6) {
        count += 1;
        const x = (i / 4) % width;
        if (!best || x > best.x) best = { x, y: Math.floor(i / 4 / width) };
      }
    }
    if (!best) return { count, rightmost: null };
    const box = canvas.getBoundingClientRect();
    const scale = box.width / canvas.width;
    return { count, rightmost: { x: box.left + best.x * scale, y: box.top + best.y * scale } };
  })()`;
  return page.evaluate(script);
}

/** What an injected script left on window (nothing, when the page is safe). */
const PWNED = '(window.__pwned)';

describe('status page in Chromium', () => {
  let world: Awaited<ReturnType<typeof openTestWarehouse>>;
  let server: UiServer;
  let browser: TestBrowser;
  let page: Page;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  const card = (name: string): string => `.card[data-pipeline="${name}"]`;
  const chips = (): Promise<string[]> => page.$$eval('#summary .chip', (nodes) => nodes.map((n) => `${n.querySelector('b')?.textContent} ${n.dataset.state}`));
  const text = async (selector: string): Promise<string> => ((await page.textContent(selector)) ?? '').replace(/\s+/g, ' ').trim();

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    world = await openTestWarehouse('ui_browser');
    await seedWorld(world.warehouse.pool);
    const { pipelines, schema } = fixturePipelines();
    const api = new StatusApi({ pool: world.warehouse.pool, schema, pipelines });
    server = await startUiServer({ port: 0, page: createStatusPage({ api, logger: silentLogger }), pool: world.warehouse.pool, logger: silentLogger });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Refresh every second, so the test sees the page refresh itself without waiting 15 s.
    await page.goto(`${server.url}?refresh=1`);
    await page.waitForSelector('html[data-refreshes]');
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await world?.close();
  });

  it('shows each pipeline with its state, and a summary of the states', async () => {
    const states = await page.$$eval('.card', (cards) => cards.map((c) => [c.getAttribute('data-pipeline'), c.querySelector('.badge.state')?.textContent]));
    expect(states).toEqual([
      ['billing', 'ok'],
      ['usage', 'late'],
      ['payments', 'failing'],
      ['catalog', 'ok'],
      ['ledger', 'waiting'],
    ]);
    expect(await chips()).toEqual(['2 ok', '1 late', '1 failing', '1 waiting']);
    expect(await text(`${card('usage')} .stat .value.freshness`)).toMatch(/^3 d( \d+ h)?$/);
    expect(await text(`${card('usage')} .stat .sub`)).toMatch(/has not loaded/);
    expect(await text(`${card('usage')} .reason`)).toMatch(/^Late: the run due [A-Z][a-z]{2} \d+, \d\d:00 [AP]M has not loaded its data yet\.$/);
    expect(await text(`${card('ledger')} .reason`)).toMatch(/^Nothing loaded yet/);
    expect(pageErrors).toEqual([]);
  });

  it('shows the last run, rows written against read, and the in-flight Zuora job with its phase', async () => {
    expect(await text(`${card('payments')} .stat .value.last-status`)).toBe('failed');
    expect(await text(`${card('payments')} .stats`)).toMatch(/took 1 min 15 s/);
    expect(await text(`${card('billing')} .stat .value.rows`)).toMatch(/^[\d,]+ \/ [\d,]+$/);
    expect(await page.isVisible(`${card('catalog')} .badge.running`)).toBe(true);
    const job = await text(`${card('catalog')} .job`);
    expect(job).toContain('2c92c0fb-catalog-live');
    expect(job).toContain('running at Zuora (Zuora: executing), 3 of 8 files staged');
  });

  it('shows per table rows, deleted rows, quarantined rows and the last verification', async () => {
    const row = (table: string, cell: string): Promise<string> => text(`tr[data-table="${table}"] td.${cell}`);
    expect([await row('zuora.account', 'rows'), await row('zuora.account', 'deleted'), await row('zuora.account', 'quarantined')]).toEqual(['13,000', '160', '3']);
    expect(await row('zuora.account', 'verification')).toMatch(/^matches Zuora · 3 h ago$/);
    expect(await row('zuora.invoice', 'verification')).toMatch(/^50 missing · /);
    expect(await row('zuora.journal_entry', 'rows')).toBe('not created yet');
    expect(await text('tr[data-table="zuora.usage"]')).toContain('snapshot owed');
  });

  it('shows a hostile error message as text: no element made from it, nothing run, no secret on the page', async () => {
    expect(await text(`${card('payments')} .last-error`)).toBe(`ZUORA_JOB_FAILED: ${HOSTILE_ERROR}`.replace(/\s+/g, ' '));
    expect(await page.$$eval('main img, main script', (nodes) => nodes.length)).toBe(0);
    expect(await text('#events tbody')).toContain('Zuora said: <img src=x onerror=alert(1)>');
    expect(await page.evaluate(PWNED)).toBeUndefined();
    expect(dialogs).toEqual([]);
    expect(await page.content()).not.toContain(SECRET);
  });

  it('the CSP stops inline script even if markup got into the page', async () => {
    // Settles on whichever comes first: the CSP reporting the blocked handler, or the handler having run.
    const outcome = (await page.evaluate(`new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (e) => resolve({ blocked: e.effectiveDirective }), { once: true });
      document.body.insertAdjacentHTML('beforeend', '<img id="probe" src="data:," onerror="window.__pwned = 2">');
      document.getElementById('probe').addEventListener('error', () => { if (window.__pwned) resolve({ ran: window.__pwned }); });
    })`)) as { blocked?: string; ran?: number };
    expect(outcome).toEqual({ blocked: expect.stringMatching(/^script-src/) });
    expect(await page.evaluate(PWNED)).toBeUndefined();
    await page.evaluate("document.getElementById('probe').remove()");
  });

  it('draws the run timeline coloured by outcome, with the run under the mouse', async () => {
    const timeline = '#timeline canvas';
    const green = await colourOn(page, timeline, GREEN);
    const red = await colourOn(page, timeline, RED);
    const blue = await colourOn(page, timeline, BLUE);
    expect(green.count).toBeGreaterThan(500);
    expect(red.count).toBeGreaterThan(50);
    expect(blue.count).toBeGreaterThan(20); // catalog's running run
    // The right-most failure is payments' last run: hover it.
    await page.mouse.move(red.rightmost!.x - 1, red.rightmost!.y);
    await page.waitForSelector('#timeline .tooltip:not([hidden])');
    const tooltip = await text('#timeline .tooltip');
    expect(tooltip).toMatch(/^payments · run #\d+ · failed/);
    expect(tooltip).toContain(HOSTILE_ERROR.replace(/\s+/g, ' '));
    expect(tooltip).toContain('took 1 min 15 s');
  });

  it('draws rows written and duration per run for every pipeline that ran', async () => {
    const charts = await page.$$eval('.card .rows-chart canvas', (canvases) => canvases.map((c) => c.closest('.card')?.getAttribute('data-pipeline')));
    expect(charts).toEqual(['billing', 'usage', 'payments', 'catalog']);
    for (const name of charts) {
      const bars = await colourOn(page, `${card(name!)} .rows-chart canvas`, [0x0f, 0x6c, 0xbd]);
      expect([name, bars.count > 100]).toEqual([name, true]);
    }
    expect(await text(`${card('ledger')} .card-body`)).toContain('No runs in the last 30 days.');
    await page.mouse.move(0, 0);
    await page.waitForSelector('#timeline .tooltip', { state: 'hidden' });
    await page.screenshot({ path: join(OUTPUT, 'status-page.png'), fullPage: true });
    // The first screen as a visitor gets it (default refresh), as in the README.
    const visitor = await browser.context.newPage();
    await visitor.goto(server.url);
    await visitor.waitForSelector('html[data-refreshes] .card canvas');
    await visitor.screenshot({ path: join(OUTPUT, 'status-page-top.png') });
    await visitor.close();
  });

  it('refreshes itself, and says so when aquasync cannot be reached', async () => {
    const pool = world.warehouse.pool;
    await pool.query(
      `INSERT INTO aquasync.runs (pipeline, kind, status, started_at, finished_at, rows_written, rows_read) VALUES ('ledger', 'manual', 'succeeded', now() - interval '2 minutes', now(), 5, 5)`,
    );
    await pool.query(`INSERT INTO aquasync.watermarks (pipeline, watermark) VALUES ('ledger', now() - interval '1 minute')`);
    await page.waitForSelector(`${card('ledger')}[data-state="ok"]`, { timeout: 30_000 });
    expect(await chips()).toEqual(['3 ok', '1 late', '1 failing']);

    await server.close();
    await page.waitForSelector('#problem:not([hidden])', { timeout: 30_000 });
    expect(await text('#problem')).toMatch(/^Cannot read the status .*Showing what was true at/);
    expect(await page.$$eval('.card', (cards) => cards.length)).toBe(5); // the last good data stays
  });
});
