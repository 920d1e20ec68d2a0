// `npm start`'s job on the bundled example: the duplicate groups a reader of the sheet can see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs with the Node build';

test('the example job signs every row and reports the duplicates and the blank row', { skip }, () => {
  const out = execFileSync('node', ['tools/start.mjs'], { encoding: 'utf8' });
  assert.match(out, /scenarios\.csv: 24 rows signed/);
  assert.match(out, /sheet row 18: blank, skipped/);
  assert.match(out, /duplicates SIG_v1_[0-9a-f]{32}: row 2 \(SIM-001\), row 8 \(SIM-007\)/);
  assert.match(out, /duplicates SIG_v1_[0-9a-f]{32}: row 3 \(SIM-002\), row 14 \(SIM-013\)/);
  assert.match(out, /^21 rows to process/m);
  const written = JSON.parse(fs.readFileSync('out/signatures.json', 'utf8'));
  assert.equal(written.signatures.length, 24);
  assert.equal(new Set(written.signatures).size, 24 - 2); // each duplicate pair shares one signature
});
