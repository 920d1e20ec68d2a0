// "Apply fixes" (appsscript/src/fixes.js) in the local runtime: the core's proposed input fixes
// listed in a confirmation, written only into the fixed cells (runs of adjacent cells, one write
// each), each noted with its old value and reason; a cell changed after the check, a formula
// and a date are left as they are; nothing happens without a yes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulatedJob } from '../apps-script-runtime/jobs.mjs';
import { enter } from '../../apps-script-runtime/workbook.mjs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';
const value = (r) => { assert.ok(r.ok, JSON.stringify(r.error)); return r.value; };

/** The clinical job over 8 rows, Age (column C) written as "N/A" in rows 3, 4 and 7 (a fix: empty). */
function withFixes() {
  const job = simulatedJob({ rows: 8 });
  const input = job.rt.workbook.sheet(job.spec.input.sheet);
  job.spec.input.nullTokens = ['N/A'];
  job.rt.workbook.sheet('_rowbatch_spec').set(0, 0, { value: JSON.stringify(job.spec) });
  for (const r of [2, 3, 6]) input.set(r, 2, enter('N/A'));
  input.setNote(3, 2, 'asked the author');
  return { ...job, input };
}

test('the fixes are listed and, confirmed, written into their cells with a note each', { skip }, async () => {
  const { rt, input } = withFixes();
  const before = JSON.stringify(input.rows);
  rt.uiAnswer = 'NO';
  assert.equal(value(await rt.run('rowbatchApplyFixesMenu')).cancelled, true);
  assert.equal(JSON.stringify(input.rows), before, 'nothing written without a yes');
  assert.match(rt.ui.alerts[0], /^Apply 3 fix\(es\) to the input sheet\?\nC3: "N\/A" → \(empty\) — /);
  assert.match(rt.ui.alerts[0], /\nC7: "N\/A" → \(empty\)/);

  rt.uiAnswer = 'YES';
  const writes = rt.counters.sheetsWrites;
  const done = value(await rt.run('rowbatchApplyFixesMenu'));
  assert.deepEqual([done.applied, done.writes, done.left], [3, 2, []]);
  assert.equal(rt.counters.sheetsWrites - writes, 4, 'rows 3–4 in one run, row 7 in another: values and notes each');
  assert.deepEqual([2, 3, 6].map((r) => input.get(r, 2)), ['', '', '']);
  assert.equal(input.get(4, 2), 24, 'a neighbour is untouched');
  assert.match(input.note(2, 2), /^rowbatch fixed this cell: it was "N\/A" \(/);
  assert.match(input.note(3, 2), /^asked the author\nrowbatch fixed this cell: it was "N\/A"/, 'a note already there is kept');
  assert.equal(input.note(4, 2), '');
  // Fixed, the rows have nothing left to fix.
  rt.ui.alerts.length = 0;
  assert.equal(value(await rt.run('rowbatchApplyFixesMenu')).applied, 0);
  assert.match(rt.ui.alerts[0], /^rowbatch: no fix to apply/);
});

test('a cell edited after the check, a formula and a date are left as they are, and said so', { skip }, async () => {
  const { rt, input } = withFixes();
  // The person edits C4 while the confirmation is open; C3 became a formula, C7 a date.
  rt.uiAnswer = 'YES';
  const realAlert = rt.onAlert;
  rt.onAlert = () => {
    input.set(3, 2, enter('41'));
    input.set(2, 2, enter('=IF(TRUE,"N/A","")'));
    input.set(6, 2, { value: { $date: Date.UTC(2026, 0, 2) } });
  };
  const done = value(await rt.run('rowbatchApplyFixesMenu'));
  rt.onAlert = realAlert;
  assert.equal(done.applied, 0);
  assert.deepEqual(done.left.map((l) => `${l.cell} ${l.why}`).sort(), ['C3 it holds a formula', 'C4 it changed after the check', 'C7 it holds a date']);
  assert.equal(input.get(3, 2), 41);
  assert.equal(input.formula(2, 2), '=IF(TRUE,"N/A","")');
});
