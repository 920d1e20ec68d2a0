// The Apps Script runner (appsscript/src/runner.js), unmodified, in the local runtime on a
// virtual clock with the fake provider in process: faults, kills, stop/resume, overlapping
// executions and a sheet edited mid-run, and always one output row per key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulatedJob, outputs, row } from '../apps-script-runtime/jobs.mjs';
import { enter } from '../../apps-script-runtime/workbook.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { Runtime, BUILD_DIR } from '../../apps-script-runtime/runtime.mjs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';

function assertOneRowPerKey(rt, spec, n) {
  const out = outputs(rt, spec);
  assert.equal(out.size, n, `${out.size} keys written of ${n}`);
  for (const [key, rows] of out) assert.equal(rows.length, 1, `${key} has ${rows.length} output rows`);
  return out;
}

const ok = (r) => assert.ok(r.ok || r.killed, JSON.stringify(r.error));

test('1,000 rows finish with faults injected; triggers are gone at the end', { skip }, async () => {
  const { rt, spec, fake } = simulatedJob({ rows: 1000, limits: { waveSize: 50, requestsPerMinute: 3000, tokensPerMinute: 5_000_000 },
    faults: { rate429: 0.03, rate500: 0.02, rate529: 0.0, outOfRange: 0.03, malformed: 0.02, fenced: 0.05 } });
  const runs = [await rt.run('rowbatchRun'), ...(await rt.runTriggers({ maxRuns: 100 }))];
  runs.forEach(ok);
  const last = runs.at(-1).value;
  assert.equal(last.finished, true);
  assertOneRowPerKey(rt, spec, 1000);
  assert.equal(rt.triggers.length, 0, 'no trigger left behind');
  const calls = rt.counters.sheetsReads + rt.counters.sheetsWrites;
  console.log(`Sheets calls per 1,000 rows: ${calls} (${rt.counters.sheetsReads} reads, ${rt.counters.sheetsWrites} writes) in ` +
    `${runs.length} executions; ` +
    `provider ${JSON.stringify(fake.stats.byStatus)}`);
});

test('start-up per execution, on the real clock', { skip }, async () => {
  const rt = new Runtime();
  const times = [];
  for (let i = 0; i < 3; i += 1) {
    const r = await rt.run('rowbatchSelfTest');
    assert.equal(r.value.ok, true);
    times.push(r.value.startupMs);
  }
  console.log(`module start-up per execution (decode + compile + instantiate): ${times.join(', ')} ms`);
  assert.ok(times.every((t) => t >= 0 && t < 5000));
});

test('executions killed mid-slice are resumed by their watchdog trigger, without a duplicate or a lost row', { skip }, async () => {
  // Every execution dies at 2.5 minutes of its 4.5-minute slice.
  const { rt, spec, sent } = simulatedJob({ rows: 600, limits: { waveSize: 10 }, runtime: { limits: { executionMs: 150_000 } } });
  const runs = [await rt.run('rowbatchRun'), ...(await rt.runTriggers({ maxRuns: 200 }))];
  assert.ok(rt.counters.kills >= 2, `kills: ${rt.counters.kills}`);
  const finished = runs.filter((r) => r.ok).at(-1);
  assert.equal(finished?.value.finished, true);
  assertOneRowPerKey(rt, spec, 600);
  assert.equal(rt.triggers.length, 0);
  // A kill can lose the answers of the wave in flight, never more: at most one extra call per kill.
  const extra = [...sent.values()].reduce((n, c) => n + c - 1, 0);
  assert.ok(extra <= rt.counters.kills * 10 + 30, `extra calls ${extra}`);
});

