// Workers: a run whose script is deployed as a web app starts rounds of worker executions on its
// own `/exec` URL (the core's `fan`), in the local runtime on a simulated clock, where executions
// at once overlap in time, count against the account's simultaneous limit, and share the lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulatedJob, outputs, WEB_APP } from '../apps-script-runtime/jobs.mjs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';

/** The run from its start (or, `started`, from its continuation triggers) to its end. */
async function toEnd(rt, started = false) {
  const runs = [...(started ? [] : [await rt.run('rowbatchRun')]), ...(await rt.runTriggers({ maxRuns: 200 }))];
  const bad = runs.find((r) => !r.ok && !r.killed && !r.refused);
  assert.equal(bad, undefined, JSON.stringify(bad?.error));
  return runs;
}

function eachOnce(rt, spec, n) {
  const out = outputs(rt, spec);
  assert.equal(out.size, n, 'every row has an output');
  for (const [key, list] of out) {
    assert.equal(list.length, 1, `${key} written ${list.length} times`);
    assert.equal(list[0].status, 'done', `${key}: ${list[0].status}`);
  }
}

test('a run deployed as a web app works through rounds of workers, each row once, the sidebar naming them', { skip }, async () => {
  const n = 300;
  const { rt, spec, fake } = simulatedJob({ rows: n, webApp: true, faults: { latencyMedianMs: 6000, latencyP95Ms: 12_000 }, limits: { waveSize: 10, timeSliceSeconds: 120, workers: 2, requestsPerMinute: 3000, tokensPerMinute: 2_000_000 } });
  const first = await rt.run('rowbatchRun');
  assert.ok(first.ok, JSON.stringify(first.error));
  assert.ok(first.value.workers.rounds >= 1, JSON.stringify(first.value));
  assert.ok(rt.counters.webAppExecutions >= 2, `${rt.counters.webAppExecutions} worker executions`);
  assert.ok(rt.counters.peakRunning >= 3, `at most ${rt.counters.peakRunning} executions at once`);
  // Mid-run (the first slice ended on its time), the sidebar's snapshot carries the last round.
  const p = (await rt.run('rowbatchProgress')).value;
  assert.equal(p.finished, false);
  assert.equal(p.workers.count, 2, JSON.stringify(p.workers));
  assert.equal(p.workers.fan.limitedBy, 'spec');
  assert.equal(p.workers.fan.rounds, first.value.workers.rounds);
  // Overlapping in time: the workers' time adds up to more than the run's.
  const wall = rt.now() - first.started;
  assert.ok(rt.counters.executionMs > 1.5 * wall, `${rt.counters.executionMs} ms of executions in ${wall} ms`);
  await toEnd(rt, true);
  eachOnce(rt, spec, n);
  // Money: several executions wrote the run record at once; it holds the provider's bill.
  const record = JSON.parse(rt.properties.script.ROWBATCH_RUN);
  assert.ok(Math.abs(record.costUsd - fake.stats.billUsd) < 1e-9, `record ${record.costUsd}, bill ${fake.stats.billUsd}`);
  assert.deepEqual(rt.triggers.filter((t) => !t.fired), [], 'no trigger left');
});

test('not deployed as a web app (or no secret): one execution at a time, no worker call', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 60, limits: { waveSize: 10 } });
  await toEnd(rt);
  eachOnce(rt, spec, 60);
  assert.equal(rt.counters.webAppExecutions, 0);
  const deployed = simulatedJob({ rows: 20, webApp: true, limits: { waveSize: 5 } });
  delete deployed.rt.properties.script.ROWBATCH_WEBAPP_SECRET;
  const [first] = await toEnd(deployed.rt);
  assert.equal(deployed.rt.counters.webAppExecutions, 0, 'no secret: the web app would refuse its own workers');
  assert.match(first.value.workers.alone, /set the Script Property ROWBATCH_WEBAPP_SECRET/);
});

test('workers that cannot be reached: the slice sends its own waves and says why', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 60, webApp: true, limits: { waveSize: 5 } });
  rt.webAppUrl = 'https://script.invalid/macros/s/gone/exec';
  const runs = await toEnd(rt);
  eachOnce(rt, spec, 60);
  const alone = runs.map((r) => r.value?.workers?.alone).find(Boolean);
  assert.match(alone, /^no worker answered: Address unavailable: https:\/\/script\.invalid/);
  assert.match(JSON.parse(rt.properties.script.ROWBATCH_WORKERS).fan.alone, /Address unavailable/);
});

