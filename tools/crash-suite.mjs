#!/usr/bin/env node
// `npm run crash-suite -- --runs N`: randomised runs of the example job through the real Apps
// Script project in the local runtime, on a simulated clock, each with executions killed at
// random service calls (between fetchAll and the writes, between the output and the progress
// write, anywhere), executions cut short by the time limit, a manual run overlapping a trigger
// run, fault storms (30 % 429s, 5xx bursts, timeouts, resets), input rows inserted, deleted and
// sorted mid-run, budgets that run out (then raised, and the job resumed), UrlFetch quotas
// spent for the day (the run pauses, then resumes), and Batch API submissions overlapping the
// realtime run on the same budget (`--overlap`: in every run). After every run
// the invariants are checked; out/crash-suite.json holds the totals, which should all be zero.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { simulatedJob, outputs, row } from '../tests/apps-script-runtime/jobs.mjs';
import { enter } from '../apps-script-runtime/workbook.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A seeded stream of numbers in [0, 1). */
function random(seed) {
  let h = crypto.createHash('sha256').update(String(seed)).digest();
  let i = 0;
  return () => {
    if (i + 4 > h.length) { h = crypto.createHash('sha256').update(h).digest(); i = 0; }
    const v = h.readUInt32BE(i) / 2 ** 32;
    i += 4;
    return v;
  };
}

/**
 * One randomised run; returns its invariant counts. `budgets`: every run gets a budget that is
 * reached (`--budgets`), not a quarter of them; `overlap`: every run submits a provider batch
 * while the realtime run goes on (else a fifth of them do); `workers`: the script is deployed as a
 * web app, so the run's slices start rounds of 2–10 workers (the spec's limits.workers), and a
 * kill may strike any one worker alone.
 */
