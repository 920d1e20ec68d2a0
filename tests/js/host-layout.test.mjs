// The Apps Script host keeps no ledger layout of its own: column counts and positions come from
// the core (`ledgerColumns()`), so a change to the ledger cannot leave the host writing the old
// shape. A grep over the host's sources, which fails on a number where a width belongs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';
const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'appsscript', 'src');

test('the host reads ledger widths and the status column from the core, never as numbers', { skip }, () => {
  const offences = [];
  for (const file of fs.readdirSync(src).filter((f) => f.endsWith('.js'))) {
    fs.readFileSync(path.join(src, file), 'utf8').split('\n').forEach((line, i) => {
      const patterns = [/rbBlock_\([^)]*,\s*\d+\)/, /rbApply_\([^)]*,\s*\d+\)/, /rbWriteSpan_\([^)]*,\s*\d+\)/,
        // A write starts in column 1 (the row's start) or where the core says.
        /rbPut_\([^,]+,[^,]+,\s*([02-9]|\d{2,})\s*,/, /width\s*-\s*\d/];
      if (patterns.some((re) => re.test(line))) offences.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offences, []);
});