test('past the simultaneous-execution limit a worker is refused before it starts; the run goes on', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 120, webApp: true, limits: { waveSize: 5, workers: 6, requestsPerMinute: 5000, tokensPerMinute: 4_000_000 }, runtime: { quotas: { simultaneous: 4 } } });
  await toEnd(rt);
  eachOnce(rt, spec, 120);
  assert.ok(rt.counters.busyRefusals > 0, 'some workers were refused');
  assert.ok(rt.counters.peakRunning <= 4);
});

test('a worker refuses to work for an orchestrator of another build (the web app runs the deployed version)', { skip }, async () => {
  const { rt, fake } = simulatedJob({ rows: 30, webApp: true, limits: { waveSize: 5 } });
  const first = await rt.run('rowbatchRun');
  assert.ok(first.ok, JSON.stringify(first.error));
  const asked = fake.stats.requests;
  const contents = JSON.stringify({ secret: WEB_APP.secret, action: 'work', build: 'an-older-push' });
  const r = await rt.run('doPost', [{ postData: { contents, type: 'application/json', length: contents.length }, parameter: {}, queryString: '' }]);
  const answer = JSON.parse(r.value.text);
  assert.equal(answer.ok, false);
  assert.equal(answer.error.code, 'build');
  assert.match(answer.error.message, /^the web app runs build [0-9a-f]{16} and the run build an-older-push: update the web app deployment/);
  assert.equal(fake.stats.requests, asked, 'nothing sent');
});

test('the platform measurement reads the runtime\'s fetchAll lanes, UrlFetch timeout and web app lifetime back', { skip }, async () => {
  for (const [lanes, outlives] of [[10, false], [20, true]]) {
    const { rt } = simulatedJob({ rows: 5, webApp: true, runtime: { limits: { fetchAllConcurrency: lanes, webAppOutlivesCaller: outlives } } });
    const started = rt.now();
    const r = await rt.run('rowbatchMeasure');
    assert.ok(r.ok, JSON.stringify(r.error));
    const f = r.value;
    assert.equal(f.fetchAllConcurrency, lanes, JSON.stringify(f));
    assert.equal(f.refused, 0);
    // The runtime gives up after 60 s, and ends the web app execution or lets it finish.
    assert.ok(Math.abs(f.urlFetchTimeoutS - 60) < 1, JSON.stringify(f));
    assert.equal(f.webAppOutlivesCaller, outlives);
    assert.match(f.advice, outlives ? /went on after its caller/ : /did not finish once its caller/);
    assert.deepEqual(JSON.parse(rt.properties.script.ROWBATCH_PLATFORM), f);
    assert.ok(!Object.keys(rt.properties.script).some((k) => k.startsWith('ROWBATCH_PROBE_')), 'the mark is cleared');
    assert.match(f.advice, lanes > 10 ? /Set "fetchAllConcurrency": 20/ : /Keep "fetchAllConcurrency" at 10/);
    assert.ok(rt.now() - started < 3 * 60_000, 'inside one execution');
  }
  // Not deployed, or no secret: nothing is measured, and the message says what to do.
  const { rt } = simulatedJob({ rows: 5 });
  const r = await rt.run('rowbatchMeasure');
  assert.equal(r.ok, false);
  assert.match(String(r.error.message ?? r.error), /deploy the web app first/);
  const noSecret = simulatedJob({ rows: 5, webApp: true });
  delete noSecret.rt.properties.script.ROWBATCH_WEBAPP_SECRET;
  const r2 = await noSecret.rt.run('rowbatchMeasure');
  assert.match(String(r2.error.message ?? r2.error), /ROWBATCH_WEBAPP_SECRET/);
  // Every probe call refused (one execution at a time on this account): no figure is made up.
  const busy = simulatedJob({ rows: 5, webApp: true, runtime: { quotas: { simultaneous: 1 } } });
  const r3 = await busy.rt.run('rowbatchMeasure');
  assert.equal(r3.ok, false);
  assert.match(String(r3.error.message ?? r3.error), /the web app answered no probe call/);
  assert.equal(busy.rt.properties.script.ROWBATCH_PLATFORM, undefined);
});