export async function crashRun(seed, { budgets = false, overlap = false, workers = false } = {}) {
  const rand = random(seed);
  const pick = (a) => a[Math.floor(rand() * a.length)];
  const rows = 30 + Math.floor(rand() * 60);
  const storm = rand() < 0.4;
  const budgetRun = rand() < 0.25 || budgets;
  // With `overlap`, at the first step where the realtime run has a slice to come and the budget
  // has room, or beside the resume that follows raising a budget that stopped the run (such a
  // run may be over within a few steps: its canary row alone, then a wave the rest of the
  // budget cannot hold).
  const batchAt = rand() < 0.2 ? 1 + Math.floor(rand() * 6) : -1;
  // Until a batch is made (a submission can be killed like any execution).
  const submitted = () => (fake.stats.batch?.batches ?? 0) > 0;
  const faults = {
    rate429: storm ? 0.3 : 0.03, rate500: storm ? 0.1 : 0.02, rate503: 0.01, timeout: 0.01, reset: 0.01,
    outOfRange: 0.05, malformed: 0.02, latencyMedianMs: 3000, latencyP95Ms: 15_000, seed: `crash-${seed}`,
  };
  const crashRate = pick([0, 0.005, 0.02]);
  const crashWrites = rand() < 0.5;
  const fan = workers ? { workers: pick([2, 3, 5, 10]) } : {};
  const { rt, spec, sent, fake } = simulatedJob({
    webApp: workers,
    rows, limits: { waveSize: pick([5, 10, 25]), attemptsPerRow: 3, timeSliceSeconds: pick([120, 200, 300]), ...fan }, faults,
    // The faithful runtime (a consumer account's quotas, fetchAll 10 at a time, timed Sheets
    // calls) with triggers late by a seeded jitter; some runs share a UrlFetch quota nearly
    // spent by other scripts, so the run pauses for the day mid-job.
    runtime: {
      limits: { executionMs: pick([150_000, 360_000]), triggerDelayMs: pick([0, 30_000, 60_000]), triggerJitterMs: pick([0, 60_000, 180_000]) },
      seed: Math.floor(rand() * 2 ** 31),
      ...(rand() < 0.15 ? { quotas: { urlfetch: rows * 2 } } : {}),
    },
  });
  if (budgetRun) {
    const s = rt.workbook.sheet('_rowbatch_spec');
    s.set(0, 0, { value: JSON.stringify({ ...spec, budget: { maxUsd: 0.002 } }) });
  }
  // Kills before a service call: any call, or the writes after a wave (fetchAll has returned).
  rt.crashAt = (_exec, service, method) => {
    const write = service === 'range' && method === 'setValues';
    return rand() < (crashWrites && write ? crashRate * 5 : crashRate);
  };
  const everDone = new Set();
  const input = rt.workbook.sheet(spec.input.sheet);
  let next = rows + 1;
  const look = () => { for (const [key, list] of outputs(rt, spec)) if (list.some((r) => r.status === 'done')) everDone.add(key); };
  let overspend = 0;
  let selfReported = 0;
  // The budget every request so far was sent under; raised once the run has stopped on it.
  let budgetUsd = budgetRun ? 0.002 : Infinity;

  await rt.run('rowbatchRun');
  for (let step = 0; step < 1500; step += 1) {
    look();
    // Overspend from the provider's bill (realtime and batch), not from what rowbatch counted.
    overspend = Math.max(overspend, fake.stats.billUsd - budgetUsd);
    const midRun = overlap && !submitted() && budgetUsd > 0.002 && rt.triggers.some((t) => !t.fired);
    if (step === batchAt || midRun) await rt.run('rowbatchSubmitBatch');
    const r = rand();
    if (r < 0.05) {
      // Rows inserted at a random place.
      const at = 1 + Math.floor(rand() * (input.rows.length - 1));
      input.rows.splice(at, 0, row(next).map((v) => enter(v).value));
      next += 1;
    } else if (r < 0.08 && input.rows.length > 3) {
      input.rows.splice(1 + Math.floor(rand() * (input.rows.length - 1)), 1);
    } else if (r < 0.1) {
      const body = input.rows.slice(1).sort(() => rand() - 0.5);
      input.rows = [input.rows[0], ...body];
    }
    const pending = rt.triggers.filter((t) => !t.fired);
    if (pending.length === 0) {
      const stopped = rt.properties.script.ROWBATCH_STOP;
      if (stopped && budgetRun && /budget/.test(stopped)) {
        selfReported = Math.max(selfReported, JSON.parse(rt.properties.script.ROWBATCH_RUN ?? '{"costUsd":0}').costUsd - 0.002);
        const s = rt.workbook.sheet('_rowbatch_spec');
        s.set(0, 0, { value: JSON.stringify({ ...JSON.parse(String(s.get(0, 0))), budget: { maxUsd: 50 } }) });
        budgetUsd = 50;
        if (overlap && !submitted()) {
          // The batch goes in while the resumed run's slice is under way.
          await Promise.all([rt.run('rowbatchResume'), rt.run('rowbatchSubmitBatch')]);
        } else {
          await rt.run('rowbatchResume');
        }
        continue;
      }
      const status = await rt.run('rowbatchStatus');
      if (status.ok && status.value.finished) break;
      // Killed with no trigger left (a kill before the watchdog was set): the user resumes.
      await rt.run('rowbatchResume');
      continue;
    }
    if (rand() < 0.1) {
      // A click while a trigger runs.
      await Promise.all([rt.runTriggers({ maxRuns: 1 }), rt.run('rowbatchResume')]);
    } else {
      await rt.runTriggers({ maxRuns: 1 });
    }
  }
  // Settle with no more crashes: the job must finish from wherever the crashes left it.
  rt.crashAt = null;
  for (let i = 0; i < 50 && !(await rt.run('rowbatchStatus')).value?.finished; i += 1) {
    if (rt.triggers.some((t) => !t.fired)) await rt.runTriggers({ maxRuns: 1 });
    else await rt.run('rowbatchResume');
  }
  // A watchdog set by an execution killed at the end is still due: it runs, finds the job
  // finished and deletes itself. What is left after that has leaked.
  await rt.runTriggers({ maxRuns: 20 });
  look();

  const out = outputs(rt, spec);
  const keys = new Set(input.rows.slice(1).map((r) => String(r[0])).filter(Boolean));
  const status = (await rt.run('rowbatchStatus')).value;
  const calls = [...sent.values()];
  const terminal = (k) => (out.get(k) ?? []).some((r) => r.status === 'done' || r.status === 'failed' || r.status === 'stale');
  return {
    seed,
    rows: keys.size,
    duplicate_rows: [...out.values()].filter((l) => l.length > 1).length,
    lost_rows: [...everDone].filter((k) => !(out.get(k) ?? []).some((r) => r.status === 'done' || r.status === 'stale')).length,
    rows_without_terminal_state: status.finished ? 0 : [...keys].filter((k) => !terminal(k)).length || 1,
    overspend_usd: Math.round(overspend * 1e6) / 1e6,
    self_reported_overspend_usd: Math.round(selfReported * 1e6) / 1e6,
    billed_usd: Math.round(fake.stats.billUsd * 1e6) / 1e6,
    leaked_triggers: rt.triggers.length,
    // What leaked, to diagnose: each trigger's handler, and what the run's Properties said.
    ...(rt.triggers.length ? { leaked: rt.triggers.map((t) => `${t.fn}${t.fired ? ' (fired)' : ''}`),
      leaked_state: { stop: rt.properties.script.ROWBATCH_STOP ?? null, batches: rt.properties.script.ROWBATCH_BATCHES ?? null } } : {}),
    max_calls_per_row: calls.length ? Math.max(...calls) : 0,
    kills: rt.counters.kills,
    executions: rt.counters.executions,
    web_app_executions: rt.counters.webAppExecutions,
    pauses: (JSON.parse(rt.properties.script.ROWBATCH_RUN ?? '{}').pauses ?? []).length + (JSON.parse(rt.properties.script.ROWBATCH_RUN ?? '{}').earlierPauses ?? 0),
    quota_refusals: rt.counters.quotaRefusals,
    provider_batches: fake.stats.batch?.batches ?? 0,
  };
}