test('Stop stops before the next wave and leaves no trigger; Resume finishes the job', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 200, limits: { waveSize: 10, timeSliceSeconds: 90 } });
  ok(await rt.run('rowbatchRun'));
  assert.deepEqual(rt.triggers.map((t) => t.fn).sort(), ['rowbatchContinue', 'rowbatchHeartbeat'], 'the first slice ended with a continuation; the heartbeat watches the run');
  assert.equal(await rt.run('rowbatchStop').then((r) => r.value), 'stopping');
  assert.equal(rt.triggers.length, 0);
  const partial = outputs(rt, spec).size;
  assert.ok(partial > 0 && partial < 200, `${partial} written before the stop`);
  assert.deepEqual(await rt.runTriggers(), []);
  const resumed = [await rt.run('rowbatchResume'), ...(await rt.runTriggers({ maxRuns: 50 }))];
  resumed.forEach(ok);
  assert.equal(resumed.at(-1).value.finished, true);
  assertOneRowPerKey(rt, spec, 200);
  assert.match(rt.workbook.sheet('Batches').rows.map((r) => r.join(',')).join('\n'), /completed/);
});

test('a trigger run overlapping a manual run writes nothing twice', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 150, limits: { waveSize: 10 } });
  const [a, b] = await Promise.all([rt.run('rowbatchRun'), rt.run('rowbatchContinue')]);
  ok(a);
  ok(b);
  const rest = await rt.runTriggers({ maxRuns: 50 });
  rest.forEach(ok);
  assertOneRowPerKey(rt, spec, 150);
});

test('inserting and sorting input rows mid-run changes nothing already done', { skip }, async () => {
  const { rt, spec, sent } = simulatedJob({ rows: 120, limits: { waveSize: 10, timeSliceSeconds: 90 } });
  ok(await rt.run('rowbatchRun'));
  const doneBefore = [...outputs(rt, spec).keys()];
  assert.ok(doneBefore.length > 0 && doneBefore.length < 120);
  // Reverse the data rows and insert five new ones at the top.
  const input = rt.workbook.sheet(spec.input.sheet);
  const data = input.rows.slice(1).reverse();
  const fresh = [121, 122, 123, 124, 125].map((i) => row(i).map((v) => enter(v).value));
  input.rows = [input.rows[0], ...fresh, ...data];
  const before = new Map(sent);
  const rest = await rt.runTriggers({ maxRuns: 50 });
  rest.forEach(ok);
  assertOneRowPerKey(rt, spec, 125);
  for (const key of doneBefore) assert.equal(sent.get(key), before.get(key), `${key} was sent again`);
});

test('the menu offers the runner\'s entry points, and each exists', { skip }, async () => {
  const { rt } = simulatedJob({ rows: 5 });
  ok(await rt.run('onOpen'));
  const [menu] = rt.ui.menus;
  assert.equal(menu.name, 'rowbatch');
  const fns = menu.items.map(([, fn]) => fn);
  assert.deepEqual(fns, ['rowbatchOpenSidebar', 'rowbatchValidateMenu', 'rowbatchApplyFixesMenu', 'rowbatchEstimateMenu', 'rowbatchDryRunMenu', 'rowbatchStartMenu', 'rowbatchRunSelectionMenu', 'rowbatchStop',
    'rowbatchResume', 'rowbatchRetryFailed', 'rowbatchSubmitBatchMenu', 'rowbatchCancelBatches', 'rowbatchReportMenu', 'rowbatchSettings', 'rowbatchMeasureMenu']);
  rt.uiAnswer = 'NO';
  for (const fn of fns.filter((f) => !/Stop|Resume|Selection/.test(f))) ok(await rt.run(fn));
  // Measuring needs the web app: not deployed, the alert says so.
  assert.ok(rt.ui.alerts.some((a) => /deploy the web app first/.test(a)), rt.ui.alerts.join('\n---\n'));
  // Validate selection opens the sidebar and presses its Validate button as it loads.
  assert.match(rt.ui.sidebars.find((s) => s.html.includes('document.getElementById("validate").click()')).html, /<button id="validate"/);
  const est = await rt.run('rowbatchEstimateMenu');
  ok(est);
  assert.equal(est.value.rows, 5);
  assert.ok(rt.ui.alerts.some((a) => /^5 rows to send\nRealtime: \$/.test(a)), rt.ui.alerts.join('\n---\n'));
});

