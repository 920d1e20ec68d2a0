// Saved jobs (appsscript/src/jobs.js) in the local runtime: the form's context from the active
// sheet, a spec stored only once the core accepts it, several jobs with one selected, and the
// selected job left alone while a run is going.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simulatedJob } from '../apps-script-runtime/jobs.mjs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const example = (name) => JSON.parse(fs.readFileSync(path.join(root, 'examples', name, 'job.json'), 'utf8'));
const value = (r) => { assert.ok(r.ok, JSON.stringify(r.error)); return r.value; };

test('the form reads the active sheet: its header, the selected row and the row count', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 6 });
  rt.select(spec.input.sheet, 'B4');
  const ctx = value(await rt.run('rowbatchFormContext'));
  assert.deepEqual(ctx.header, ['Case_ID', 'Title', 'Age', 'Presentation']);
  assert.equal(ctx.sheet, spec.input.sheet);
  assert.deepEqual([ctx.row, ctx.rows, ctx.values[0]], [4, 6, 'SIM-00003']);
  assert.equal(ctx.current.name, spec.name);
  assert.deepEqual(ctx.jobs, [spec.name], 'a spec put in _rowbatch_spec by hand is a saved job too');
  assert.equal(ctx.running, false);
});

test('saving: the core\'s problems come back and nothing is stored; a good spec is stored and selected', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 3 });
  const bad = structuredClone(spec);
  bad.name = 'Broken';
  bad.prompt.template = 'Case {{Case}}';
  const refused = value(await rt.run('rowbatchSaveJob', [bad, true]));
  assert.equal(refused.ok, false);
  assert.match(refused.problems.join('\n'), /^prompt\.template: expected a column of input\.schema \(Case_ID, Title, Age, Presentation\), found "\{\{Case\}\}"$/m);
  assert.equal(rt.workbook.sheet('_rowbatch_jobs'), null, 'nothing stored');

  const brands = example('brands');
  const saved = value(await rt.run('rowbatchSaveJob', [brands, false]));
  assert.equal(saved.ok, true, JSON.stringify(saved));
  assert.equal(saved.selected, false);
  assert.equal(JSON.parse(rt.workbook.sheet('_rowbatch_spec').get(0, 0)).name, spec.name, 'not selected: the runner\'s job is unchanged');
  assert.ok(rt.workbook.sheet('_rowbatch_jobs').hidden);
  assert.deepEqual(saved.context.jobs, [spec.name, 'Brand profiles']);

  // Selecting it puts its spec where the runner reads it; saving it again replaces its row.
  assert.equal(value(await rt.run('rowbatchSelectJob', ['Brand profiles'])).ok, true);
  assert.deepEqual(JSON.parse(rt.workbook.sheet('_rowbatch_spec').get(0, 0)), brands);
  brands.budget.maxUsd = 3;
  const again = value(await rt.run('rowbatchSaveJob', [brands, false]));
  assert.equal(again.selected, true, 'the selected job, saved, stays selected and current');
  assert.equal(JSON.parse(rt.workbook.sheet('_rowbatch_spec').get(0, 0)).budget.maxUsd, 3);
  assert.equal(rt.workbook.sheet('_rowbatch_jobs').rows.length, 1);
  assert.deepEqual(value(await rt.run('rowbatchJob', ['Brand profiles'])), brands);
  const missing = await rt.run('rowbatchJob', ['Nope']);
  assert.match(missing.error.message, /no saved job named "Nope"/);
});

test('a spec longer than a cell holds is refused with its length', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 1 });
  const big = structuredClone(spec);
  big.prompt.system = 'x'.repeat(50_000);
  const r = value(await rt.run('rowbatchSaveJob', [big, true]));
  assert.equal(r.ok, false);
  assert.match(r.problems[0], /^\(spec\): expected at most 49999 characters \(a cell holds 50000\), found \d+$/);
});

test('the selected job does not change under a run that is going', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 400, limits: { waveSize: 20 }, faults: { latencyMedianMs: 30000, latencyP95Ms: 60000 } });
  value(await rt.run('rowbatchRun'));
  assert.equal(value(await rt.run('rowbatchFormContext')).running, true);
  const other = example('brands');
  const r = value(await rt.run('rowbatchSaveJob', [other, true]));
  assert.equal(r.ok, false);
  assert.match(r.problems[0], /a run of the selected job is going: stop it/);
  const edited = structuredClone(spec);
  edited.prompt.system += ' Be brief.';
  assert.equal(value(await rt.run('rowbatchSaveJob', [edited, false])).ok, false, 'nor is the selected job edited');
  assert.equal(JSON.parse(rt.workbook.sheet('_rowbatch_spec').get(0, 0)).name, spec.name);
  // Saved without selecting, another job is fine; once the run is stopped, selecting is too.
  assert.equal(value(await rt.run('rowbatchSaveJob', [other, false])).ok, true);
  value(await rt.run('rowbatchStop'));
  assert.equal(value(await rt.run('rowbatchSelectJob', ['Brand profiles'])).ok, true);
});

test('settings saved for the selected job reach its saved row too', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 2 });
  assert.equal(value(await rt.run('rowbatchSaveJob', [spec, true])).ok, true);
  const r = value(await rt.run('rowbatchSaveSettings', [{ kind: 'openai', model: 'gpt-4o-mini', baseUrl: spec.provider.baseUrl, limits: {}, budgetUsd: 7 }]));
  assert.equal(r.ok, true);
  assert.equal(value(await rt.run('rowbatchJob', [spec.name])).budget.maxUsd, 7);
  assert.equal(JSON.parse(rt.workbook.sheet('_rowbatch_spec').get(0, 0)).budget.maxUsd, 7);
});
