// A short crash campaign (the long one is `npm run crash-suite -- --runs 500`): randomised runs
// with kills at service calls, overlapping executions, fault storms, rows inserted, deleted and
// sorted mid-run, and budgets that run out; every invariant must hold in every run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crashRun } from '../../tools/crash-suite.mjs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';

test('crash campaign: no duplicate, no lost row, every row terminal, no overspend, no leaked trigger', { skip }, async () => {
  let kills = 0;
  for (const seed of [101, 102, 103, 104, 105, 106]) {
    const r = await crashRun(seed);
    kills += r.kills;
    assert.deepEqual(
      { duplicate_rows: r.duplicate_rows, lost_rows: r.lost_rows, rows_without_terminal_state: r.rows_without_terminal_state, overspend_usd: r.overspend_usd, leaked_triggers: r.leaked_triggers },
      { duplicate_rows: 0, lost_rows: 0, rows_without_terminal_state: 0, overspend_usd: 0, leaked_triggers: 0 },
      `seed ${seed}: ${JSON.stringify(r)}`);
  }
  assert.ok(kills > 0, 'the campaign killed executions');
});

test('crash campaign with budgets that bite and a Batch API submission overlapping the realtime run', { skip }, async () => {
  let batches = 0;
  for (const seed of [201, 202, 203, 204]) {
    const r = await crashRun(seed, { budgets: true, overlap: true });
    batches += r.provider_batches;
    assert.deepEqual(
      { duplicate_rows: r.duplicate_rows, lost_rows: r.lost_rows, rows_without_terminal_state: r.rows_without_terminal_state, overspend_usd: r.overspend_usd, leaked_triggers: r.leaked_triggers },
      { duplicate_rows: 0, lost_rows: 0, rows_without_terminal_state: 0, overspend_usd: 0, leaked_triggers: 0 },
      `seed ${seed}: ${JSON.stringify(r)}`);
  }
  assert.ok(batches > 0, 'batches were submitted');
});

test('crash campaign with workers: rounds of 2–10 web app executions at once, any one of them killed', { skip }, async () => {
  let webApp = 0;
  let kills = 0;
  for (const seed of [301, 302, 303, 304]) {
    const r = await crashRun(seed, { workers: true });
    webApp += r.web_app_executions;
    kills += r.kills;
    assert.deepEqual(
      { duplicate_rows: r.duplicate_rows, lost_rows: r.lost_rows, rows_without_terminal_state: r.rows_without_terminal_state, overspend_usd: r.overspend_usd, leaked_triggers: r.leaked_triggers },
      { duplicate_rows: 0, lost_rows: 0, rows_without_terminal_state: 0, overspend_usd: 0, leaked_triggers: 0 },
      `seed ${seed}: ${JSON.stringify(r)}`);
  }
  assert.ok(webApp > 8, `workers ran (${webApp} web app executions)`);
  assert.ok(kills > 0, 'the campaign killed executions');
});