test('the web app checks its secret, answers in JSON, and processes a chunk idempotently', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 30, limits: { waveSize: 10 } });
  const post = async (body) => {
    const r = await rt.run('doPost', [{ postData: { contents: typeof body === 'string' ? body : JSON.stringify(body) } }]);
    ok(r);
    assert.equal(r.value.mime, 'application/json');
    return JSON.parse(r.value.text);
  };
  assert.equal((await post({ action: 'status' })).error.code, 'not_configured');
  rt.properties.script.ROWBATCH_WEBAPP_SECRET = 's3cret-value';
  assert.equal((await post({ action: 'status', secret: 'wrong' })).error.code, 'forbidden');
  assert.equal((await post('{not json')).error.code, 'bad_json');
  assert.equal((await post({ action: 'drop-tables', secret: 's3cret-value' })).error.code, 'unknown_action');
  const before = await post({ action: 'status', secret: 's3cret-value' });
  assert.equal(before.status.counts.due, 30);
  const chunk = await post({ action: 'process-chunk', secret: 's3cret-value' });
  assert.equal(chunk.ok, true);
  assert.equal(chunk.result.finished, true);
  // A client that re-sends (the /exec redirect) changes nothing.
  const again = await post({ action: 'process-chunk', secret: 's3cret-value' });
  assert.equal(again.result.summary.sent, 0);
  assert.equal(outputs(rt, spec).size, 30);
  const get = await rt.run('doGet', [{ parameter: { action: 'status', secret: 's3cret-value' } }]);
  assert.equal(JSON.parse(get.value.text).status.finished, true);
});

test('settings: checked by the core before saving; the key goes to Properties and is never shown', { skip }, async () => {
  const { rt } = simulatedJob({ rows: 5 });
  const shown = await rt.run('rowbatchGetSettings');
  assert.equal(shown.value.keySet, true);
  assert.ok(!JSON.stringify(shown.value).includes('sk-test'), 'the key is not shown');
  const bad = await rt.run('rowbatchSaveSettings', [{ kind: 'openai', model: 'gpt-4o-mini', limits: { waveSize: 0 }, budgetUsd: 1 }]);
  assert.equal(bad.value.ok, false);
  assert.match(bad.value.problems[0], /^limits\.waveSize: expected /);
  const good = await rt.run('rowbatchSaveSettings', [{ kind: 'anthropic', model: 'claude-haiku-4-5', baseUrl: '', limits: { waveSize: 5 }, budgetUsd: 3, apiKey: ' sk-ant-new ' }]);
  assert.equal(good.value.ok, true, JSON.stringify(good.value));
  assert.equal(rt.properties.user.ANTHROPIC_API_KEY, 'sk-ant-new');
  assert.deepEqual([good.value.settings.kind, good.value.settings.limits.waveSize, good.value.settings.budgetUsd, good.value.settings.keySet], ['anthropic', 5, 3, true]);
  assert.ok(!JSON.stringify(good.value).includes('sk-ant-new'));
  const spec = JSON.parse(rt.workbook.sheet('_rowbatch_spec').get(0, 0));
  assert.equal(spec.provider.model, 'claude-haiku-4-5');
  assert.equal(spec.provider.baseUrl, undefined);
});

