// The `rowbatch` CLI against the local runtime's web app over HTTP (real clock, real sockets, the
// fake provider): every command, with bad input (a wrong secret, none, a range past the sheet, a
// malformed range) and a second orchestrator on the same job; a run with several workers writes
// each row once, and a second run sends nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { main, client, EXIT } from '../../cli/rowbatch.mjs';
import { startWebApp } from '../../tools/serve-webapp.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
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

test('CLI: batches download writes the provider\'s result lines once the batch has ended', { skip }, async () => {
  const own = await startWebApp({ faults: { latencyMedianMs: 20, latencyP95Ms: 60 } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rowbatch-download-'));
  try {
    const run = async (args) => {
      let out = '';
      let err = '';
      const io = { out: { write: (s) => { out += s; }, isTTY: false }, err: { write: (s) => { err += s; } }, env: { ROWBATCH_WEB_APP: own.url, ROWBATCH_SECRET: own.secret } };
      return { code: await main(args, io), out, err };
    };
    const submitted = await run(['--json', 'batches', 'submit']);
    assert.equal(submitted.code, EXIT.done, submitted.err);
    const { batches } = JSON.parse(submitted.out);
    assert.equal(batches.length, 1);
    const id = batches[0].id;
    // Not ended yet: no file, and the exit code says so.
    const early = await run(['batches', 'download', id, '--out', dir]);
    assert.equal(early.code, EXIT.stopped, early.err);
    assert.match(early.out, new RegExp(`^${id} has not ended \\(\\w+\\): no file yet`));
    let done = early;
    for (let i = 0; i < 5 && done.code === EXIT.stopped; i += 1) done = await run(['batches', 'download', id, '--out', dir]);
    assert.equal(done.code, EXIT.done, done.err + done.out);
    const file = path.join(dir, `${id}-1.jsonl`);
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.equal(lines.length, batches[0].lines);
    assert.ok(lines.every((l) => typeof l.custom_id === 'string' && l.response?.status_code === 200));
    // An id the provider does not have: its refusal, in its words.
    const unknown = await run(['batches', 'download', 'batch_nope', '--out', dir]);
    assert.equal(unknown.code, EXIT.error);
    assert.match(unknown.err, /the batch batch_nope answered 404/);
  } finally {
    await own.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI: killed mid-run and started again, it takes over its own dead claim and finishes, each row once', { skip }, async () => {
  const own = await startWebApp({ faults: { latencyMedianMs: 300, latencyP95Ms: 900 } });
  try {
    const env = { ...process.env, ROWBATCH_WEB_APP: own.url, ROWBATCH_SECRET: own.secret };
    const child = spawn(process.execPath, [path.join(root, 'cli', 'rowbatch.mjs'), 'run', '--workers', '3'], { env, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Killed once some rows have been answered, with slices of it still at work in the web app.
    for (let i = 0; i < 600 && own.fake.stats.answers < 4; i += 1) await new Promise((r) => setTimeout(r, 25));
    assert.ok(own.fake.stats.answers >= 4, 'the first CLI got under way');
    child.kill('SIGKILL');
    await exited;
    const held = JSON.parse(own.rt.properties.script.ROWBATCH_ORCHESTRATOR);
    assert.match(held.id, new RegExp(`-${child.pid}-`), 'the dead CLI still holds the job');
    let out = '';
    let err = '';
    const io = { out: { write: (s) => { out += s; }, isTTY: false }, err: { write: (s) => { err += s; } }, env: { ROWBATCH_WEB_APP: own.url, ROWBATCH_SECRET: own.secret } };
    const code = await main(['run', '--workers', '3'], io);
    assert.equal(code, EXIT.done, err + out);
    assert.match(err, new RegExp(`taking over from a rowbatch CLI that is no longer running \\(process ${child.pid}\\)`));
    // Slices the dead CLI had started may still be writing: wait for every execution to end.
    for (let i = 0; i < 400 && own.rt.running > 0; i += 1) await new Promise((r) => setTimeout(r, 25));
    const keys = own.rt.workbook.sheet('Scenario Vitals').rows.slice(1).map((row) => row[0]).filter(Boolean);
    assert.equal(keys.length, 21);
    assert.equal(new Set(keys).size, 21, 'each row written once');
    assert.equal(own.rt.properties.script.ROWBATCH_ORCHESTRATOR, undefined, 'the claim is released');
  } finally {
    await own.close();
  }
});
