// The local Apps Script runtime's own semantics: the project's pushed files plus a probe script
// run in it, and each service behaves as Apps Script's does, limits included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime, BUILD_DIR } from '../../apps-script-runtime/runtime.mjs';
import { Workbook } from '../../apps-script-runtime/workbook.mjs';
import { startFakeProvider } from '../../fake-provider/server.mjs';
import { FOREIGN_GLOBALS } from '../apps-script-sandbox/sandbox.mjs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';
const here = path.dirname(fileURLToPath(import.meta.url));
let buildDir;

before(() => {
  if (skip) return;
  buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rowbatch-runtime-'));
  for (const f of fs.readdirSync(BUILD_DIR)) fs.copyFileSync(path.join(BUILD_DIR, f), path.join(buildDir, f));
  fs.copyFileSync(path.join(here, '..', 'apps-script-runtime', 'probe.js'), path.join(buildDir, 'zz_probe.js'));
});
after(() => buildDir && fs.rmSync(buildDir, { recursive: true, force: true }));

const value = (r) => {
  assert.ok(r.ok, JSON.stringify(r.error));
  return r.value;
};

test('executions see no Node or Web globals but what the project polyfills, and load the module', { skip }, async () => {
  const rt = new Runtime({ buildDir });
  const present = value(await rt.run('probeGlobals', [FOREIGN_GLOBALS]));
  assert.deepEqual(present.sort(), ['TextDecoder', 'TextEncoder', 'crypto']);
  assert.equal(value(await rt.run('rowbatchSelfTest')).ok, true);
});

test('Sheets: typed values, the formula rule, shape checks, ranges, hidden sheets', { skip }, async () => {
  const rt = new Runtime({ buildDir });
  const v = value(await rt.run('probeSheets'));
  assert.deepEqual(v.values[0], [2, '=2+2', 42], 'a formula is computed, an apostrophe keeps text, "42" is a number');
  assert.deepEqual(v.types, ['number', 'string', 'number']);
  assert.deepEqual(v.values[1], ['#NAME?', true, 'date:2026-01-02T00:00:00.000Z']);
  assert.deepEqual(v.formulas, [['=1+1', ''], ['=IMPORTXML("http://x","//a")', '']]);
  assert.deepEqual(v.values[2], ['x', 1.5, '']);
  assert.equal(v.lastRow, 3);
  assert.equal(v.lastColumn, 3);
  assert.equal(v.a1, 'B2:C3');
  assert.equal(v.hidden, true);
  assert.deepEqual(v.sheets, ['Probe', 'Hidden']);
  assert.match(v.errors[0], /number of rows in the data does not match the number of rows in the range. The data has 1 but the range has 2/);
  assert.match(v.errors[1], /number of columns in the data does not match .* The data has 3 but the range has 2/);
  assert.match(v.errors[2], /already exists/);
  assert.ok(rt.counters.sheetsWrites >= 3 && rt.counters.sheetsReads >= 3);
});