test('settings: Save checks the key and the model once, for nothing, and says what is wrong in its own words', { skip }, async () => {
  const { rt, fake } = simulatedJob({ rows: 5 });
  const save = async (form) => {
    const r = await rt.run('rowbatchSaveSettings', [{ kind: 'openai', model: 'gpt-4o-mini', baseUrl: '', limits: {}, budgetUsd: null, ...form }]);
    assert.ok(r.ok && r.value.ok, JSON.stringify(r));
    return r.value.keyCheck;
  };
  const good = await save({});
  assert.deepEqual([good.ok, good.status], [true, 200], JSON.stringify(good));
  assert.match(good.message, /^key accepted: the provider has gpt-4o-mini/);
  const unknown = await save({ model: 'gpt-4o-mini-imaginary' });
  assert.equal(unknown.ok, false);
  assert.match(unknown.message, /does not know this model or URL \(404\).*does not exist/);
  const unreachable = await save({ baseUrl: 'https://api.example.invalid/v1' });
  assert.equal(unreachable.ok, false);
  assert.match(unreachable.message, /^no answer from https:\/\/api\.example\.invalid\/v1 \(Address unavailable.*check provider\.baseUrl$/);
  const wrong = await save({ apiKey: 'invalid' });
  assert.equal(wrong.ok, false);
  assert.match(wrong.message, /refused the API key \(401\)/);
  delete rt.properties.user.OPENAI_API_KEY;
  delete rt.properties.script.OPENAI_API_KEY;
  const none = await save({});
  assert.match(none.message, /^no API key is set/);
  assert.equal(new Set([good, unknown, unreachable, wrong, none].map((c) => c.message)).size, 5);
  assert.equal(fake.stats.answers, 0, 'no row was asked');
  assert.equal(rt.workbook.sheet('Scenario Vitals'), null, 'nothing written');
});

test('a dry run from the menu lists what would be sent and its cost, and sends and writes nothing', { skip }, async () => {
  const { rt, fake, spec } = simulatedJob({ rows: 12, limits: { waveSize: 5 } });
  const before = JSON.stringify(rt.workbook.sheet(spec.input.sheet).rows);
  const r = await rt.run('rowbatchDryRunMenu');
  assert.ok(r.ok, JSON.stringify(r.error));
  const d = r.value.dryRun;
  assert.equal(d.send, 12);
  assert.match(rt.ui.alerts.at(-1), /^12 rows would be sent now \(0 done[^\n]*\nrows 2–13\nabout \$[\d.]+ realtime/);
  assert.match(rt.ui.alerts.at(-1), /nothing was sent, leased or written$/);
  assert.equal(fake.stats.requests, 0);
  assert.equal(rt.workbook.sheet(spec.output.sheet), null, 'no output sheet made');
  assert.equal(JSON.stringify(rt.workbook.sheet(spec.input.sheet).rows), before);
  assert.equal(rt.triggers.length, 0);
});

test('Run selected rows: only the selection is sent; a range past the sheet or upside down is refused by name', { skip }, async () => {
  const { rt, fake, spec } = simulatedJob({ rows: 12, limits: { waveSize: 5 } });
  rt.select(spec.input.sheet, 'A4:D7');
  ok(await rt.run('rowbatchRunSelectionMenu'));
  (await rt.runTriggers({ maxRuns: 20 })).forEach(ok);
  assert.deepEqual([...outputs(rt, spec).keys()].sort(), ['SIM-00003', 'SIM-00004', 'SIM-00005', 'SIM-00006']);
  assert.equal(fake.stats.answers, 4);
  const past = await rt.run('rowbatchRunRows', [40, 50]);
  assert.equal(past.ok, false);
  assert.match(past.error.message, /^rowbatch: rows 40 to 50: the input sheet's rows end at row 13$/);
  const upside = await rt.run('rowbatchRunRows', [9, 3]);
  assert.match(upside.error.message, /^rowbatch: rows 9 to 3: expected a first sheet row of 2 or more/);
  assert.equal(rt.triggers.filter((t) => !t.fired).length, 0, 'no trigger left by a refused range');
  assert.equal(fake.stats.answers, 4, 'nothing more sent');
});

const withMail = [...JSON.parse(fs.readFileSync(path.join(BUILD_DIR, 'appsscript.json'), 'utf8')).oauthScopes, 'https://www.googleapis.com/auth/script.send_mail'];

test('alerts without the mail scope: nothing is sent, no slice stops, and the sidebar says which scope to add', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 30, limits: { waveSize: 10 }, faults: { outOfRange: 1 } });
  rt.properties.script.ROWBATCH_ALERT_EMAIL = 'owner@example.com';
  ok(await rt.run('rowbatchRun'));
  (await rt.runTriggers({ maxRuns: 20 })).forEach(ok);
  assert.deepEqual(rt.mail, []);
  assert.equal(rt.counters.scopeRefusals, 0, 'the scope was checked, not tripped over');
  assert.equal(outputs(rt, spec).size, 30, 'every row ended');
  assert.match(rt.properties.script.ROWBATCH_ALERT_PROBLEM, /add "https:\/\/www\.googleapis\.com\/auth\/script\.send_mail" to oauthScopes in appsscript\.json/);
  const progress = (await rt.run('rowbatchProgress')).value;
  assert.match(progress.alertProblem, /script\.send_mail/);
});

