// From a sheet with only a header and rows to a finished job, through the sidebar alone, in
// Chromium against the local runtime and the fake provider: both shipped example jobs rebuilt
// in the new-job form by its controls (typing, choosing, clicking column chips) give exactly
// the shipped specs; the core's messages appear at the form's bad input; then the key is
// stored and checked, a dry run, Start, progress, and the report. A screenshot of each step
// goes to out/screenshots/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../../apps-script-runtime/runtime.mjs';
import { Workbook, enter } from '../../apps-script-runtime/workbook.mjs';
import { createFakeProvider } from '../../fake-provider/provider.mjs';
import { readSheet } from '../../tools/start.mjs';
import { sidebarPage } from './sidebar-page.mjs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'browser' && 'runs with the browser host';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const example = (name) => JSON.parse(fs.readFileSync(path.join(root, 'examples', name, 'job.json'), 'utf8'));

/** A workbook with the two example sheets as a person would have them: header and rows, no job. */
function workbook() {
  const wb = new Workbook('new user');
  for (const [sheet, file] of [['Scenarios', 'clinical/scenarios.csv'], ['Brands', 'brands/brands.csv']]) {
    const { header, rows } = readSheet(path.join(root, 'examples', file));
    const s = wb.insert(sheet);
    [header, ...rows].forEach((r, i) => r.forEach((v, j) => s.set(i, j, enter(v))));
  }
  return wb;
}

// ---- driving the form by its controls ----
const sel = (p) => `[data-path="${p}"]`;
async function type(page, p, v) { await page.fill(sel(p), v === undefined || v === null ? '' : String(v)); }
async function tick(page, p, on) {
  const box = page.locator(`input${sel(p)}`);
  if ((await box.isChecked()) !== Boolean(on)) await box.click();
}
async function fillField(page, p, f, { item = false } = {}) {
  if (!item) await type(page, `${p}.name`, f.name);
  await page.selectOption(`select${sel(`${p}.type`)}`, f.type);
  if (!item) await tick(page, `${p}.required`, f.required);
  await tick(page, `${p}.nullable`, f.nullable);
  for (const k of ['min', 'max', 'pattern']) if (f[k] !== undefined) await type(page, `${p}.${k}`, f[k]);
  if (f.type === 'oneOf') await type(page, `${p}.options`, f.options.join(', '));
  if (f.type === 'shared') await page.selectOption(`select${sel(`${p}.shared`)}`, f.shared);
  if (f.description) await type(page, `${p}.description`, f.description);
  if (f.type === 'listOf') await fillField(page, `${p}.item`, f.item, { item: true });
  if (f.type === 'object') await fillFields(page, `${p}.fields`, f.fields);
}
async function fillFields(page, p, fields) {
  for (let i = 0; i < fields.length; i += 1) {
    if (await page.locator(`[data-field="${p}.${i}"]`).count() === 0) await page.click(`[data-add="${p}"]`);
    await fillField(page, `${p}.${i}`, fields[i]);
  }
  while (await page.locator(`[data-field="${p}.${fields.length}"]`).count() > 0) await page.click(`[data-remove="${p}.${fields.length}"]`);
}
async function fillRules(page, p, uses = []) {
  for (const [i, u] of uses.entries()) {
    await page.click(typeof u.pack === 'string' ? `[data-add="${p}"]` : `[data-add-inline="${p}"]`);
    await type(page, `${p}.${i}.pack`, typeof u.pack === 'string' ? u.pack : JSON.stringify(u.pack));
    if (u.at) await type(page, `${p}.${i}.at`, u.at.join(', '));
  }
}
/** The template typed, with each {{Column}} put in by clicking its chip. */
async function writeTemplate(page, template) {
  await type(page, 'spec.prompt.template', '');
  await page.focus(sel('spec.prompt.template'));
  for (const part of template.split(/(\{\{[^}]+\}\})/)) {
    const chip = /^\{\{(.+)\}\}$/.exec(part);
    if (chip) await page.click(`[data-chip="${chip[1]}"]`);
    else if (part) await page.keyboard.type(part);
  }
}
/** A job, entered in a new job's form by its controls only. */
async function rebuild(page, spec, form) {
  await type(page, 'spec.name', spec.name);
  await type(page, 'spec.input.sheet', spec.input.sheet);
  await type(page, 'spec.output.sheet', spec.output.sheet);
  await page.selectOption(`select${sel('spec.input.key')}`, spec.input.key);
  await fillFields(page, 'columns', form.columns);
  await fillRules(page, 'spec.input.rules', spec.input.rules);
  await type(page, 'spec.prompt.system', spec.prompt.system);
  await writeTemplate(page, spec.prompt.template);
  for (const [i, t] of (form.types || []).entries()) {
    await page.click('[data-add="types"]');
    await type(page, `types.${i}.name`, t.name);
    await fillFields(page, `types.${i}.fields`, t.fields);
  }
  await fillFields(page, 'fields', form.fields);
  await fillRules(page, 'spec.output.rules', spec.output.rules);
  for (const [i, ex] of (spec.prompt.examples || []).entries()) {
    await page.click('[data-add="spec.prompt.examples"]');
    await type(page, `spec.prompt.examples.${i}.input`, JSON.stringify(ex.input));
    await type(page, `spec.prompt.examples.${i}.output`, JSON.stringify(ex.output));
  }
  for (const [k, v] of Object.entries(spec.limits || {})) await type(page, `spec.limits.${k}`, v);
  await page.selectOption(`select${sel('spec.provider.kind')}`, spec.provider.kind);
  await page.selectOption(`select${sel('spec.provider.model')}`, spec.provider.model);
  await type(page, 'spec.provider.maxOutputTokens', spec.provider.maxOutputTokens);
  if (spec.provider.temperature !== undefined) await type(page, 'spec.provider.temperature', spec.provider.temperature);
  await type(page, 'spec.budget.maxUsd', spec.budget.maxUsd);
}
const text = (page, id) => page.textContent(`#${id}`);
/** Waits for the element's text to match; on a timeout, says what it showed instead. */
async function until(page, id, re, timeout = 30000) {
  try {
    await page.waitForFunction(([i, s]) => new RegExp(s).test(document.getElementById(i).textContent), [id, re.source], { timeout });
  } catch (e) {
    const shown = await page.evaluate(() => ['state', 'answer', 'rb-saved', 'rb-problems'].map((i) => `#${i}: ${document.getElementById(i).textContent}`).join('\n'));
    throw new Error(`#${id} never matched ${re}; the page showed\n${shown}`);
  }
}

