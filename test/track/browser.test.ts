// The UI in headless Chromium (Debian's, driven by playwright-core), one test per page with interactions: the runs
// table (fits 1,400 px, primary metric shown, filter, sort, columns), the run page (hover values, zoom, log y,
// smoothing, epoch axis, single-point metrics as values, inline images, notes), compare (several metrics overlaid,
// params diff), the study page (history on integer trials, intermediate values, slices, contour, parallel coordinates
// with a log axis, trials table) and the registry (signatures, lineage).
// Screenshots go to $LATHE_SCREENSHOT_DIR (docs/screenshots when refreshing the docs), else a temp folder.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { logArtifactTo, startRun, startUi, type TrackingStore } from '../../src/track/index.js';
import { writeImageGrid } from '../../src/data/image-grid.js';
import { tempSqlite } from './helpers.js';
import { seedStore, seedStudies } from './seed.js';
import { chromiumMissing, launchChromium } from '../util/chromium.js';

const missing = chromiumMissing();
const shots = process.env.LATHE_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'lathe-shots-'));
const tmp = tempSqlite();
let store: TrackingStore;
let ui: Awaited<ReturnType<typeof startUi>>;
let browser: Browser;
let runIds: string[] = [];
let epochRun = '';
const errors: string[] = [];

before(async () => {
  if (missing) return;
  mkdirSync(shots, { recursive: true });
  store = await tmp.open();
  runIds = (await seedStore(store, tmp.dir)).runIds;
  // a Trainer-like run: batch loss, epoch-end val metrics with the old underscore spelling, `epoch`, a test accuracy
  // logged once at the end, and a sample grid
  const run = await startRun(store, {
    experiment: 'fmnist-mlp',
    name: 'epochs',
    params: { lr: 0.01, batch: 32, optimizer: 'adam' },
    git: false,
    systemMetricsMs: 0,
    handleExit: false,
  });
  for (let s = 0; s < 90; s++) {
    run.logMetric('train/loss', 2 * Math.exp(-s / 20) + 0.1 * Math.sin(s), s);
    if (s % 30 === 29)
      run.logMetrics({ val_loss: 1 / (s + 1), val_accuracy: 0.7 + s / 400, epoch: (s + 1) / 30 - 1 }, s);
  }
  run.logMetric('test_accuracy', 0.913, 90);
  await run.end();
  epochRun = run.id;
  const grid = join(mkdtempSync(join(tmpdir(), 'lathe-grid-')), 'grid.png');
  await writeImageGrid(grid, {
    dtype: 'float32',
    shape: [4, 1, 6, 6],
    data: Float32Array.from({ length: 144 }, (_, i) => (i % 7) / 6),
  });
  await logArtifactTo(store, epochRun, grid, { name: 'samples/grid.png' });
  ui = await startUi({ store, studies: seedStudies(), port: 0, sweepIntervalMs: 0 });
  browser = await launchChromium();
});

after(async () => {
  if (missing) return;
  await browser?.close();
  await ui?.app.close();
  await store?.close();
  await tmp.cleanup();
  assert.deepEqual(errors, [], 'no page errors');
});

async function open(path: string, width = 1400): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(ui.url + path);
  return page;
}

/** A screenshot, written as a palette PNG (small enough to commit under docs/screenshots). */
const shot = async (page: Page, name: string, opts: { fullPage?: boolean; height?: number } = {}): Promise<void> => {
  const raw = await page.screenshot({
    fullPage: opts.fullPage ?? false,
    ...(opts.height ? { clip: { x: 0, y: 0, width: page.viewportSize()!.width, height: opts.height } } : {}),
  });
  await sharp(raw).png({ palette: true, compressionLevel: 9 }).toFile(join(shots, name));
  assert.ok(statSync(join(shots, name)).size > 5000, name);
};