test('alerts: none by default; with a recipient, one failure-rate alert and one completion notice', { skip }, async () => {
  const quiet = simulatedJob({ rows: 30, limits: { waveSize: 10 } });
  ok(await quiet.rt.run('rowbatchRun'));
  await quiet.rt.runTriggers({ maxRuns: 20 });
  assert.deepEqual(quiet.rt.mail, []);
  // Every answer is out of range (and still is after the re-ask): every row fails. The user
  // has added the mail scope to the manifest, as the alert's notice asks.
  const { rt } = simulatedJob({ rows: 40, limits: { waveSize: 10 }, faults: { outOfRange: 1 }, runtime: { scopes: withMail } });
  rt.properties.script.ROWBATCH_ALERT_EMAIL = 'owner@example.com';
  ok(await rt.run('rowbatchRun'));
  (await rt.runTriggers({ maxRuns: 20 })).forEach(ok);
  const subjects = rt.mail.map((m) => m.subject);
  assert.equal(subjects.filter((s) => /many rows are failing/.test(s)).length, 1);
  assert.equal(subjects.filter((s) => /finished$/.test(s)).length, 1);
  assert.match(rt.mail.at(-1).body, /^0 done, 40 failed, 0 pending/);
  assert.ok(rt.mail.every((m) => m.to === 'owner@example.com'));
});

test('the Progress sheet logs every outcome in the seed notes\' fifteen columns', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 60, limits: { waveSize: 20 }, faults: { rate500: 0.1 } });
  ok(await rt.run('rowbatchRun'));
  (await rt.runTriggers({ maxRuns: 20 })).forEach(ok);
  const log = rt.workbook.sheet('Progress');
  assert.deepEqual(log.rows[0], ['Batch_ID', 'Row_Number', 'Case_ID', 'Status', 'Started_At', 'Completed_At', 'Duration_Sec',
    'Retry_Count', 'Error_Message', 'Tokens', 'Cost_USD', 'Fixes_Applied', 'Warnings', 'Last_Updated', 'Checkpoint']);
  const rows = log.rows.slice(1);
  const done = rows.filter((r) => r[3] === 'done');
  assert.equal(new Set(done.map((r) => r[2])).size, outputs(rt, spec).size);
  const retried = rows.filter((r) => r[3] === 'retry');
  assert.ok(retried.length > 0 && retried.every((r) => /server error \(500\)/.test(r[8])));
  const first = done[0];
  assert.equal(first[1], Number(first[2].slice(4)) + 1, 'Row_Number is the input sheet row');
  assert.ok(first[9] > 0 && first[10] > 0, 'tokens and cost');
  assert.match(first[4], /^\d{4}-\d\d-\d\dT/);
});

