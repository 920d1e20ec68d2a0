// `npm start`'s job on the bundled example: the findings and duplicate groups a reader of the
// sheet can see for themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs with the Node build';

test('the example job validates and signs every row, and reports what it will not send', { skip }, () => {
  const out = execFileSync('node', ['tools/start.mjs'], { encoding: 'utf8' });
  assert.match(out, /spec ok \(key Case_ID; identity Title, Age, Presentation\)/);
  assert.match(out, /28 rows validated in [\d.]+ ms: 23 valid, 4 with errors, 1 blank/);
  assert.match(out, /C26 error type: expected a whole number, found "seventy"/);
  assert.match(out, /C27 error maximum: expected at most 120, found 150/);
  assert.match(out, /A28 error pattern: /);
  assert.match(out, /C29 warning null_token: "N\/A" means no value \(fix: "N\/A" → null\)/);
  assert.match(out, /sheet row 18: blank, skipped/);
  assert.match(out, /duplicates SIG_v1_[0-9a-f]{32}: row 2 \(SIM-001\), row 8 \(SIM-007\)/);
  assert.match(out, /duplicates SIG_v1_[0-9a-f]{32}: row 3 \(SIM-002\), row 14 \(SIM-013\)/);
  assert.match(out, /^21 rows to process/m);
  const written = JSON.parse(fs.readFileSync('out/signatures.json', 'utf8'));
  assert.equal(written.signatures.length, 28);
  assert.equal(new Set(written.signatures).size, 28 - 2); // each duplicate pair shares one signature
  assert.equal(written.validation.summary.withErrors, 4);
});
