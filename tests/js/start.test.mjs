// `npm start`'s job on the bundled example: the preflight a reader of the sheet can check for
// themselves, then the real batch through the Apps Script project in the local runtime against
// the fake provider, and a second run that sends nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs with the Node build';

test('the example job validates and signs every row, runs, and a second run sends nothing', { skip }, () => {
  fs.rmSync('out/workbook', { recursive: true, force: true });
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

  // The batch: 21 rows to send, each ends with exactly one output row, done or failed for good.
  const report = JSON.parse(fs.readFileSync('out/report.json', 'utf8'));
  assert.equal(report.finished, true);
  assert.equal(report.counts.done + report.counts.failed, 21);
  assert.deepEqual([report.counts.duplicates, report.counts.excluded], [2, 5]);
  assert.ok(report.sent >= 21, `sent ${report.sent}`);
  assert.ok(report.costUsd > 0 && report.costUsd < 2);
  // Answers with a vital left out or impossible are mended by the clinical pack's defaults, and
  // each row says which and why.
  assert.ok(report.fixedRows >= 1, `${report.fixedRows} rows mended`);
  assert.match(out, /rows mended by the rule packs, e\.g\. row \d+: fixed (initialVitals\.Temp: Temp was missing|states\[\d\]\.vitals\.HR: HR 999 bpm is impossible): the pack's default/);
  const output = fs.readFileSync('out/workbook/Scenario_Vitals.csv', 'utf8').trim().split('\n');
  assert.equal(output[0], '_key,_signature,_spec,_status,_note,initialVitals,states,teachingPoint,_quality,_warnings,_attempt,_costUsd,_answeredAt');
  const keys = output.slice(1).map((l) => l.split(',')[0]);
  assert.equal(keys.length, 21);
  assert.equal(new Set(keys).size, 21, 'one row per key');
  assert.ok(!keys.includes('SIM-007') && !keys.includes('SIM-013'), 'duplicates are never sent');
  assert.match(out, /\] 21\/21 \(\d+ done, \d+ failed\) ETA/);
  assert.doesNotMatch(fs.readFileSync('out/workbook/properties.json', 'utf8'), /API_KEY|sk-/, 'keys are not saved');

  const again = execFileSync('node', ['tools/start.mjs'], { encoding: 'utf8' });
  assert.match(again, /nothing to send/);
  const second = JSON.parse(fs.readFileSync('out/report.json', 'utf8'));
  assert.equal(second.sent, 0);
  assert.equal(second.counters.urlFetchRequests, 0);
  assert.equal(fs.readFileSync('out/workbook/Scenario_Vitals.csv', 'utf8').trim().split('\n').length, 22);
});

test('with ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL set, the same run goes to that endpoint as Anthropic', { skip }, async () => {
  const { startFakeProvider } = await import('../../fake-provider/server.mjs');
  const { promisify } = await import('node:util');
  const { execFile } = await import('node:child_process');
  const endpoint = await startFakeProvider({ realLatency: false });
  const saved = fs.existsSync('out/workbook') && fs.mkdtempSync('out/keep-');
  if (saved) fs.renameSync('out/workbook', `${saved}/workbook`);
  try {
    const env = { ...process.env, ANTHROPIC_API_KEY: 'sk-ant-local', ANTHROPIC_BASE_URL: endpoint.url, OPENAI_API_KEY: '' };
    const { stdout } = await promisify(execFile)('node', ['tools/start.mjs'], { encoding: 'utf8', env });
    assert.match(stdout, new RegExp(`against ${endpoint.url}/v1`));
    assert.match(stdout, /finished/);
    assert.deepEqual([...endpoint.stats.keys], ['sk-ant-local']);
    assert.ok(endpoint.stats.requests >= 21);
    const spec = JSON.parse(fs.readFileSync('out/workbook/_rowbatch_spec.csv', 'utf8').trim().replace(/^"|"$/g, '').replace(/""/g, '"'));
    assert.deepEqual([spec.provider.kind, spec.provider.model], ['anthropic', 'claude-haiku-4-5']);
  } finally {
    await endpoint.close();
    fs.rmSync('out/workbook', { recursive: true, force: true });
    if (saved) { fs.renameSync(`${saved}/workbook`, 'out/workbook'); fs.rmSync(saved, { recursive: true, force: true }); }
  }
});