test('the report: written to the Report sheet when the run ends, shown escaped, served by the web app', { skip }, async () => {
  // Half the answers are out of range: rows whose re-ask is out of range too fail.
  const { rt, spec } = simulatedJob({ rows: 45, limits: { waveSize: 15 }, faults: { outOfRange: 0.5 } });
  ok(await rt.run('rowbatchRun'));
  (await rt.runTriggers({ maxRuns: 20 })).forEach(ok);
  const out = outputs(rt, spec);
  const failed = [...out.values()].filter(([r]) => r.status === 'failed').length;
  assert.ok(failed > 0 && failed < 45, `failed ${failed}`);
  const sheet = rt.workbook.sheet('Report');
  const cell = (name) => sheet.rows.find((r) => r[0] === name)?.[1];
  assert.equal(cell('status'), 'completed_with_failures');
  assert.equal(cell('done'), 45 - failed);
  assert.equal(cell('failed'), failed);
  assert.ok(sheet.rows.some((r) => String(r[0]).startsWith('failed: ')));

  const shown = await rt.run('rowbatchReportMenu');
  ok(shown);
  const dialog = rt.ui.sidebars.at(-1);
  assert.equal(dialog.title, 'rowbatch report');
  assert.match(dialog.html, /download="rowbatch-report\.csv" href="data:text\/csv;charset=utf-8,sheet_row%2Ckey%2Cstatus/);
  assert.ok(!/<(?!\/?(div|pre|a)\b)/.test(dialog.html), 'no markup but the dialog\'s own');
  assert.equal(shown.value.counts.failed, failed);

  rt.properties.script.ROWBATCH_WEBAPP_SECRET = 'webapp-secret';
  const r = await rt.run('doPost', [{ postData: { contents: JSON.stringify({ action: 'report', secret: 'webapp-secret' }) } }]);
  const body = JSON.parse(r.value.text);
  assert.equal(body.report.summary.counts.done, 45 - failed);
  const lines = body.report.csv.trim().split('\r\n');
  assert.equal(lines.length, 46);
  assert.equal(lines.filter((l) => l.split(',')[2] === 'failed').length, failed);
});

test('an execution that dies before it can set its watchdog is continued by the heartbeat', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 120, limits: { waveSize: 20, timeSliceSeconds: 90 } });
  ok(await rt.run('rowbatchRun'));
  // The continuation fires and dies at its first service call: no watchdog, no continuation.
  rt.crashAt = () => true;
  const [died] = await rt.runTriggers({ maxRuns: 1 });
  assert.equal(died.killed, true);
  rt.crashAt = null;
  assert.deepEqual(rt.triggers.filter((t) => !t.fired).map((t) => t.fn), ['rowbatchHeartbeat']);
  const rest = await rt.runTriggers({ maxRuns: 60 });
  rest.forEach((r) => assert.ok(r.ok, JSON.stringify(r.error)));
  assert.ok(rest.some((r) => r.fn === 'rowbatchHeartbeat' && r.value?.summary), 'the heartbeat ran a slice');
  assertOneRowPerKey(rt, spec, 120);
  assert.equal(rt.triggers.length, 0, 'heartbeat and continuations gone at the end');
});

test('a spent UrlFetch quota pauses the run (no row fails, no attempt is used) and it resumes by trigger when the day frees it', { skip }, async () => {
  // The account's quota is shared with other scripts: here only 130 calls are left today.
  const { rt, spec, fake } = simulatedJob({ rows: 200, limits: { waveSize: 50 }, runtime: { quotas: { urlfetch: 130 } } });
  // Two waves of 50 go; the third would pass the quota: Apps Script refuses the whole fetchAll.
  const first = await rt.run('rowbatchRun');
  ok(first);
  const paused = first.value.paused;
  assert.ok(paused, JSON.stringify(first.value));
  assert.match(paused.message, /^UrlFetch quota for today used \(20000 requests a day on a consumer account\); resumes about \d\d:\d\d UTC$/);
  const snapshot = (await rt.run('rowbatchProgress')).value;
  assert.equal(snapshot.paused.message, paused.message, 'the sidebar shows the wait');
  (await rt.runTriggers({ maxRuns: 200 })).forEach(ok);
  const out = outputs(rt, spec);
  assert.equal(out.size, 200);
  for (const [key, rows] of out) {
    assert.equal(rows.length, 1, key);
    assert.equal(rows[0].status, 'done', key);
  }
  assert.ok(rt.counters.quotaRefusals >= 1);
  // No attempt went to the refusals: every row was answered by its first request.
  const attempt = rt.workbook.sheet(spec.output.sheet).rows[0].indexOf('_attempt');
  assert.ok(rt.workbook.sheet(spec.output.sheet).rows.slice(1).every((r) => r[attempt] === 1));
  assert.equal(fake.stats.answers, 200);
  // The report lists the waits; no trigger is left behind.
  // Other scripts' use is not in our count: the run probes hourly until the day frees it, more
  // pauses than the record keeps whole (20); the earlier ones are kept as totals.
  const record = JSON.parse(rt.properties.script.ROWBATCH_RUN);
  assert.ok(record.pauses.length === 20 && record.earlierPauses > 0, `${record.pauses.length} + ${record.earlierPauses}`);
  assert.ok(record.pauses.every((p) => p.until > p.at));
  assert.ok(rt.properties.script.ROWBATCH_RUN.length < 9 * 1024, 'the record fits a Property');
  const made = (await rt.run('rowbatchReport')).value;
  assert.equal(made.summary.pauseCount, record.pauses.length + record.earlierPauses);
  assert.match(rt.workbook.sheet('Report').rows.map((r) => r.join(' ')).join('\n'), /paused for daily quotas/);
  assert.equal(rt.triggers.filter((t) => !t.fired).length, 0);
});

