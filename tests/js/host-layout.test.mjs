// The Apps Script host performs the core's commands and decides nothing: the executor (runner.js)
// and its Sheets mechanics (sheets.js) hold no threshold, no message and no sheet layout of their
// own. A grep over them: numbers other than 0 and 1, text of three words or more, sheet and
// Property names, and cells written at a fixed row or column all fail it. What is allowed is
// listed, each with why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';
const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'appsscript', 'src');
const FILES = ['runner.js', 'sheets.js'];

/** Literals the host may hold: the wire format of HTTP and the platform's own words. */
const ALLOWED = [
  // Apps Script's refusal of a write past the grid, matched (not written) to grow the sheet.
  /\/outside the dimensions\//,
];

function code(line) {
  // Comments are prose, not behaviour.
  return line.replace(/^\s*(\*|\/\*|\/\/).*$/, '').replace(/\s\/\/.*$/, '');
}

export function offences(text, file) {
  const found = [];
  text.split('\n').forEach((raw, i) => {
    let line = code(raw);
    for (const re of ALLOWED) line = line.replace(re, '');
    const at = `${file}:${i + 1}: ${raw.trim()}`;
    const strings = [...line.matchAll(/'([^'\\]|\\.)*'/g)].map((m) => m[0]);
    const bare = strings.reduce((l, s) => l.replace(s, "''"), line);
    if (/(^|[^\w.$])(?!0\b|1\b)\d+(\.\d+)?\b/.test(bare)) found.push(`a number: ${at}`);
    if (strings.some((s) => /[A-Za-z]+\s+[A-Za-z]+\s+[A-Za-z]+/.test(s))) found.push(`a message: ${at}`);
    if (strings.some((s) => /^'(_rowbatch|ROWBATCH_|Output'|Progress'|Batches'|Report')/.test(s))) found.push(`a sheet or Property name: ${at}`);
  });
  return found;
}

test('the executor holds no threshold, message, sheet name or column position of its own', { skip }, () => {
  const found = FILES.flatMap((f) => offences(fs.readFileSync(path.join(src, f), 'utf8'), f));
  assert.deepEqual(found, []);
});

test('the grep finds what it looks for', { skip }, () => {
  const planted = [
    "  lock.waitLock(30000);",
    "  throw new Error('rowbatch: no API key set');",
    "  var p = props.getProperty('ROWBATCH_STATE');",
    "  if (finished >= 20 && failed / finished > 0.2) mail();",
    "  rbPut_(sheet, row, 4, [[status]], 0);",
  ].join('\n');
  assert.equal(offences(planted, 'planted').length, 5);
  assert.deepEqual(offences("  x.lock.waitLock(c.waitMs); // 30 s, from the core\n  rbPut_(sheet, 1, 1, v, 0);", 'clean'), []);
});
