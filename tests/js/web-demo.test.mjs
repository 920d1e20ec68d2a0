// The web preview as a person uses it, in Debian's Chromium: paste the example sheet, read the
// seeded errors in their cells, apply the fixes, preview a prompt, export; malformed pastes get
// a clear message; 10,000 rows are checked off the main thread. Screenshots go to out/screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const skip = process.env.ROWBATCH_HOST !== 'browser' && 'runs with ROWBATCH_HOST=browser';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const shots = path.join(root, 'out', 'screenshots');
const require = createRequire(import.meta.url);
let browser;
let server;

before(async () => {
  if (skip) return;
  const { chromium } = await import('playwright-core');
  const { serve } = await import('../../tools/serve.mjs');
  const { chromiumPath } = await import('../../tools/setup.mjs');
  server = await serve(path.join(root, 'web-demo'));
  browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  fs.mkdirSync(shots, { recursive: true });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function open() {
  const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1200, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(server.url);
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true', null, { timeout: 20000 });
  return { page, errors };
}

function exampleTsv() {
  const Papa = require('papaparse');
  const rows = Papa.parse(fs.readFileSync(path.join(root, 'examples', 'clinical', 'scenarios.csv'), 'utf8').trim()).data;
  return rows.map((r) => r.join('\t')).join('\n');
}

async function paste(page, text) {
  await page.fill('#rows', '');
  await page.focus('#rows');
  await page.keyboard.insertText(text);
  await page.focus('#check');
  await page.keyboard.press('Enter');
}

async function download(page, button) {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
  return { name: d.suggestedFilename(), text: fs.readFileSync(await d.path(), 'utf8') };
}

test('the example sheet: seeded errors in their cells, fixes applied, a prompt previewed, files exported', { skip }, async () => {
  const { page, errors } = await open();
  await paste(page, exampleTsv());
  await page.waitForFunction(() => /rows validated in/.test(document.getElementById('summary').textContent));
  assert.match(await page.textContent('#summary'),
    /^28 rows validated in [\d.]+ ms \(all checks \d+ ms\): 23 valid, 4 with errors, 0 warnings, 1 fixes proposed; 5 excluded, 2 duplicate groups\.$/);
  const errorCell = async (row) => page.$$eval(`tr[data-row="${row}"] td.error`, (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(await errorCell(26), ['seventy']);
  assert.deepEqual(await errorCell(27), ['150']);
  assert.deepEqual(await errorCell(28), ['SIM-27']);
  assert.deepEqual(await errorCell(29), ['N/A→ '], 'N/A, with its fix (empty)');
  assert.match(await page.textContent('tr[data-row="26"] td.findings'), /^C26 error: expected a whole number, found "seventy"$/);
  assert.equal(await page.textContent('tr[data-row="18"] td:nth-of-type(4)'), 'blank');
  assert.match(await page.textContent('#duplicates'), /rows 3, 14 \(SIM-002, SIM-013\): the same content; only row 3 is sent/);
  assert.match(await page.textContent('#estimate'), /Batch API\$[\d.]+\$[\d.]+/);
  await page.screenshot({ path: path.join(shots, 'web-demo-results.png'), fullPage: true });

  // The prompt of sheet row 3: the static prefix marked, then the row.
  await page.fill('#prompt-row', '3');
  await page.dispatchEvent('#prompt-row', 'change');
  await page.waitForFunction(() => /This row/.test(document.getElementById('prompt').textContent) && /SIM-002/.test(document.getElementById('prompt').textContent));
  assert.match(await page.textContent('#prompt pre.cached'), /^You write vital signs for high-fidelity clinical simulation scenarios/);
  assert.ok(!(await page.textContent('#prompt pre.cached')).includes('SIM-002'), 'the row is not in the cached prefix');
  assert.match(await page.textContent('#prompt-tokens'), /^About \d+ prompt tokens, \d+ of them the static prefix\.$/);

  // Apply the fixes: N/A becomes empty, which the spec then reports as missing.
  await page.click('#apply-fixes');
  await page.waitForFunction(() => / 0 fixes proposed/.test(document.getElementById('summary').textContent));
  assert.deepEqual(await errorCell(29), ['']);
  assert.match(await page.textContent('tr[data-row="29"] td.findings'), /C29 error: required, but the cell is empty/);

  const csv = await download(page, '#export-csv');
  assert.equal(csv.name, 'rowbatch-fixed-rows.csv');
  const lines = csv.text.trim().split('\r\n');
  assert.equal(lines[0], 'Case_ID,Title,Age,Presentation');
  assert.equal(lines.length, 29);
  assert.match(lines[28], /^SIM-028,Neonatal sepsis,,"Poor feeding/, 'sheet row 29: N/A fixed to empty');
  const batch = await download(page, '#export-batch');
  assert.equal(batch.name, 'rowbatch-batch-1.jsonl');
  const requests = batch.text.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(requests.length, 21, '28 rows less 1 blank, 4 invalid and 2 duplicates');
  assert.ok(requests.every((r) => r.method === 'POST' && r.url === '/v1/chat/completions' && /^[A-Za-z0-9_-]{1,64}$/.test(r.custom_id)));
  const spec = await download(page, '#export-spec');
  assert.deepEqual(JSON.parse(spec.text), JSON.parse(fs.readFileSync(path.join(root, 'examples', 'clinical', 'job.json'), 'utf8')));
  assert.deepEqual(errors, []);
  await page.close();
});

test('malformed input gets a clear message, never a blank page; markup stays text', { skip }, async () => {
  const { page, errors } = await open();
  await paste(page, 'Case_ID\tTitle\tAge\tPresentation\nSIM-001\tA\t5\tChest pain for an hour\textra\tmore\nSIM-002\tB\t6\tChest pain');
  assert.equal(await page.textContent('#rows-message'), 'Rows are wider than the header (4 columns): row 2 has 6 cells. Copy whole rows, header included.');
  assert.equal(await page.isHidden('#results'), true);
  await paste(page, 'SIM-001\tA\t5\tChest pain for an hour\nSIM-002\tB\t6\tChest pain for two');
  assert.match(await page.textContent('#rows-message'), /^The first line is not the header: expected the columns Case_ID, Title, Age, Presentation, found SIM-001, A, 5, /);
  await paste(page, '');
  assert.match(await page.textContent('#rows-message'), /^Paste a header line and at least one row/);
  await paste(page, 'Case_ID\tTitle\tAge\tPresentation\nSIM-001\t<img src=x onerror="window.pwned=1">\t5\t<script>window.pwned=2</script> chest pain');
  await page.waitForFunction(() => /rows validated in/.test(document.getElementById('summary').textContent));
  assert.equal(await page.$$eval('#table img, #table script', (n) => n.length), 0);
  assert.equal(await page.evaluate(() => window.pwned), undefined);

  // The spec: not JSON, then a shape problem at its JSON path.
  await page.fill('#spec', '{ "name": "x", ');
  await page.waitForFunction(() => /not JSON/.test(document.getElementById('spec-problems').textContent));
  const spec = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'clinical', 'job.json'), 'utf8'));
  await page.fill('#spec', JSON.stringify({ ...spec, limits: { waveSize: 'twenty' } }, null, 2));
  await page.waitForFunction(() => /waveSize/.test(document.getElementById('spec-problems').textContent));
  assert.equal(await page.textContent('#spec-problems li'), 'limits.waveSize: expected a whole number, found "twenty"');
  await page.click('#check');
  assert.equal(await page.textContent('#rows-message'), 'Fix the job spec first (see the problems under it).');
  await page.screenshot({ path: path.join(shots, 'web-demo-errors.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('an XLSX file opens like a paste', { skip }, async () => {
  const { zipSync, strToU8 } = require('fflate');
  const cells = [['Case_ID', 'Title', 'Age', 'Presentation'], ['SIM-001', 'Chest pain', 54, 'Crushing chest pain for an hour'], ['SIM-002', 'Fever', 'seventy', 'Fever and confusion since morning']];
  const col = (j) => String.fromCharCode(65 + j);
  const xml = (v, ref) => (typeof v === 'number' ? `<c r="${ref}"><v>${v}</v></c>` : `<c r="${ref}" t="inlineStr"><is><t>${v}</t></is></c>`);
  const sheet = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${
    cells.map((r, i) => `<row r="${i + 1}">${r.map((v, j) => xml(v, `${col(j)}${i + 1}`)).join('')}</row>`).join('')}</sheetData></worksheet>`;
  const xlsx = zipSync({
    '[Content_Types].xml': strToU8('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    '_rels/.rels': strToU8('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    'xl/workbook.xml': strToU8('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Scenarios" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    'xl/_rels/workbook.xml.rels': strToU8('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
    'xl/worksheets/sheet1.xml': strToU8(sheet),
  });
  const { page, errors } = await open();
  await page.setInputFiles('#file', { name: 'scenarios.xlsx', mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer: Buffer.from(xlsx) });
  await page.waitForFunction(() => /rows validated in/.test(document.getElementById('summary').textContent) || document.getElementById('rows-message').textContent);
  assert.equal(await page.textContent('#rows-message'), '');
  assert.match(await page.textContent('#summary'), /^2 rows validated in .*: 1 valid, 1 with errors/);
  assert.deepEqual(await page.$$eval('tr[data-row="3"] td.error', (tds) => tds.map((td) => td.textContent)), ['seventy']);
  assert.deepEqual(errors, []);
  await page.close();
});

test('10,000 pasted rows are checked off the main thread; the page says how long it took', { skip }, async () => {
  const { page, errors } = await open();
  const lines = ['Case_ID\tTitle\tAge\tPresentation'];
  for (let i = 1; i <= 10_000; i += 1) lines.push(`SIM-${String(i % 1000).padStart(3, '0')}\tCase ${i}\t${i % 130}\tPresentation ${i}: short of breath for ${i % 9} hours`);
  // As a paste lands: the whole text in the box at once.
  await page.$eval('#rows', (t, v) => { t.value = v; }, lines.join('\n'));
  // Frames keep coming while the worker checks: record the longest gap on the main thread.
  await page.evaluate(() => {
    window.__gaps = [];
    let last = performance.now();
    const tick = () => { const now = performance.now(); window.__gaps.push(now - last); last = now; if (!window.__stop) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
  const t0 = Date.now();
  await page.click('#check');
  await page.waitForFunction(() => /rows validated in/.test(document.getElementById('summary').textContent), null, { timeout: 60000 });
  const wall = Date.now() - t0;
  const gap = await page.evaluate(() => { window.__stop = true; return Math.max(...window.__gaps); });
  const summary = await page.textContent('#summary');
  console.log(`web demo, 10,000 rows: "${summary.slice(0, 80)}…"; ${wall} ms until shown; longest main-thread frame gap ${gap.toFixed(0)} ms`);
  assert.match(summary, /^10000 rows validated in [\d.]+ ms/);
  assert.equal(await page.textContent('#page'), 'rows 1–100 of 10000');
  assert.equal(await page.$$eval('#table tr[data-row]', (trs) => trs.length), 100);
  await page.check('#only-problems');
  assert.match(await page.textContent('#page'), /^rows 1–100 of \d+$/);
  assert.deepEqual(errors, []);
  await page.close();
});
