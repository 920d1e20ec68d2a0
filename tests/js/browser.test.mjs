// The browser build behind the web demo page, used the way a person would: keyboard, paste, look.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { openHost } from './hosts.mjs';

const skip = process.env.ROWBATCH_HOST !== 'browser' && 'runs with ROWBATCH_HOST=browser';
let host;

before(async () => {
  if (!skip) host = await openHost('browser');
});
after(async () => {
  await host?.close();
});

test('the page loads the module and reports it', { skip }, async () => {
  const status = await host.page.textContent('#status');
  assert.match(status, /rowbatch core \d+\.\d+\.\d+ loaded in \d+ ms \(signatures v1\)/);
  assert.deepEqual(host.pageErrors, []);
});

test('pasted rows show their duplicate groups, and pasted HTML stays text', { skip }, async () => {
  const { page } = host;
  const tsv = [
    'Case_ID\tTitle\tAge',
    'SIM-1\tChest pain\t54',
    'SIM-2\t<img src=x onerror="window.pwned=1">\t7',
    'SIM-3\t  Chest   pain \t54.0',
    'SIM-4\t<img src=x onerror="window.pwned=1">\t7',
  ].join('\n');
  await page.focus('#rows');
  await page.keyboard.insertText(tsv);
  await page.fill('#columns', 'Title, Age');
  await page.focus('#check');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#result table');
  const rows = await page.$$eval('#result tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.deepEqual(rows.map((r) => r[0]), ['Sheet rows', '2, 4', '3, 5']);
  assert.match(await page.textContent('#result p'), /^4 rows signed in [\d.]+ ms: 2 duplicate groups, 0 blank rows\.$/);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.$$eval('#result img', (imgs) => imgs.length), 0);
  fs.mkdirSync('out/screenshots', { recursive: true });
  await page.screenshot({ path: 'out/screenshots/web-demo-duplicates.png', fullPage: true });
});

test('a bad column name is shown as a clear message, not a blank page', { skip }, async () => {
  const { page } = host;
  await page.fill('#columns', 'Titel');
  await page.click('#check');
  const msg = await page.textContent('#result .error');
  assert.match(msg, /^columns\[0\]: expected a column of the header \(Case_ID, Title, Age\), found "Titel"$/);
});