test('Start says ahead when a job needs more than a day of the account\'s quotas, and offers the Batch API', { skip }, async () => {
  // 1,000 rows at 10 requests a minute: 100 minutes, past a consumer account's 90 a day.
  const { rt, fake } = simulatedJob({ rows: 1000, limits: { requestsPerMinute: 10 } });
  rt.uiAnswer = 'CANCEL';
  assert.deepEqual((await rt.run('rowbatchStartMenu')).value, { cancelled: true });
  assert.match(rt.ui.alerts[0], /^rowbatch: about 2 days of Apps Script quotas\n.*more than the 90 minutes of trigger runtime a consumer account gets per day/s);
  assert.match(rt.ui.alerts[0], /No: submit the job to the provider's Batch API instead/);
  assert.equal(fake.stats.requests, 0, 'nothing sent');
  rt.uiAnswer = 'NO';
  ok(await rt.run('rowbatchStartMenu'));
  assert.match(rt.ui.alerts.at(-1), /^Submit as batch\n1000 rows to send/, 'No leads to the Batch API');
  rt.uiAnswer = 'YES';
  const started = await rt.run('rowbatchStartMenu');
  ok(started);
  assert.ok(started.value.run && started.value.summary.sent > 0, 'Yes starts the realtime run');
  // A job that fits in a day starts without a question.
  const small = simulatedJob({ rows: 20 });
  ok(await small.rt.run('rowbatchStartMenu'));
  assert.deepEqual(small.rt.ui.alerts, []);
});

test('an output sheet made smaller by hand (10 rows × 5 columns) is grown, in one call each way, before rows are written', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 40, limits: { waveSize: 20 } });
  const small = rt.workbook.insert(spec.output.sheet);
  small.gridRows = 10;
  small.gridColumns = 5;
  ok(await rt.run('rowbatchRun'));
  (await rt.runTriggers({ maxRuns: 20 })).forEach(ok);
  assertOneRowPerKey(rt, spec, 40);
  assert.ok(small.maxRows >= 41 && small.maxColumns >= 13, `${small.maxRows} × ${small.maxColumns}`);
  const grew = (m) => rt.sheetsCalls.get(`sheet.${m}`) ?? 0;
  assert.ok(grew('insertRowsAfter') >= 1 && grew('insertColumnsAfter') >= 1);
  assert.ok(grew('insertColumnsAfter') <= 2, 'columns grow once (and once for the Report sheet at most)');
});

