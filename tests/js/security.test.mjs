// The API key stays in Properties: not in a cell, a log line, an error, the report, the Batches
// or Progress sheets, an email or an export, even when the provider quotes it back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { simulatedJob } from '../apps-script-runtime/jobs.mjs';
import { BUILD_DIR } from '../../apps-script-runtime/runtime.mjs';

/** The manifest with the mail scope added, as a user who turns alerts on does. */
const withMail = [...JSON.parse(fs.readFileSync(path.join(BUILD_DIR, 'appsscript.json'), 'utf8')).oauthScopes, 'https://www.googleapis.com/auth/script.send_mail'];

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';
const KEY = 'sk-proj-S3CRETk3yV4lue0123456789abcdefXYZ';

test('the API key never leaves Properties, even when the provider quotes it', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 30, limits: { waveSize: 10 }, faults: { rate500: 0.1 }, runtime: { scopes: withMail } });
  rt.properties.script.OPENAI_API_KEY = KEY;
  rt.properties.script.ROWBATCH_ALERT_EMAIL = 'owner@example.com';
  const inner = rt.provider;
  let quoted = 0;
  rt.provider = async (req, at) => {
    const key = /Case (SIM-\d+)/.exec(JSON.parse(req.body).messages?.at(1)?.content ?? '')?.[1];
    assert.equal(req.headers.Authorization, `Bearer ${KEY}`, 'the key goes in the header');
    if (key === 'SIM-00007' || key === 'SIM-00008') {
      // A proxy that echoes the whole key in its error (some do).
      quoted += 1;
      return { status: 400, headers: {}, body: JSON.stringify({ error: { message: `Invalid request for key ${KEY}: model not allowed`, type: 'invalid_request_error' } }) };
    }
    return inner(req, at);
  };
  const runs = [await rt.run('rowbatchRun'), ...(await rt.runTriggers({ maxRuns: 20 }))];
  runs.forEach((r) => assert.ok(r.ok, JSON.stringify(r.error)));
  assert.ok(quoted >= 2);
  const report = (await rt.run('rowbatchReport')).value;
  const submitted = await rt.run('rowbatchSubmitBatch');
  const places = {
    cells: JSON.stringify(rt.workbook.sheets.filter((s) => s.name !== '_rowbatch_spec').map((s) => s.rows)),
    spec: JSON.stringify(rt.workbook.sheet('_rowbatch_spec').rows),
    logs: rt.logs.join('\n'),
    report: JSON.stringify(report),
    mail: JSON.stringify(rt.mail),
    ui: JSON.stringify(rt.ui),
    runs: JSON.stringify(runs),
    batch: JSON.stringify(submitted),
    properties: JSON.stringify({ ...rt.properties.script, OPENAI_API_KEY: undefined }),
  };
  const secret = KEY.slice(8, 30);
  for (const [where, text] of Object.entries(places)) assert.ok(!text.includes(secret), `the key is in ${where}`);
  // The quoted key was replaced, and the failure still says what happened.
  const out = rt.workbook.sheet(spec.output.sheet).rows.find((r) => r[0] === 'SIM-00007');
  assert.equal(out[3], 'failed');
  assert.match(out[4], /model not allowed/);
});

test('the web app refuses a missing or wrong secret, and says nothing else', { skip }, async () => {
  const { rt } = simulatedJob({ rows: 3 });
  rt.properties.script.ROWBATCH_WEBAPP_SECRET = 'correct-horse-battery-staple';
  for (const secret of [undefined, '', 'correct-horse-battery-stapl', 'correct-horse-battery-staple ', 'CORRECT-HORSE-BATTERY-STAPLE']) {
    for (const action of ['status', 'validate', 'plan', 'process-chunk', 'report', 'retry-failed', 'run', 'dry-run', 'batches',
      'submit-batch', 'poll-batches', 'cancel-batches', 'claim']) {
      const r = await rt.run('doPost', [{ postData: { contents: JSON.stringify({ action, secret }) } }]);
      const body = JSON.parse(r.value.text);
      assert.deepEqual(body, { ok: false, error: { code: 'forbidden', message: 'wrong or missing secret' } }, `${action} with ${secret}`);
    }
    const g = await rt.run('doGet', [{ parameter: { action: 'status', secret } }]);
    assert.equal(JSON.parse(g.value.text).error.code, 'forbidden');
  }
  assert.equal(rt.workbook.sheet('Scenario Vitals'), null, 'nothing ran');
  assert.equal(rt.properties.script.ROWBATCH_ORCHESTRATOR, undefined, 'nobody claimed the job');
  assert.equal(rt.triggers.length, 0);
});
