// The `rowbatch` CLI against the local runtime's web app over HTTP (real clock, real sockets, the
// fake provider): every command, with bad input (a wrong secret, none, a range past the sheet, a
// malformed range) and a second orchestrator on the same job; a run with several workers writes
// each row once, and a second run sends nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { main, client, EXIT } from '../../cli/rowbatch.mjs';
import { startWebApp } from '../../tools/serve-webapp.mjs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';
let app;

before(async () => { if (!skip) app = await startWebApp({ faults: { latencyMedianMs: 40, latencyP95Ms: 120 } }); });
after(async () => { if (app) await app.close(); });

/** Runs the CLI in process: its exit code, what it printed and what it said was wrong. */
async function cli(args, env = { ROWBATCH_SECRET: app.secret }) {
  let out = '';
  let err = '';
  const io = { out: { write: (s) => { out += s; }, isTTY: false }, err: { write: (s) => { err += s; } }, env: { ROWBATCH_WEB_APP: app.url, ...env } };
  const code = await main(args, io);
  return { code, out, err, json: () => JSON.parse(out) };
}

test('CLI: bad input is refused with a reason and an exit code, before anything runs', { skip }, async () => {
  const wrong = await cli(['status'], { ROWBATCH_SECRET: 'not-the-secret' });
  assert.deepEqual([wrong.code, wrong.err.trim()], [EXIT.error, 'rowbatch: status: wrong or missing secret (forbidden)']);
  const none = await cli(['status'], {});
  assert.equal(none.code, EXIT.error);
  assert.match(none.err, /^rowbatch: no secret: set ROWBATCH_SECRET or put it in .+ \(never on the command line\)/);
  const malformed = await cli(['run', '--rows', '9']);
  assert.equal(malformed.code, EXIT.error);
  assert.match(malformed.err, /option '--rows <first:last>' argument '9' is invalid\. expected FIRST:LAST sheet rows/);
  const past = await cli(['run', '--rows', '900:950']);
  assert.equal(past.code, EXIT.error);
  assert.match(past.err, /rows 900 to 950: the input sheet's rows end at row 29/);
  const unknown = await cli(['run', '--ids', 'SIM-001,SIM-999']);
  assert.equal(unknown.code, EXIT.error);
  assert.match(unknown.err, /no row of the input sheet has the key SIM-999/);
  const both = await cli(['run', '--limit', '2', '--workers', '2']);
  assert.match(both.err, /--limit counts the rows one run starts: use it with one worker/);
  const nowhere = await main(['status'], { out: { write() {} }, err: { write() {} }, env: { ROWBATCH_SECRET: 'x', ROWBATCH_WEB_APP: 'http://127.0.0.1:9/exec' } });
  assert.equal(nowhere, EXIT.error);
  assert.equal(app.fake.stats.answers, 0, 'nothing was asked');
});

test('CLI: status, estimate, dry run, a run with three workers, resume, report, batches', { skip }, async () => {
  const status = await cli(['--json', 'status']);
  assert.equal(status.code, EXIT.done);
  assert.equal(status.json().counts.rows, 28);
  const estimate = await cli(['estimate']);
  assert.match(estimate.out, /^21 rows to send: \$[\d.]+ realtime, \$[\d.]+ with the Batch API; about [\d.]+ minutes in one execution; 1 worker\(s\) worth running \(bound by rows\)$/m);
  const dry = await cli(['run', '--dry-run', '--rows', '2:6']);
  assert.match(dry.out, /^5 rows would be sent now/);
  const dryIds = await cli(['run', '--dry-run', '--ids', 'SIM-002,SIM-004', '--limit', '1']);
  assert.match(dryIds.out, /^1 rows would be sent now[^\n]*\nrows 3\n/);
  assert.equal(app.fake.stats.answers, 0);

  // Chosen rows: by key, then a number of them.
  const ids = await cli(['--json', 'run', '--ids', 'SIM-003,SIM-005']);
  assert.equal(ids.code, EXIT.done, ids.err);
  assert.equal(ids.json().counts.done, 2);
  const limited = await cli(['--json', 'run', '--limit', '3']);
  assert.equal(limited.code, EXIT.done, limited.err);
  assert.equal(limited.json().counts.done, 5, 'three more rows');

  // A second orchestrator on the same job is refused while the first holds it.
  const other = client({ url: app.url, secret: app.secret });
  await other('claim', { id: 'someone-else', ttlMs: 60_000 });
  const refused = await cli(['run']);
  assert.equal(refused.code, EXIT.error);
  assert.match(refused.err, /another orchestrator \(someone-else\) is running this job/);
  await other('claim', { id: 'someone-else', release: true });

  const run = await cli(['--json', 'run', '--workers', '3']);
  assert.equal(run.code, EXIT.done, run.err);
  const r = run.json();
  assert.equal(r.counts.done, 21);
  assert.ok(r.chunks >= 3);
  const out = app.rt.workbook.sheet('Scenario Vitals');
  const keys = out.rows.slice(1).map((row) => row[0]).filter(Boolean);
  assert.equal(new Set(keys).size, keys.length, 'each row written once');
  assert.equal(keys.length, 21);
  // Again: the sheets say it is done; nothing is sent.
  const asked = app.fake.stats.answers;
  const again = await cli(['run']);
  assert.equal(again.code, EXIT.done, again.err);
  assert.equal(app.fake.stats.answers, asked);

  const report = await cli(['report']);
  assert.match(report.out, /^# rowbatch report: Clinical simulation scenarios/);
  const list = await cli(['batches', 'list']);
  assert.equal(list.out.trim(), 'no batch pending');
});