test('a workbook saved and loaded keeps its types, formulas, text and hidden sheets', { skip }, async () => {
  const rt = new Runtime({ buildDir });
  value(await rt.run('probeSheets'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rowbatch-wb-'));
  rt.save(dir);
  const back = Workbook.load(dir);
  const s = back.sheet('Probe');
  assert.deepEqual([s.get(0, 0), s.get(0, 1), s.get(0, 2), s.get(1, 1)], [2, '=2+2', 42, true]);
  assert.equal(s.formula(0, 0), '=1+1');
  assert.deepEqual(s.get(1, 2), { $date: Date.UTC(2026, 0, 2) });
  assert.equal(back.sheet('Hidden').hidden, true);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('cell notes: written and read like values, moved with their cells, saved with the workbook', { skip }, async () => {
  const rt = new Runtime({ buildDir });
  const v = value(await rt.run('probeNotes'));
  assert.deepEqual(v.moved, [['a1', ''], ['', 'b2']]);
  assert.deepEqual(v.top, [['', '', ''], ['', '', '']]);
  assert.deepEqual(v.errors, ['The number of rows in the data does not match the number of rows in the range. The data has 1 but the range has 2.']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rowbatch-wb-'));
  rt.save(dir);
  assert.equal(Workbook.load(dir).sheet('Notes').note(3, 2), 'b2');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('Properties: three stores, the per-value and per-store limits', { skip }, async () => {
  const rt = new Runtime({ buildDir });
  const v = value(await rt.run('probeProperties', [9 * 1024 + 1, 70]));
  assert.equal(v.errors[0], 'Argument too large: value');
  assert.match(v.errors[1], /exceeded the property storage quota/);
  assert.deepEqual([v.small, v.user, v.doc], ['v', '1', null]);
});

test('LockService excludes a second execution until the first releases', { skip }, async () => {
  const rt = new Runtime({ buildDir });
  const first = rt.run('probeLock', ['A', 400, 1000]);
  await new Promise((r) => setTimeout(r, 150));
  const [a, b, c] = await Promise.all([first, rt.run('probeLock', ['B', 10, 0]), rt.run('probeLock', ['C', 10, 5000])]);
  assert.equal(value(a).got, true);
  assert.equal(value(b).got, false, 'tryLock(0) fails while A holds the lock');
  assert.equal(value(c).got, true);
  assert.ok(value(c).from >= value(a).until, 'C ran its critical section after A left');
});

test('simulated time: executions at once overlap (each has its own clock) and the lock hands over in time order', { skip }, async () => {
  const rt = new Runtime({ buildDir, simulated: true, start: 1e12 });
  // Three executions sleeping 10 s each, started together, end 10 s in: the time of one.
  const ends = (await Promise.all([0, 1, 2].map(() => rt.run('probeSleep', [10_000])))).map(value);
  assert.deepEqual(ends, [1e12 + 10_000, 1e12 + 10_000, 1e12 + 10_000]);
  assert.equal(rt.now(), 1e12 + 10_000);
  // A holds the lock for 5 s; B waits for it (up to 60 s) and gets it when A lets go; C only
  // tries, while A holds it, and fails at once.
  const t = rt.now();
  const [a, b, c] = (await Promise.all([rt.run('probeLock', ['A', 5000, 1000]), rt.run('probeLock', ['B', 1000, 60_000], { at: t + 1 }),
    rt.run('probeLock', ['C', 10, 0], { at: t + 2 })])).map(value);
  assert.equal(a.got, true);
  assert.equal(b.got, true);
  assert.equal(b.from, a.until, 'B takes the lock the moment A releases it');
  assert.equal(c.got, false);
  assert.ok(rt.counters.lockWaitMs >= 4999, `waiting counted (${rt.counters.lockWaitMs} ms)`);
  // A wait that outlasts its limit ends at the limit.
  const u = rt.now();
  const [d, e] = (await Promise.all([rt.run('probeLock', ['D', 30_000, 1000]), rt.run('probeLock', ['E', 10, 2000], { at: u + 1000 })]));
  assert.equal(value(d).got, true);
  assert.equal(e.ok, false, 'waitLock throws when the lock does not come');
  assert.equal(e.ms, 2000);
});

test('triggers: at most 20, due ones run, fired ones stay listed until deleted', { skip }, async () => {
  const rt = new Runtime({ buildDir, simulated: true, start: 1e12 });
  const v = value(await rt.run('probeTriggers', [21]));
  assert.equal(v.made, 20);
  assert.match(v.error, /too many triggers/);
  const runs = await rt.runTriggers();
  assert.equal(runs.length, 20);
  assert.equal(rt.properties.script.fired, '20');
  assert.equal(rt.triggers.length, 20, 'fired after() triggers still count');
  assert.equal(value(await rt.run('probeDeleteTriggers')), 0);
  assert.equal(rt.counters.triggerRuns, 20);
});

test('the 6-minute limit kills the execution mid-work and frees its lock', { skip }, async () => {
  const rt = new Runtime({ buildDir, simulated: true, start: 1e12 });
  const r = await rt.run('probeForever');
  assert.equal(r.killed, true);
  assert.equal(r.ok, false);
  const written = rt.workbook.sheet('Forever').lastRow;
  assert.ok(written >= 355 && written <= 362, `rows written before the kill: ${written}`);
  assert.equal(rt.locks.script, null);
  assert.equal(rt.counters.kills, 1);
  // Real time too: a short limit kills a real execution.
  const real = new Runtime({ buildDir, limits: { executionMs: 500 } });
  const k = await real.run('probeForever');
  assert.equal(k.killed, true);
});

test('simulated time moves with sleeps (and counts toward the limit); the cache expires on it', { skip }, async () => {
  const rt = new Runtime({ buildDir, simulated: true, start: 1e12 });
  const v = value(await rt.run('probeClock', [], {}));
  assert.ok(v.slept >= 261_000, `${v.slept}`);
  assert.deepEqual([v.before, v.after, v.date], ['v', null, true]);
});

test('UrlFetchApp: muteHttpExceptions decides whether an error status throws; no network always throws', { skip }, async () => {
  const fake = await startFakeProvider({ realLatency: false });
  try {
    const rt = new Runtime({ buildDir });
    const url = `${fake.url}/v1/chat/completions`;
    assert.match(value(await rt.run('probeFetch', [url, false])).thrown, /Request failed for .* returned code 401\. Truncated server response/);
    assert.equal(value(await rt.run('probeFetch', [url, true])).code, 401);
    assert.match(value(await rt.run('probeFetch', ['http://127.0.0.1:9/none', true])).thrown, /Address unavailable/);
    assert.equal(rt.counters.urlFetchRequests, 3);
  } finally {
    await fake.close();
  }
});

test('Utilities and Session', { skip }, async () => {
  const rt = new Runtime({ buildDir });
  const v = value(await rt.run('probeUtilities'));
  assert.deepEqual(v, { signed: true, length: 6, digest0: -70, uuid: 36, user: 'user@example.com' });
});

test('Sheets grows no rows by itself: a new sheet is 1,000 × 26, a range past it throws, insertRows…/appendRow grow it', { skip }, async () => {
  const rt = new Runtime({ buildDir });
  const v = value(await rt.run('probeGrid'));
  const outside = 'The coordinates of the range are outside the dimensions of the sheet.';
  assert.deepEqual(v.size, [1000, 26]);
  assert.deepEqual(v.errors.slice(0, 4), [outside, outside, outside, outside]);
  assert.match(v.errors[4], /would increase the number of cells in the workbook above the limit of 10000000 cells/);
  assert.deepEqual(v.afterAppend, [1001, 'appended'], 'appendRow on a full grid adds the row');
  assert.deepEqual(v.grown, [1501, 30]);
  assert.equal(v.corner, 'corner');
  assert.equal(v.open, 1500, 'an open-ended A2:B runs to the last row of the grid');
  assert.deepEqual(v.shifted, ['last', 'appended', 1502], 'insertRowsBefore moves the data down');
  // The grid, not the data, is what the 10-million-cell limit counts.
  assert.equal(rt.workbook.sheet('Grid').cellCount(), 1502 * 30);
});

test('daily quotas: UrlFetch calls per request with Apps Script\'s message, over a rolling day; Workspace has more', { skip }, async () => {
  const fake = await startFakeProvider({ realLatency: false });
  try {
    const url = `${fake.url}/v1/chat/completions`;
    const rt = new Runtime({ buildDir, simulated: true, start: 1e12, quotas: { urlfetch: 25 } });
    const v = value(await rt.run('probeFetchQuota', [url, 5, 10]));
    assert.deepEqual(v, { done: 20, error: 'Service invoked too many times for one day: urlfetch.' }, 'a fetchAll past the quota sends nothing');
    assert.equal(rt.counters.urlFetchRequests, 20);
    rt.clock += 23 * 3_600_000;
    assert.equal(value(await rt.run('probeFetchQuota', [url, 1, 10])).error, 'Service invoked too many times for one day: urlfetch.', 'still within the day');
    rt.clock += 3_600_000;
    assert.deepEqual(value(await rt.run('probeFetchQuota', [url, 2, 10])), { done: 20, error: null }, 'a day later the calls are free again');
    assert.equal(new Runtime({ buildDir }).quotas.urlfetch, 20_000, 'consumer by default');
    assert.equal(new Runtime({ buildDir, account: 'workspace' }).quotas.urlfetch, 100_000);
  } finally {
    await fake.close();
  }
});

test('daily quotas: trigger runtime stops a trigger\'s execution and refuses the next; email recipients run out', { skip }, async () => {
  const rt = new Runtime({ buildDir, simulated: true, start: 1e12, quotas: { triggerRuntimeMs: 5 * 60_000 } });
  value(await rt.run('probeTriggers', [1]));
  rt.triggers[0].fn = 'probeForever';
  const [killed] = await rt.runTriggers();
  assert.equal(killed.ok, false);
  assert.equal(killed.error.message, 'Service using too much computer time for one day');
  value(await rt.run('probeTriggers', [1]));
  const [refused] = await rt.runTriggers();
  assert.equal(refused.refused, true, 'no time left: the trigger does not start');
  assert.equal(refused.error.message, 'Service using too much computer time for one day');
  assert.ok(value(await rt.run('probeSleep', [1000])), 'a manual execution still runs');
  const mail = new Runtime({ buildDir, scopes: ['https://www.googleapis.com/auth/script.send_mail'], quotas: { email: 2 } });
  assert.deepEqual(value(await mail.run('probeMail', ['a@example.com,b@example.com'])), { sent: true, remaining: 0 });
  assert.deepEqual(value(await mail.run('probeMail', ['c@example.com'])), { error: 'Service invoked too many times for one day: email.' });
});

test('simultaneous executions: past 30 a new one is refused before it starts', { skip }, async () => {
  const rt = new Runtime({ buildDir, quotas: { simultaneous: 2 } });
  const [a, b, c] = await Promise.all([rt.run('probeSleep', [300]), rt.run('probeSleep', [300]), rt.run('probeSleep', [300])]);
  assert.ok(a.ok && b.ok);
  assert.equal(c.ok, false);
  assert.equal(c.error.message, 'There are too many scripts running.');
  assert.equal(rt.counters.busyRefusals, 1);
  assert.ok((await rt.run('probeSleep', [1])).ok, 'room again once they end');
});

test('OAuth scopes: a service outside the manifest\'s oauthScopes throws Apps Script\'s permission error', { skip }, async () => {
  const rt = new Runtime({ buildDir });
  assert.deepEqual(value(await rt.run('probeMail', ['a@example.com'])),
    { error: 'You do not have permission to call MailApp.sendEmail. Required permissions: https://www.googleapis.com/auth/script.send_mail' });
  assert.equal(value(await rt.run('probeScope')), 'REQUIRED');
  const granted = new Runtime({ buildDir, scopes: ['https://www.googleapis.com/auth/script.send_mail'] });
  assert.equal(value(await granted.run('probeScope')), 'NOT_REQUIRED');
  const noSheets = new Runtime({ buildDir, scopes: ['https://www.googleapis.com/auth/script.external_request'] });
  const r = await noSheets.run('probeGrid');
  assert.match(r.error.message, /^You do not have permission to call SpreadsheetApp\.\w+\. Required permissions: https:\/\/www\.googleapis\.com\/auth\/spreadsheets\.currentonly$/);
});

test('fetchAll runs at most fetchAllConcurrency requests at once: a wave of 100 takes ten latencies at 10', { skip }, async () => {
  // The fake provider in process, so its latency moves the simulated clock: 1 s a request
  // (median = 95th percentile).
  const { createFakeProvider } = await import('../../fake-provider/provider.mjs');
  const time = async (limits) => {
    const p = createFakeProvider({ latencyMedianMs: 1000, latencyP95Ms: 1000 });
    const rt = new Runtime({ buildDir, simulated: true, start: 1e12, limits, provider: (req, at) => p.handle({ ...req, headers: { authorization: 'Bearer k' } }, at) });
    return value(await rt.run('probeWave', ['http://fake.local/v1/chat/completions', 100]));
  };
  // Ten lanes of ten.
  const capped = await time({});
  assert.ok(capped >= 9_000 && capped <= 12_000, `capped wave: ${capped} ms`);
  const open = await time({ fetchAllConcurrency: 100 });
  assert.ok(open <= 1_500, `uncapped wave: ${open} ms`);
});

test('Sheets calls cost time on the simulated clock: a call, a share per cell, a flush', { skip }, async () => {
  const rt = new Runtime({ buildDir, simulated: true, start: 1e12 });
  const v = value(await rt.run('probeSheetsCost'));
  assert.equal(v.write, 7 + 1000 * 0.1, 'one 1,000-cell write');
  assert.equal(v.read, 25 + 1000 * 0.01);
  assert.equal(v.flush, 25);
  assert.equal(Math.round(v.single), 100 * (7 + 0.1), 'a hundred single-cell writes cost seven times the 1,000-cell block (Google: 70 s against 1 s for 10,000)');
  assert.equal(Math.round(rt.counters.sheetsMs), 25 + 107 + 35 + 25 + 710, "insertSheet, the block write and read, the flush, the single writes");
});

test('time-driven triggers start late by the set delay plus seeded jitter', { skip }, async () => {
  const starts = async (seed) => {
    const rt = new Runtime({ buildDir, simulated: true, start: 1e12, seed, limits: { triggerDelayMs: 10_000, triggerJitterMs: 50_000 } });
    value(await rt.run('probeTriggers', [5]));
    return rt.triggers.map((t, i) => t.at - 1e12 - 1000 * (i + 1));
  };
  const a = await starts(7);
  assert.ok(a.every((d) => d >= 10_000 && d <= 60_000), a.join(' '));
  assert.ok(new Set(a).size > 1, 'the delay varies');
  assert.deepEqual(await starts(7), a, 'and replays with the seed');
});

test('Sheets types what a script writes: dates, times, percentages, currency and thousands; the core\'s sheetText keeps text text', { skip }, async () => {
  const rt = new Runtime({ buildDir });
  const samples = ['2026-01-02', '1/2/2026', 'Jan 2, 2026', '10:30', '12%', '$1,234.50', '(5)', '1,000', '007', 'TRUE', '=1+1',
    "'quoted", '2/30/2026', '120/80', 'SIM-001', 'a0b1c2d3e4f5', '4e12345'];
  const got = value(await rt.run('probeTyping', [samples]));
  const typed = Object.fromEntries(samples.map((t, i) => [t, got[i][0]]));
  assert.equal(typed['2026-01-02'], 'date:2026-01-02T00:00:00.000Z');
  assert.equal(typed['1/2/2026'], 'date:2026-01-02T00:00:00.000Z', 'M/D/YYYY in en_US');
  assert.equal(typed['Jan 2, 2026'], 'date:2026-01-02T00:00:00.000Z');
  assert.equal(typed['10:30'], 'date:1899-12-30T10:30:00.000Z', 'a time is a date on the 1899 epoch');
  assert.deepEqual([typed['12%'], typed['$1,234.50'], typed['(5)'], typed['1,000'], typed['007'], typed.TRUE], [0.12, 1234.5, -5, 1000, 7, true]);
  assert.equal(typed['=1+1'], 2);
  assert.equal(typed["'quoted"], 'quoted', 'the apostrophe is eaten');
  assert.deepEqual([typed['2/30/2026'], typed['120/80'], typed['SIM-001']], ['2/30/2026', '120/80', 'SIM-001'], 'not a day, not a date');
  assert.equal(typed['4e12345'], '4e12345', 'too large for a number: text');
  assert.equal(typed.a0b1c2d3e4f5, 'a0b1c2d3e4f5');
  // Through the core's sheetText, every text comes back as it was.
  assert.deepEqual(got.map((r) => r[1]), samples);
});