test('a request the provider refuses for every row (structured outputs forced on a model without them) stops the run at once with its words', { skip }, async () => {
  const { rt, spec, fake } = simulatedJob({ rows: 30, limits: { waveSize: 10 } });
  const s = rt.workbook.sheet('_rowbatch_spec');
  const forced = { ...spec, provider: { ...spec.provider, kind: 'anthropic', model: 'claude-sonnet-4-20250514', structuredOutputs: true } };
  delete forced.budget; // no price for Sonnet 4 in the table
  delete forced.provider.temperature;
  s.set(0, 0, { value: JSON.stringify(forced) });
  rt.properties.script.ANTHROPIC_API_KEY = 'sk-ant-test';
  const r = await rt.run('rowbatchRun');
  ok(r);
  assert.match(r.value.stop, /^the provider refused the request itself \(400\): output_config\.format: structured outputs are not supported by the model 'claude-sonnet-4-20250514'/);
  assert.equal(fake.stats.requests, 1, 'one request (a cold Anthropic cache sends one row first), then nothing');
  assert.equal(outputs(rt, spec).size, 0, 'no row is failed for it: they wait for the fix');
  (await rt.runTriggers({ maxRuns: 5 })).forEach(ok);
  assert.equal(fake.stats.requests, 1);
  // Fixed (structured outputs off), the run is resumed and finishes.
  s.set(0, 0, { value: JSON.stringify({ ...forced, provider: { ...forced.provider, structuredOutputs: false } }) });
  ok(await rt.run('rowbatchResume'));
  (await rt.runTriggers({ maxRuns: 20 })).forEach(ok);
  assertOneRowPerKey(rt, spec, 30);
});

test('Retry failed rows (menu, sidebar, web app): failed rows are re-opened in place, sent again with fresh attempts, and answered in their own rows', { skip }, async () => {
  // Every answer is out of range, and still is after the re-ask: every row fails.
  const { rt, spec, fake } = simulatedJob({ rows: 30, limits: { waveSize: 10 }, faults: { outOfRange: 1 } });
  ok(await rt.run('rowbatchRun'));
  (await rt.runTriggers({ maxRuns: 20 })).forEach(ok);
  const before = outputs(rt, spec);
  assert.equal([...before.values()].filter((r) => r[0].status === 'failed').length, 30);
  const rowOf = new Map([...before].map(([k, r]) => [k, r[0].row]));
  // The provider is fixed; the user asks for another round through the web app.
  fake.options.outOfRange = 0;
  rt.properties.script.ROWBATCH_WEBAPP_SECRET = 'retry-secret';
  const post = await rt.run('doPost', [{ postData: { contents: JSON.stringify({ action: 'retry-failed', secret: 'retry-secret' }) } }]);
  ok(post);
  const answer = JSON.parse(post.value.text);
  assert.equal(answer.ok, true);
  assert.equal(answer.result.reopened, 30);
  (await rt.runTriggers({ maxRuns: 20 })).forEach(ok);
  const after = assertOneRowPerKey(rt, spec, 30);
  for (const [key, rows] of after) {
    assert.equal(rows[0].status, 'done', key);
    assert.equal(rows[0].row, rowOf.get(key), `${key} answered in its own row`);
  }
  // Nothing failed: nothing to re-open, nothing sent.
  const sent = fake.stats.requests;
  const again = await rt.run('rowbatchRetryFailed');
  ok(again);
  assert.deepEqual(again.value, { reopened: 0 });
  assert.equal(fake.stats.requests, sent);
});

test('the Progress log is written wave by wave: a slice killed later keeps the lines of the waves it finished', { skip }, async () => {
  const { rt } = simulatedJob({ rows: 60, limits: { waveSize: 10 } });
  // The first execution dies as it sends its third wave: the first row alone (the canary) and a
  // full wave are reconciled by then.
  let fetches = 0;
  rt.crashAt = (exec, service) => exec.id === 1 && service === 'urlfetch' && (fetches += 1) === 3;
  const first = await rt.run('rowbatchRun');
  assert.equal(first.killed, true);
  const lines = rt.workbook.sheet('Progress').rows.slice(1).filter((r) => r[0] !== '');
  assert.equal(lines.length, 11, 'both finished waves are in the log');
  rt.crashAt = null;
  (await rt.runTriggers({ maxRuns: 20 })).forEach(ok);
  const all = rt.workbook.sheet('Progress').rows.slice(1).filter((r) => r[0] !== '');
  assert.ok(all.filter((r) => r[3] === 'done').length >= 60, `${all.length} lines`);
});
