// The UI in headless Chromium: runs table, sorting, filtering, comparison chart, run, study and registry pages.
// Screenshots go to $LATHE_SCREENSHOT_DIR (docs/screenshots when refreshing the docs), else a temp folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logArtifactTo, startUi } from '../../src/track/index.js';
import { writeImageGrid } from '../../src/data/image-grid.js';
import { tempSqlite } from './helpers.js';
import { seedStore, seedStudies } from './seed.js';
import { chromiumMissing, launchChromium } from '../util/chromium.js';

test('the tracking UI works in headless Chromium', { timeout: 90_000 }, async (t) => {
  const missing = chromiumMissing();
  if (missing) return t.skip(missing);
  const shots = process.env.LATHE_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'lathe-shots-'));
  mkdirSync(shots, { recursive: true });
  const tmp = tempSqlite();
  const store = await tmp.open();
  const { runIds } = await seedStore(store, tmp.dir);
  const ui = await startUi({ store, studies: seedStudies(), port: 0 });
  assert.match(ui.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(ui.url + '/#/runs');
    await page.waitForSelector('#runs tbody tr');
    assert.equal(await page.locator('#runs tbody tr').count(), 12);
    assert.match(await page.locator('#count').innerText(), /12 runs/);
    const headers = await page.locator('#runs th').allInnerTexts();
    for (const h of ['name', 'status', 'lr', 'optimizer', 'train/loss', 'val/acc'])
      assert.ok(
        headers.some((x) => x.trim() === h),
        `column ${h} in ${headers.join('|')}`,
      );
    await page.screenshot({ path: join(shots, 'runs.png') });

    // Sort by lr ascending (first click: desc, second: asc).
    await page.locator('#runs th', { hasText: /^lr$/ }).click();
    await page.waitForFunction("location.hash.includes('sort=params.lr')");
    await page.waitForSelector('#runs th.sorted-desc');
    await page.locator('#runs th', { hasText: /^lr$/ }).click();
    await page.waitForSelector('#runs th.sorted-asc');
    const lrIndex = (await page.locator('#runs th').allInnerTexts()).findIndex((x) => x.trim() === 'lr');
    const firstLr = await page.locator(`#runs tbody tr:first-child td:nth-child(${lrIndex + 1})`).innerText();
    assert.equal(firstLr.trim(), '0.001');

    // Server-side filter.
    await page.fill('#filter', 'status = failed');
    await page.press('#filter', 'Enter');
    await page.waitForFunction("document.querySelectorAll('#runs tbody tr').length === 1");
    assert.match(await page.locator('#runs tbody').innerText(), /trial-5/);

    // Column chooser hides a column.
    await page.fill('#filter', '');
    await page.press('#filter', 'Enter');
    await page.waitForFunction("document.querySelectorAll('#runs tbody tr').length === 12");
    await page.click('#colsBtn');
    await page.uncheck('#colsPanel input[value="params.batch"]');
    assert.ok(!(await page.locator('#runs th').allInnerTexts()).some((x) => x.trim() === 'batch'));

    // Select three runs and compare them.
    const picks = page.locator('#runs input.pick');
    for (const i of [0, 1, 2]) await picks.nth(i).check();
    await page.click('#compare');
    await page.waitForSelector('#chart svg path.series');
    assert.equal(await page.locator('#chart svg path.series').count(), 3);
    await page.selectOption('#key', 'val/acc');
    await page.waitForFunction("location.hash.includes('key=val%2Facc')");
    await page.waitForSelector('#chart svg path.series');
    await page.screenshot({ path: join(shots, 'compare.png') });

    // Run page with metric charts and artifacts; a PNG artifact (a sample grid) is shown inline.
    const grid = join(mkdtempSync(join(tmpdir(), 'lathe-grid-')), 'grid.png');
    await writeImageGrid(grid, {
      dtype: 'float32',
      shape: [4, 1, 6, 6],
      data: Float32Array.from({ length: 144 }, (_, i) => (i % 7) / 6),
    });
    await logArtifactTo(store, runIds[0], grid, { name: 'samples/grid.png' });
    await page.goto(`${ui.url}/#/run/${runIds[0]}`);
    await page.waitForSelector('#charts svg path.series');
    assert.match(await page.locator('main').innerText(), /model\.onnx/);
    await page.waitForFunction(
      "(() => { const i = document.querySelector('figure.artifact-image img'); return !!i && i.complete && i.naturalWidth > 0; })()",
    );
    assert.equal(
      await page.evaluate("document.querySelector('figure.artifact-image img').naturalWidth"),
      2 * 6 + 3 * 2,
    );
    await page.screenshot({ path: join(shots, 'run.png'), fullPage: true });

    // Notes are a write: refused without the token, saved once the page was opened with the token URL lathe ui prints.
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`${ui.url}/#/run/${runIds[1]}`);
    await page.waitForSelector('#saveNotes');
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
    assert.equal(dialogs.length, 1);

    // Study views.
    await page.goto(`${ui.url}/#/study/mlp-lr`);
    await page.waitForSelector('#history svg circle.dot');
    assert.equal(await page.locator('#history svg circle.dot').count(), 36);
    assert.ok((await page.locator('#parallel svg polyline').count()) === 36);
    assert.match(await page.locator('#importance').innerText(), /lr/);
    await page.screenshot({ path: join(shots, 'study.png'), fullPage: true });
    await page.goto(`${ui.url}/#/study/size-vs-loss`);
    await page.waitForSelector('#pareto svg circle.dot');
    await page.screenshot({ path: join(shots, 'pareto.png'), fullPage: true });

    // Registry.
    await page.goto(`${ui.url}/#/model/fmnist-mlp`);
    await page.waitForSelector('#versions');
    assert.match(await page.locator('#versions').innerText(), /@champion/);
    await page.screenshot({ path: join(shots, 'model.png') });

    assert.deepEqual(errors, []);
    for (const f of ['runs.png', 'compare.png', 'run.png', 'study.png', 'pareto.png', 'model.png'])
      assert.ok(statSync(join(shots, f)).size > 5000, f);
  } finally {
    await browser.close();
    await ui.app.close();
    await store.close();
    await tmp.cleanup();
  }
});
