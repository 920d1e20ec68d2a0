// Provider Batch APIs end to end: the Apps Script host (appsscript/src/batch.js) submits the
// example job to the fake provider's OpenAI and Anthropic batch endpoints, polls on its trigger,
// ingests the results through the ledger, and re-plans failed and expired lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulatedJob } from '../apps-script-runtime/jobs.mjs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';
const ok = (r) => assert.ok(r.ok, JSON.stringify(r.error));

/** Output rows by key: status, note and the answer's fields (not attempt, cost or time). */
function answers(rt, spec) {
  const s = rt.workbook.sheet(spec.output.sheet);
  const header = s.rows[0];
  const fields = header.map((h, j) => [h, j]).filter(([h]) => !['_key', '_signature', '_spec', '_attempt', '_costUsd', '_answeredAt'].includes(h));
  const out = new Map();
  for (const r of s.rows.slice(1)) {
    if (r[0] === '') continue;
    assert.ok(!out.has(r[0]), `two output rows for ${r[0]}`);
    out.set(r[0], Object.fromEntries(fields.map(([h, j]) => [h, r[j]])));
  }
  return out;
}

function asProvider(rt, kind) {
  const sheet = rt.workbook.sheet('_rowbatch_spec');
  const spec = JSON.parse(sheet.get(0, 0));
  if (kind === 'anthropic') {
    spec.provider = { ...spec.provider, kind: 'anthropic', model: 'claude-haiku-4-5' };
    rt.properties.script.ANTHROPIC_API_KEY = 'sk-ant-test';
  }
  return spec;
}

function setSpec(rt, spec) {
  rt.workbook.sheet('_rowbatch_spec').set(0, 0, { value: JSON.stringify(spec) });
}

async function runBatch(rt) {
  const submitted = await rt.run('rowbatchSubmitBatch');
  ok(submitted);
  const runs = await rt.runTriggers({ maxRuns: 60 });
  runs.forEach(ok);
  return { submitted: submitted.value, runs };
}

for (const kind of ['openai', 'anthropic']) {
  test(`${kind}: a batch writes what the realtime path writes, at half the price; ingesting twice changes nothing`, { skip }, async () => {
    const faults = { outOfRange: 0.1 };
    const realtime = simulatedJob({ rows: 60, limits: { waveSize: 20 }, faults });
    const rspec = asProvider(realtime.rt, kind);
    setSpec(realtime.rt, rspec);
    ok(await realtime.rt.run('rowbatchRun'));
    (await realtime.rt.runTriggers({ maxRuns: 30 })).forEach(ok);

    const batch = simulatedJob({ rows: 60, limits: { waveSize: 20 }, faults });
    const spec = asProvider(batch.rt, kind);
    setSpec(batch.rt, spec);
    const { submitted, runs } = await runBatch(batch.rt);
    // The first row went alone, realtime, before the file: the other 59 are the batch.
    assert.equal(submitted.submitted, 59);
    assert.equal(submitted.batches.length, 1);
    assert.ok(runs.some((r) => r.fn === 'rowbatchPollBatches'));
    assert.equal(batch.fake.stats.batch.batches, 1);
    assert.equal(batch.fake.stats.batch.lines, 59);

    const want = answers(realtime.rt, rspec);
    const got = answers(batch.rt, spec);
    assert.equal(got.size, 60);
    assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
    for (const [key, row] of want) assert.deepEqual(got.get(key), row, key);

    // `_costUsd` is what the row cost over every request it took. Half the price for a row the
    // batch answered; a row re-asked paid its first answer (half price in a batch) and the re-ask
    // (full price, realtime in both paths): about three quarters of the realtime row's two.
    const cost = (rt) => new Map(rt.workbook.sheet(spec.output.sheet).rows.slice(1).filter((r) => r[3] === 'done').map((r) => [r[0], r.at(-2)]));
    const [rc, bc] = [cost(realtime.rt), cost(batch.rt)];
    // The canary row paid the realtime price, as it did realtime.
    const ratios = [...bc.keys()].filter((k) => rc.has(k) && k !== 'SIM-00001').map((k) => bc.get(k) / rc.get(k));
    assert.ok(Math.abs(bc.get('SIM-00001') / rc.get('SIM-00001') - 1) < 0.01, `the canary row: ${bc.get('SIM-00001')} vs ${rc.get('SIM-00001')}`);
    assert.ok(ratios.every((x) => Math.abs(x - 0.5) < 0.01 || Math.abs(x - 0.77) < 0.03), ratios.join(' '));
    const halved = ratios.filter((x) => x < 0.6).length;
    assert.ok(halved >= ratios.length * 0.8 && halved < ratios.length, `${halved} of ${ratios.length} at the batch price`);

    // The Batches sheet has the provider batch, ingested; no trigger is left.
    const rows = batch.rt.workbook.sheet('Batches').rows;
    const rec = rows.find((r) => String(r[0]).startsWith(kind === 'openai' ? 'batch_' : 'msgbatch_'));
    assert.equal(rec[3], 'completed');
    assert.equal(batch.rt.triggers.filter((t) => !t.fired).length, 0);

    // Ingesting the same results again writes nothing twice.
    const before = JSON.stringify(batch.rt.workbook.sheet(spec.output.sheet).rows);
    const record = { id: rec[0], holder: 'x', part: '1 of 1', lines: 60, reserveUsd: 0, submittedAt: 0, ingested: 0, costUsd: 0, done: 0, failed: 0, state: 'completed', ended: true };
    record.results = kind === 'openai'
      ? [...batch.fake.batches.files.keys()].filter((id) => batch.fake.batches.files.get(id).purpose === 'batch_output')
      : [`http://fake.local/v1/messages/batches/${rec[0]}/results`];
    batch.rt.properties.script.ROWBATCH_BATCHES = JSON.stringify([record]);
    ok(await batch.rt.run('rowbatchPollBatches'));
    assert.equal(JSON.stringify(batch.rt.workbook.sheet(spec.output.sheet).rows), before);
  });
}

