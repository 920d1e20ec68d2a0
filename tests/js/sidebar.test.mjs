// The sidebar as Apps Script serves it (rendered by the local runtime), opened in Chromium with
// google.script.run wired to the runtime: live progress while a job runs, Stop/Start buttons,
// and nothing from the sheets or a model ever becomes HTML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simulatedJob } from '../apps-script-runtime/jobs.mjs';
import { sidebarPage } from './sidebar-page.mjs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'browser' && 'runs with the browser host';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('the sidebar shows live progress, starts a job, escapes what it shows and validates a selection in the browser', { skip }, async () => {
  const { chromium } = await import('playwright-core');
  const { chromiumPath } = await import('../../tools/setup.mjs');
  const { rt, fake } = simulatedJob({ rows: 400, limits: { waveSize: 20 }, faults: { latencyMedianMs: 30000, latencyP95Ms: 60000 } });
  const open = await rt.run('rowbatchOpenSidebar');
  assert.ok(open.ok, JSON.stringify(open.error));
  const { html, title } = rt.ui.sidebars[0];
  assert.equal(title, 'rowbatch');
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  const shots = path.join(root, 'out', 'screenshots');
  fs.mkdirSync(shots, { recursive: true });
  try {
    let started = null;
    const { page, errors, calls: called } = await sidebarPage(browser, rt, html, {
      onCall: (fn, execution) => { if (fn === 'rowbatchStartMenu') started = execution; },
    });
    await page.waitForFunction(() => document.getElementById('state').textContent === 'not started');
    await page.click('#start');
    // Live: the count moves while the run is still going.
    await page.waitForFunction(() => /^[1-9]\d* of 400$/.test(document.getElementById('done').textContent), null, { timeout: 60000 });
    const mid = await page.textContent('#state');
    await page.screenshot({ path: path.join(shots, 'sidebar-running.png') });
    assert.match(mid, /running|finished/);
    // The first slice ends with a continuation trigger; the runtime's scheduler runs the rest.
    await started;
    await rt.runTriggers({ maxRuns: 50 });
    await page.waitForFunction(() => document.getElementById('state').textContent === 'finished', null, { timeout: 120000 });
    await page.screenshot({ path: path.join(shots, 'sidebar-finished.png') });
    assert.match(await page.textContent('#done'), /^\d+ of 400$/);
    assert.ok(fake.stats.requests >= 400);
    // A note that carries markup is shown as text.
    const evil = { done: 1, failed: 1, duplicates: 0, excluded: 0, pending: 0, rows: 2, costUsd: 0, startedAt: 0, at: 60000, finished: true,
      errors: [{ row: 7, key: 'SIM-7', note: '<img src=x onerror="window.__pwned=1">' }] };
    rt.properties.script.ROWBATCH_PROGRESS = JSON.stringify(evil);
    await page.waitForFunction(() => document.getElementById('errors').textContent.includes('<img'), null, { timeout: 20000 });
    assert.equal(await page.$$eval('#errors img', (n) => n.length), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    // Each error links to its row: a click selects it in the input sheet.
    const { spec } = await import('../apps-script-runtime/jobs.mjs').then((m) => ({ spec: m.clinicalSpec() }));
    await page.click('#errors a');
    for (let i = 0; i < 100 && !rt.selection; i += 1) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(rt.selection, { sheet: spec.input.sheet, a1: 'A7:D7' });

    // Workers: the run's last round while it is on, as text; then one execution, with why.
    rt.properties.script.ROWBATCH_PROGRESS = JSON.stringify({ ...evil, finished: false, pending: 5, at: 120000 });
    rt.properties.script.ROWBATCH_WORKERS = JSON.stringify({ at: 100000, count: 7, fan: { limitedBy: 'requests', rounds: 3, calls: 21, unanswered: 1, lastRoundMs: 41000, alone: null } });
    await page.waitForFunction(() => /^7 at once/.test(document.getElementById('workers').textContent), null, { timeout: 20000 });
    assert.equal(await page.textContent('#workers'), '7 at once (round 3, 41 s; limited by requests; 1 calls unanswered)');
    // A round that pools its calls over fetchAll's lanes says both.
    rt.properties.script.ROWBATCH_WORKERS = JSON.stringify({ at: 105000, count: 50, fan: { limitedBy: 'time', atOnce: 10, rounds: 1, calls: 50, unanswered: 0, lastRoundMs: 190000, alone: null } });
    await page.waitForFunction(() => /^10 at once/.test(document.getElementById('workers').textContent), null, { timeout: 20000 });
    assert.equal(await page.textContent('#workers'), '10 at once, 50 calls (round 1, 190 s; limited by time)');
    await page.screenshot({ path: path.join(shots, 'sidebar-workers.png') });
    rt.properties.script.ROWBATCH_WORKERS = JSON.stringify({ at: 110000, count: 7, fan: { limitedBy: 'requests', rounds: 4, calls: 28, unanswered: 8, lastRoundMs: 60000, alone: 'no worker answered: <b>Timeout</b>' } });
    await page.waitForFunction(() => /^one execution/.test(document.getElementById('workers').textContent), null, { timeout: 20000 });
    assert.equal(await page.textContent('#workers'), 'one execution (no worker answered: <b>Timeout</b>)');
    assert.equal(await page.$$eval('#workers b', (n) => n.length), 0);

    // Validate selection: the cells come from the sheet, the checking happens in the page.
    rt.workbook.sheet(spec.input.sheet).set(2, 2, { value: 'seventy' });
    rt.select(spec.input.sheet, 'A2:D6');
    await page.click('#validate');
    await page.waitForFunction(() => /rows checked in/.test(document.getElementById('validation').textContent), null, { timeout: 30000 });
    assert.match(await page.textContent('#validation'), /^5 rows checked in the browser in [\d.]+ ms: 4 valid, 1 with errors/);
    assert.match(await page.textContent('#findings'), /C3 error: expected a whole number, found "seventy"/);
    assert.ok(called.includes('rowbatchSelection') && !called.some((f) => /validate/i.test(f)), called.join(','));
    await page.screenshot({ path: path.join(shots, 'sidebar-validation.png') });
    assert.deepEqual(errors, []);

    // A frame that withholds WebAssembly: the server checks the same cells and the page says so.
    const { page: bare, errors: bareErrors, calls: bareCalls } = await sidebarPage(browser, rt, html, { withoutWasm: true });
    await bare.click('#validate');
    await bare.waitForFunction(() => /rows checked on the server/.test(document.getElementById('validation').textContent), null, { timeout: 30000 });
    assert.match(await bare.textContent('#validation'), /^5 rows checked on the server \(this browser could not start the module: .+\) in [\d.]+ ms: 4 valid, 1 with errors/);
    assert.match(await bare.textContent('#findings'), /C3 error: expected a whole number, found "seventy"/);
    assert.ok(bareCalls.includes('rowbatchValidateOnServer'), bareCalls.join(','));
    await bare.screenshot({ path: path.join(shots, 'sidebar-validation-server.png') });
    assert.deepEqual([...errors, ...bareErrors], []);
  } finally {
    await browser.close();
  }
});