/** Moves the mouse over the middle of a chart and returns the legend's value of its first series once it shows one. */
async function hoverValue(page: Page, box: string): Promise<string> {
  const over = page.locator(`${box} .u-over`).first();
  await over.scrollIntoViewIfNeeded();
  const b = await over.boundingBox();
  assert.ok(b, 'chart drawn');
  const value = page.locator(`${box} .u-legend .u-series:nth-child(2) .u-value`).first();
  for (let i = 0; i < 40; i++) {
    await page.mouse.move(b.x + b.width * (0.4 + i / 200), b.y + b.height / 2, { steps: 2 });
    const v = (await value.innerText()).trim();
    if (/\d/.test(v)) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  return (await value.innerText()).trim();
}

test('runs table: fits 1,400 px with the primary metric, filters by the query language, sorts', async (t) => {
  if (missing) return t.skip(missing);
  const page = await open('/#/runs');
  await page.waitForSelector('#runs tbody tr');
  assert.equal(await page.locator('#runs tbody tr').count(), 13);
  const headers = (await page.locator('#runs th').allInnerTexts()).map((h) => h.trim());
  assert.equal(headers[5], 'val/acc', `primary metric first: ${headers.join('|')}`);
  for (const h of ['name', 'status', 'lr', 'optimizer', 'val/accuracy']) assert.ok(headers.includes(h), h);
  assert.ok(
    ((await page.evaluate('document.documentElement.scrollWidth')) as number) <= 1400,
    'the table fits a 1,400 px viewport',
  );
  await shot(page, 'runs.png');

  await page.fill('#filter', 'params.lr < 0.005 and status = finished');
  await page.press('#filter', 'Enter');
  await page.waitForFunction("document.querySelectorAll('#runs tbody tr').length === 5");
  await page.fill('#filter', 'metrics.val_accuracy > 0.5');
  await page.press('#filter', 'Enter');
  await page.waitForFunction("document.querySelectorAll('#runs tbody tr').length === 1");
  assert.match(await page.locator('#runs tbody').innerText(), /epochs/);

  await page.fill('#filter', '');
  await page.press('#filter', 'Enter');
  await page.waitForFunction("document.querySelectorAll('#runs tbody tr').length === 13");
  await page.locator('#runs th', { hasText: /^lr$/ }).click();
  await page.waitForSelector('#runs th.sorted-desc');
  await page.locator('#runs th', { hasText: /^lr$/ }).click();
  await page.waitForSelector('#runs th.sorted-asc');
  const lrIndex = (await page.locator('#runs th').allInnerTexts()).findIndex((x) => x.trim() === 'lr');
  assert.equal(
    (await page.locator(`#runs tbody tr:first-child td:nth-child(${lrIndex + 1})`).innerText()).trim(),
    '0.001',
  );
  await page.click('#colsBtn');
  await page.uncheck('#colsPanel input[value="params.batch"]');
  assert.ok(!(await page.locator('#runs th').allInnerTexts()).some((x) => x.trim() === 'batch'));
  await page.close();
});

test('run page: hover values, zoom, log y, smoothing, epoch axis, single-point values, inline image, notes', async (t) => {
  if (missing) return t.skip(missing);
  const page = await open(`/#/run/epochs`);
  await page.waitForSelector('#charts .chart-box[data-key="train/loss"] .u-over');
  const keys = await page
    .locator('#charts .chart-box')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-key')));
  assert.deepEqual(keys, ['train/loss', 'val/accuracy', 'val/loss'], 'one name per metric, no empty chart');
  assert.match(await page.locator('#values').innerText(), /test\/accuracy\s+0\.913/);
  const box = '.chart-box[data-key="train/loss"]';
  assert.match(await hoverValue(page, box), /^-?\d/);

  const range = (): Promise<[number, number]> =>
    page.evaluate(
      `(() => { const u = document.querySelector('${box}')._uplot; return [u.scales.x.min, u.scales.x.max]; })()`,
    );
  const [min0, max0] = await range();
  await page.locator(`${box} .u-over`).scrollIntoViewIfNeeded();
  const over = (await page.locator(`${box} .u-over`).boundingBox())!;
  await page.mouse.move(over.x + over.width * 0.2, over.y + 20);
  await page.mouse.down();
  await page.mouse.move(over.x + over.width * 0.5, over.y + 20, { steps: 5 });
  await page.mouse.up();
  const [min1, max1] = await range();
  assert.ok(
    min1 > min0 && max1 < max0 && max1 - min1 < (max0 - min0) / 2,
    `zoomed ${min0}..${max0} -> ${min1}..${max1}`,
  );

  await page.check('#logY');
  await page.waitForFunction(`document.querySelector('${box}')._uplot.scales.y.distr === 3`);
  await page.fill('#smooth', '0.8');
  await page.dispatchEvent('#smooth', 'input');
  await page.waitForFunction(`document.querySelector('${box}')._uplot.series.length === 3`); // x, raw, smoothed
  await page.selectOption('#xAxis', 'epoch');
  await page.waitForFunction(`document.querySelector('${box}')._uplot.scales.x.max <= 3.05`);
  await page.waitForFunction(
    "(() => { const i = document.querySelector('figure.artifact-image img'); return !!i && i.complete && i.naturalWidth === 18; })()",
  );
  await page.uncheck('#logY');
  await page.fill('#smooth', '0');
  await page.dispatchEvent('#smooth', 'input');
  await page.selectOption('#xAxis', 'step');
  await shot(page, 'run.png', { fullPage: true });

  // notes are a write: refused without the token, saved with the token URL lathe ui prints
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.fill('#notes', 'no token');
  await page.click('#saveNotes');
  for (let i = 0; i < 100 && dialogs.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(dialogs[0] ?? '', /notes not saved: .*needs the write token/);
  await page.goto(`${ui.openUrl}#/run/${runIds[1]}`);
  await page.waitForSelector('#saveNotes');
  assert.equal(await page.evaluate('location.search'), '', 'the token is taken out of the address bar');
  await page.fill('#notes', 'saved from the browser');
  await page.click('#saveNotes');
  for (let i = 0; i < 100 && (await store.getRun(runIds[1])).notes !== 'saved from the browser'; i++)
    await new Promise((r) => setTimeout(r, 50));
  assert.equal((await store.getRun(runIds[1])).notes, 'saved from the browser');
  await page.close();
});

test('compare: several metrics overlaid for several runs, params side by side, charts follow the width', async (t) => {
  if (missing) return t.skip(missing);
  const page = await open(`/#/compare?runs=${runIds.slice(0, 3).join(',')}`, 1280);
  await page.waitForSelector('#cmpCharts .chart-box .u-over');
  assert.deepEqual(
    await page.locator('#cmpCharts .chart-box').evaluateAll((els) => els.map((e) => e.getAttribute('data-key'))),
    ['val/acc', 'train/loss'],
  );
  // three runs overlaid (x + 3 series)
  assert.equal(await page.evaluate("document.querySelector('#cmpCharts .chart-box')._uplot.series.length"), 4);
  assert.match(await hoverValue(page, '#cmpCharts .chart-box[data-key="val/acc"]'), /^0\.\d/);
  assert.equal(await page.locator('#paramsDiff tbody tr').count(), 3);
  await page.check('#onlyDiff');
  assert.equal(await page.locator('#paramsDiff tbody tr:visible').count(), 3, 'lr, batch and optimizer differ');
  await shot(page, 'compare.png', { fullPage: true });
  const widths = (): Promise<[number, number]> =>
    page.evaluate(
      "(() => { const b = document.querySelector('#cmpCharts .chart-box'); return [b._uplot.width, b.clientWidth]; })()",
    );
  const [w0] = await widths();
  await page.setViewportSize({ width: 1000, height: 900 });
  await page.waitForFunction(
    `(() => { const b = document.querySelector('#cmpCharts .chart-box'); return b._uplot.width !== ${w0} && Math.abs(b._uplot.width - b.clientWidth) <= 3; })()`,
  );
  await page.click('#metricsBtn');
  await page.uncheck('#metricsPanel input[value="train/loss"]');
  await page.waitForFunction("document.querySelectorAll('#cmpCharts .chart-box').length === 1");
  await page.close();
});

test('study page: history on whole trials, intermediate values, slices, contour, log parallel axis, trials table', async (t) => {
  if (missing) return t.skip(missing);
  const page = await open('/#/study/mlp-lr');
  await page.waitForSelector('#history .u-over');
  // uPlot draws ticks on the canvas: read the x axis's tick labels from the chart (every one a whole trial number)
  const ticks = (await page.evaluate("document.querySelector('#history')._uplot.axes[0]._values")) as string[];
  assert.ok(ticks.length > 1, 'x ticks');
  assert.ok(
    ticks.filter(Boolean).every((x) => /^\d+$/.test(x)),
    `integer trial ticks: ${ticks.join(',')}`,
  );
  const fits = await page.evaluate(
    "(() => { const c = document.querySelector('#history').closest('.card'); return c.scrollWidth <= c.clientWidth; })()",
  );
  assert.ok(fits, 'the history chart fits its card');
  assert.equal(await page.evaluate("document.querySelector('#intermediate')._uplot.series.length"), 41);
  assert.equal(await page.locator('#slices .chart-box').count(), 3);
  assert.equal(await page.locator('#contour canvas').count(), 1);
  assert.match(await page.locator('#parallel').innerText(), /lr \(log\)/);
  assert.equal(await page.locator('#parallel svg line.axis.log').count(), 1);
  assert.equal(await page.locator('#parallel svg polyline').count(), 36);
  assert.match(await page.locator('#importance').innerText(), /lr/);
  assert.equal(await page.locator('#trials tbody tr').count(), 40);
  await page.locator('#trials th', { hasText: 'value 0' }).click();
  const best = (await page.locator('#trials tbody tr:first-child td:nth-child(3)').innerText()).trim();
  const hist = (await page.evaluate(
    "fetch('/api/studies/mlp-lr').then(r => r.json()).then(b => Math.min(...b.history.map(h => h.value)))",
  )) as number;
  assert.equal(Number(best), Number(hist.toPrecision(4)));
  await page.selectOption('#cx', 'width');
  await page.selectOption('#cy', 'lr');
  await page.waitForSelector('#contour canvas');
  await shot(page, 'study.png', { fullPage: true, height: 1700 });
  await page.goto(`${ui.url}/#/study/size-vs-loss`);
  await page.waitForSelector('#pareto svg circle.dot');
  await shot(page, 'pareto.png');
  await page.close();
});

test('registry page: signatures and lineage of each version', async (t) => {
  if (missing) return t.skip(missing);
  const page = await open('/#/model/fmnist-mlp');
  await page.waitForSelector('#versions');
  const versions = await page.locator('#versions').innerText();
  assert.match(versions, /@champion/);
  assert.match(versions, /x: float32\[batch, 784\] → logits: float32\[batch, 10\]/);
  assert.doesNotMatch(versions, /\t–\t/);
  await page.waitForFunction("document.querySelector('#lineage a.run-link').textContent === 'trial-0'");
  assert.match(await page.locator('#lineage').innerText(), /trial-0/);
  await shot(page, 'model.png');
  await page.close();
});