test('a new user goes from a bare sheet to a finished job through the sidebar alone', { skip }, async () => {
  const { chromium } = await import('playwright-core');
  const { chromiumPath } = await import('../../tools/setup.mjs');
  const rowbatch = require(path.join(root, 'wasm', 'pkg', 'nodejs', 'rowbatch.js'));
  const fake = createFakeProvider({ latencyMedianMs: 800, latencyP95Ms: 2000 });
  let rt = null;
  rt = new Runtime({ workbook: workbook(), simulated: true, start: Date.UTC(2026, 11, 2, 9), provider: (req, at) => fake.handle(req, at ?? rt.now()) });
  rt.select('Brands', 'A2');
  const open = await rt.run('rowbatchOpenSidebar');
  assert.ok(open.ok, JSON.stringify(open.error));
  const { html } = rt.ui.sidebars[0];
  const shots = path.join(root, 'out', 'screenshots');
  fs.mkdirSync(shots, { recursive: true });
  const shot = (page, name) => page.screenshot({ path: path.join(shots, `new-job-${name}.png`), fullPage: true });
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    let started = null;
    const { page, errors } = await sidebarPage(browser, rt, html, {
      height: 700, onCall: (fn, execution) => { if (fn === 'rowbatchStartMenu') started = execution; },
    });
    await page.click('#tab-job');
    // No job yet: a new one over the active sheet, its columns from the header.
    await page.waitForSelector(sel('columns.2.name'));
    assert.deepEqual(await page.$$eval('[data-chip]', (n) => n.map((b) => b.textContent)), ['Brand', 'Website', 'Parent_Company']);
    await shot(page, '1-blank');

    // 1. The brands example, entered by hand, is the shipped spec.
    const brands = example('brands');
    await rebuild(page, brands, rowbatch.formFromSpec({ spec: brands }));
    await until(page, 'rb-prompt', /^Row 2, as sent:/);
    assert.match(await text(page, 'rb-prompt'), /Brand: Nike\nWebsite: https:\/\/www\.nike\.com\nParent company: Nike Inc\./);
    assert.match(await text(page, 'rb-cost'), /^About \$[\d.]+ for this row; \$[\d.]+ for 12 rows \(\$[\d.]+ with the Batch API\)$/);
    await page.click('#rb-save');
    await until(page, 'rb-saved', /^Saved "Brand profiles"; it is the selected job\.$/);
    assert.deepEqual(JSON.parse(rt.workbook.sheet('_rowbatch_spec').get(0, 0)), brands);

    // 2. The clinical example, from a new job over the Scenarios sheet.
    rt.select('Scenarios', 'A2');
    await page.click('#rb-blank');
    await page.waitForFunction(() => document.querySelector('[data-chip="Case_ID"]'));
    const clinical = example('clinical');
    await rebuild(page, clinical, rowbatch.formFromSpec({ spec: clinical }));
    await shot(page, '2-clinical-form');
    // Bad input gets the core's located message and cannot be saved; mended, it can.
    await type(page, 'spec.prompt.template', 'Case {{Case_ID}}: {{Titel}}');
    await until(page, 'rb-problems', /prompt\.template: expected a column of input\.schema/);
    assert.match(await text(page, 'rb-problems'), /prompt\.template: expected a column of input\.schema \(Case_ID, Title, Age, Presentation\), found "\{\{Titel\}\}"/);
    await type(page, 'spec.limits.waveSize', 0);
    await until(page, 'rb-problems', /limits\.waveSize: expected/);
    assert.equal(await page.isDisabled('#rb-save'), true);
    await shot(page, '3-problems');
    await type(page, 'spec.limits.waveSize', clinical.limits.waveSize);
    await writeTemplate(page, clinical.prompt.template);
    await until(page, 'rb-prompt', /^Row 2, as sent:/);
    assert.equal(await text(page, 'rb-problems'), '');
    // The JSON view shows the same spec, and an edit there shows in the form.
    await page.click('#rb-view-json');
    assert.deepEqual(JSON.parse(await page.inputValue('#rb-json')), clinical);
    const edited = { ...clinical, output: { ...clinical.output, spread: ['initialVitals'] } };
    await page.fill('#rb-json', JSON.stringify(edited, null, 2));
    await until(page, 'rb-json-note', /^The form shows this spec\.$/);
    await page.click('#rb-view-form');
    assert.equal(await page.isChecked(`input${sel('fields.0.spread')}`), true);
    await page.click(`input${sel('fields.0.spread')}`);
    await page.click('#rb-save');
    await until(page, 'rb-saved', /^Saved "Clinical simulation scenarios: initial and state vitals"; it is the selected job\.$/);
    assert.deepEqual(JSON.parse(rt.workbook.sheet('_rowbatch_spec').get(0, 0)), clinical);
    const names = await page.$$eval('#rb-jobs option', (n) => n.map((o) => o.textContent));
    assert.deepEqual(names.slice(1), ['Brand profiles', 'Clinical simulation scenarios: initial and state vitals (selected)']);

    // 3. The key: none yet, then stored and checked for nothing.
    await page.click('#tab-run');
    await page.click('#checkKey');
    await until(page, 'rb-keycheck-run', /^no API key is set/);
    await page.click('#tab-job');
    await page.fill('#rb-key', 'sk-test-new-user');
    await page.click('#rb-key-save');
    await until(page, 'rb-keycheck', /^key accepted: the provider has gpt-4o-mini/);
    assert.equal(await page.inputValue('#rb-key'), '', 'the key leaves the page');
    assert.equal(rt.properties.user.OPENAI_API_KEY, 'sk-test-new-user');
    await shot(page, '4-key-checked');
    assert.equal(fake.stats.answers, 0, 'no row asked yet');

    // 4. Dry run: what would go and what it costs; nothing sent.
    await page.click('#tab-run');
    await page.click('#dryRun');
    await until(page, 'answer', /nothing was sent, leased or written$/);
    assert.match(await text(page, 'answer'), /^\d+ rows would be sent now \(0 done/);
    assert.match(await text(page, 'answer'), /the first request goes to https:\/\/api\.openai\.com\/v1\/chat\/completions for sheet row 2 \(SIM-001\)/);
    assert.equal(fake.stats.answers, 0);
    await shot(page, '5-dry-run');

    // 5. Start; progress moves; the triggers finish the run.
    await page.click('#start');
    await until(page, 'done', /^[1-9]\d* of \d+$/, 60000);
    await shot(page, '6-running');
    await started;
    await rt.runTriggers({ maxRuns: 50 });
    await until(page, 'state', /^finished$/, 60000);
    await shot(page, '7-finished');

    // 6. The report, in the sidebar.
    await page.click('#report');
    await until(page, 'answer', /^#/);
    await shot(page, '8-report');
    const out = rt.workbook.sheet('Scenario Vitals');
    assert.ok(out && out.rows.length > 10, 'answers written');
    assert.ok(fake.stats.answers > 10);
    assert.deepEqual(errors, []);

    // 7. A page that cannot start the module: the form works through the server's core.
    const { page: bare, errors: bareErrors, calls: served } = await sidebarPage(browser, rt, html, { height: 700, withoutWasm: true });
    await bare.click('#tab-job');
    await until(bare, 'rb-where', /could not start the module .*: the server checks the job, with the same core\.$/);
    await until(bare, 'rb-prompt', /^Row 2, as sent:/);
    assert.equal(await bare.inputValue(sel('spec.name')), clinical.name, 'the selected job, shown by the server\'s core');
    await type(bare, 'spec.prompt.template', 'Case {{Titel}}');
    await until(bare, 'rb-problems', /prompt\.template: expected a column of input\.schema \(Case_ID, Title, Age, Presentation\), found "\{\{Titel\}\}"/);
    assert.ok(served.includes('rowbatchCore'), served.join(','));
    await shot(bare, '9-no-webassembly');
    assert.deepEqual([...errors, ...bareErrors], []);
  } finally {
    await browser.close();
  }
});