async function main() {
  const arg = (name, d) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : d);
  const runs = Number(arg('--runs', 20));
  // `--from S`: seeds S … S + runs − 1 (a campaign split over processes); `--out FILE`.
  const from = Number(arg('--from', 1));
  const started = Date.now();
  const totals = { runs: 0, web_app_executions: 0, duplicate_rows: 0, lost_rows: 0, rows_without_terminal_state: 0, overspend_usd: 0, leaked_triggers: 0, max_calls_per_row: 0, kills: 0, executions: 0, paused_runs: 0, quota_refusals: 0, provider_batches: 0 };
  const failures = [];
  for (let i = 0; i < runs; i += 1) {
    const r = await crashRun(from + i, { budgets: process.argv.includes('--budgets'), overlap: process.argv.includes('--overlap'), workers: process.argv.includes('--workers') });
    totals.runs += 1;
    for (const k of ['web_app_executions', 'duplicate_rows', 'lost_rows', 'rows_without_terminal_state', 'leaked_triggers', 'kills', 'executions', 'quota_refusals', 'provider_batches']) totals[k] += r[k];
    totals.paused_runs += r.pauses > 0 ? 1 : 0;
    totals.overspend_usd = Math.max(totals.overspend_usd, r.overspend_usd);
    totals.max_calls_per_row = Math.max(totals.max_calls_per_row, r.max_calls_per_row);
    if (r.duplicate_rows || r.lost_rows || r.rows_without_terminal_state || r.leaked_triggers || r.overspend_usd > 0) failures.push(r);
    process.stdout.write(`\rrun ${i + 1}/${runs}: ${r.kills} kills, ${r.executions} executions${failures.length ? `, ${failures.length} failing` : ''}   `);
  }
  const result = { ...totals, seconds: Math.round((Date.now() - started) / 100) / 10, failing_seeds: failures.map((f) => f.seed), failures };
  fs.mkdirSync(path.join(root, 'out'), { recursive: true });
  fs.writeFileSync(path.resolve(root, arg('--out', path.join('out', 'crash-suite.json'))), JSON.stringify(result, null, 2) + '\n');
  console.log(`\n${JSON.stringify({ ...result, failures: undefined })}`);
  process.exitCode = failures.length ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