test('failed and expired lines are re-planned (realtime, or a new batch) and end done or failed with a reason', { skip }, async () => {
  for (const retry of ['realtime', 'batch']) {
    const { rt, spec, fake } = simulatedJob({ rows: 80, limits: { waveSize: 20 }, faults: { batchExpired: 0.2, batchLineErrors: 0.1 } });
    setSpec(rt, { ...spec, batch: { retry } });
    const { submitted, runs } = await runBatch(rt);
    assert.equal(submitted.submitted, 79, 'the first row went alone, realtime');
    const out = answers(rt, spec);
    assert.equal(out.size, 80, `${retry}: one row per key`);
    for (const [key, r] of out) {
      assert.ok(r._status === 'done' || (r._status === 'failed' && r._note), `${retry}: ${key} ${JSON.stringify(r)}`);
    }
    if (retry === 'realtime') {
      assert.ok(runs.some((r) => r.fn === 'rowbatchContinue'), 'leftovers sent realtime');
      assert.equal(fake.stats.batch.batches, 1);
    } else {
      assert.ok(fake.stats.batch.batches >= 2, `leftovers in a new batch: ${fake.stats.batch.batches}`);
      assert.ok(fake.stats.batch.lines > 80, 'expired and failed lines were sent again');
    }
    assert.equal(rt.triggers.filter((t) => !t.fired).length, 0, 'no trigger left');
  }
});

test('cancelling a batch releases its rows; the realtime runner then finishes them', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 30, limits: { waveSize: 15 } });
  ok(await rt.run('rowbatchSubmitBatch'));
  const cancelled = await rt.run('rowbatchCancelBatches');
  ok(cancelled);
  assert.equal(cancelled.value[0].state, 'cancelling');
  (await rt.runTriggers({ maxRuns: 40 })).forEach(ok);
  const out = answers(rt, spec);
  assert.equal(out.size, 30);
  assert.ok([...out.values()].every((r) => r._status === 'done'));
  assert.equal(rt.workbook.sheet('Batches').rows.find((r) => String(r[0]).startsWith('batch_'))[3], 'cancelled');
});

test('the menu asks first, with the batch price next to the realtime one', { skip }, async () => {
  const { rt } = simulatedJob({ rows: 10 });
  rt.uiAnswer = 'NO';
  const no = await rt.run('rowbatchSubmitBatchMenu');
  ok(no);
  assert.equal(no.value.submitted, 0);
  assert.match(rt.ui.alerts[0], /^Submit as batch\n10 rows to send\.\nBatch API: about \$[\d.]+ \(realtime \$[\d.]+\)/);
  rt.uiAnswer = 'YES';
  const yes = await rt.run('rowbatchSubmitBatchMenu');
  ok(yes);
  assert.equal(yes.value.submitted, 9, 'the first row went alone, realtime');
});

test('a batch whose requests the provider refuses is stopped by its first row, sent alone: no file goes up', { skip }, async () => {
  const { rt, spec, fake } = simulatedJob({ rows: 10 });
  // A model without structured outputs, asked for them: Anthropic refuses every such request.
  setSpec(rt, { ...asProvider(rt, 'anthropic'), provider: { ...spec.provider, kind: 'anthropic', model: 'claude-sonnet-4', structuredOutputs: true } });
  const r = await rt.run('rowbatchSubmitBatch');
  ok(r);
  assert.equal(r.value.submitted, 0);
  assert.match(r.value.note, /^nothing submitted: the first row, sent alone before any batch, was refused: .*400/);
  assert.equal(fake.stats.batch.batches, 0, 'no batch made');
  assert.equal(fake.stats.requests, 1, 'one request');
  assert.equal(rt.triggers.filter((t) => !t.fired).length, 0, 'no poll scheduled');
  const out = rt.workbook.sheet(spec.output.sheet);
  assert.ok(!out || out.rows.slice(1).every((row) => row[3] !== 'failed'), 'no row failed for it');
});

test('a poll killed mid-way (or refused by a daily quota) leaves the next poll scheduled: the batch is still ingested', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 30, limits: { waveSize: 10 } });
  ok(await rt.run('rowbatchSubmitBatch'));
  // The first poll that reaches UrlFetch dies there.
  let killed = 0;
  rt.crashAt = (exec, service) => {
    if (service === 'urlfetch' && killed === 0) { killed = exec.id; return true; }
    return false;
  };
  const runs = await rt.runTriggers({ maxRuns: 60 });
  assert.ok(runs.some((r) => r.killed), 'a poll was killed');
  const out = answers(rt, spec);
  assert.equal(out.size, 30);
  assert.ok([...out.values()].every((r) => r._status === 'done' || r._status === 'failed'));
  assert.equal(rt.triggers.filter((t) => !t.fired).length, 0, 'no trigger left');
});
