#!/usr/bin/env node
// `npm run bench`, part two: whole jobs on a simulated clock, the real Apps Script project in
// the local runtime against the fake provider, next to the seed notes' sequential loop and the
// Batch API path. Writes out/bench.json, out/bench.md and out/bench-throughput.svg.
//
// The provider: latency log-normal with median 6 s and 95th percentile 20 s, 500 requests and
// 200,000 tokens a minute, 2 % 429s, 1 % 500s. Apps Script as the local runtime models it by
// default (a consumer account's daily quotas, fetchAll 10 requests at a time, Sheets calls that
// cost time), 6-minute executions, time-driven triggers 30–90 s late.
// A high-tier profile (10,000 RPM, 4 M TPM) runs beside it: sim_hi_1000 and sim_hi_10000.
// `node tools/bench-sim.mjs [--quick] [--high-tier-only]` (quick: no 10,000 or 50,000).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { simulatedJob } from '../tests/apps-script-runtime/jobs.mjs';
import { Runtime } from '../apps-script-runtime/runtime.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rb = createRequire(import.meta.url)(path.join(root, 'wasm', 'pkg', 'nodejs', 'rowbatch.js'));
const quick = process.argv.includes('--quick');
const PROVIDER = { latencyMedianMs: 6000, latencyP95Ms: 20_000, rpm: 500, tpm: 200_000, rate429: 0.02, rate500: 0.01 };
// An ordinary paid account's limits (issue 19): the same latency, twenty times the rate.
const HIGH_TIER = { ...PROVIDER, rpm: 10_000, tpm: 4_000_000 };
const hiOnly = process.argv.includes('--high-tier-only');
// BENCH_LANES: fetchAll's concurrency in the runtime and the spec (undocumented; 10 by default,
// the stricter end of the reports), to see what a more generous platform would give.
const LANES = Number(process.env.BENCH_LANES) || 10;
const RUNTIME = { account: 'consumer', limits: { executionMs: 6 * 60_000, triggerDelayMs: 30_000, triggerJitterMs: 60_000, fetchAllConcurrency: LANES } };
// The mean of that log-normal: median × e^(σ²/2), σ = ln(p95/median)/1.645.
const MEAN_LATENCY_S = 6 * Math.exp((Math.log(20 / 6) / 1.645) ** 2 / 2);
const OUT = path.join(root, 'out');

function job(rows, extra = {}, provider = PROVIDER, webApp = false) {
  const j = simulatedJob({ rows, limits: { requestsPerMinute: provider.rpm, tokensPerMinute: provider.tpm, fetchAllConcurrency: LANES }, faults: { ...provider, ...extra }, runtime: RUNTIME, webApp });
  const series = [];
  j.rt.onLog = (line) => {
    if (process.env.BENCH_TRACE === 'all' || (process.env.BENCH_TRACE && /^rowbatch \{/.test(line))) console.error(((j.rt.now() - j.start) / 1000).toFixed(1), process.env.BENCH_TRACE === 'all' ? line : line.slice(0, 400));
    const m = /^(?:rowbatch|baseline) progress (.*)$/.exec(line);
    if (m) { const p = JSON.parse(m[1]); series.push([(j.rt.now() - j.start) / 1000, p.done + (p.failed ?? 0)]); }
  };
  j.start = j.rt.now();
  j.series = series;
  return j;
}

function estimateFor(spec, rows) {
  const header = ['Case_ID', 'Title', 'Age', 'Presentation'];
  return rb.estimateJob({ spec, header, rows });
}

/** A realtime run to the end, with the figures the issue names. `longPrefix`: a static prompt
 * over the 1,024-token caching minimum (the example's is about 480 tokens). */
async function realtime(n, longPrefix = false, provider = PROVIDER, webApp = true) {
  const j = job(n, {}, provider, webApp);
  const { rt, fake } = j;
  if (longPrefix) {
    const s = rt.workbook.sheet('_rowbatch_spec');
    const long = JSON.parse(String(s.get(0, 0)));
    const guide = Array.from({ length: 40 }, (_, i) => `Guideline ${i + 1}: keep every vital sign consistent with the presentation, the age and the rhythm, and with the other states.`).join('\n');
    long.prompt.system = `${long.prompt.system}\n${guide}`;
    s.set(0, 0, { value: JSON.stringify(long) });
    j.spec = long;
  }
  const { spec } = j;
  const inputRows = rt.workbook.sheet(spec.input.sheet).rows.slice(1);
  const estimate = estimateFor(spec, inputRows);
  const runs = [await rt.run('rowbatchRun'), ...(await rt.runTriggers({ maxRuns: 50_000 }))];
  // A refusal for the day's trigger runtime is the platform's, not a failure of the job.
  const bad = runs.find((r) => !r.ok && !r.killed && !r.refused);
  if (bad) throw new Error(JSON.stringify(bad.error));
  const wall = (rt.now() - j.start) / 1000;
  // The token limit counts each request's prompt and its whole output allowance.
  const tokens = fake.stats.chargedTokens;
  const waveSize = spec.limits.waveSize ?? 20;
  // What the provider and the platform allow, not what rowbatch does: the provider's rate and
  // token limits, and the requests Apps Script can hold in flight at once (simultaneous
  // executions × fetchAll's lanes), each taking the mean latency.
  const inFlight = rt.quotas.simultaneous * LANES;
  // The provider's buckets start full: the first minute's allowance is spent at once.
  const bounds = { requests_s: (Math.max(0, n - provider.rpm) / provider.rpm) * 60, tokens_s: (Math.max(0, tokens - provider.tpm) / provider.tpm) * 60,
    latency_s: (n * MEAN_LATENCY_S) / inFlight };
  const lower = Math.max(...Object.values(bounds));
  const record = JSON.parse(rt.properties.script.ROWBATCH_RUN);
  const cost = record.costUsd;
  const out = rt.workbook.sheet(spec.output.sheet).rows.slice(1).filter((r) => r[0] !== '');
  const keys = out.map((r) => String(r[0]));
  const written = new Set(keys);
  const inputKeys = new Set(rt.workbook.sheet(spec.input.sheet).rows.slice(1).map((r) => String(r[0])));
  return {
    rows: n,
    done: out.filter((r) => r[3] === 'done').length,
    failed: out.filter((r) => r[3] === 'failed').length,
    duplicate_rows: keys.length - new Set(keys).size,
    lost_rows: [...inputKeys].filter((k) => !written.has(k)).length,
    pauses: (record.pauses ?? []).length + (record.earlierPauses ?? 0),
    paused_h: round(((record.earlierPausedMs ?? 0) + (record.pauses ?? []).reduce((s, p) => s + p.until - p.at, 0)) / 3_600_000, 1),
    quota_refusals: rt.counters.quotaRefusals,
    sheets_s: round(rt.counters.sheetsMs / 1000, 1),
    // Time executions spent waiting for the script lock (workers queue for the ledger).
    lock_wait_s: round(rt.counters.lockWaitMs / 1000, 1),
    wall_s: round(wall, 1),
    lower_bound_s: round(lower, 1),
    bounds: Object.fromEntries(Object.entries(bounds).map(([k, v]) => [k, round(v, 1)])),
    ratio: round(wall / lower, 2),
    sheets_calls: rt.counters.sheetsReads + rt.counters.sheetsWrites,
    urlfetch_calls: rt.counters.urlFetchCalls,
    urlfetch_requests: rt.counters.urlFetchRequests,
    cached_share: round(fake.stats.cachedTokens / Math.max(1, fake.stats.promptTokens), 3),
    cost_usd: round(cost, 4),
    estimate_usd: estimate.cost ? round(estimate.cost.realtimeCached, 4) : null,
    estimate_error: estimate.cost ? round((estimate.cost.realtimeCached - cost) / cost, 3) : null,
    executions: runs.length,
    kills: rt.counters.kills,
    trigger_runtime_s: round(rt.counters.triggerRuntimeMs / 1000, 0),
    // Workers: the most executions at once, less the orchestrating slice, when it started any.
    workers: rt.counters.webAppExecutions > 0 ? rt.counters.peakRunning - 1 : 1,
    web_app_executions: rt.counters.webAppExecutions,
    // Every execution's time (triggers, the menu's, the workers'), and trigger time alone: the
    // one a consumer account has 90 minutes a day of.
    apps_script_s_per_1000_rows: round((rt.counters.executionMs / 1000) * (1000 / n), 1),
    trigger_s_per_1000_rows: round((rt.counters.triggerRuntimeMs / 1000) * (1000 / n), 1),
    urlfetch_calls_per_row: round(rt.counters.urlFetchCalls / n, 3),
    provider_status: fake.stats.byStatus,
    wave_size: waveSize,
    series: j.series,
  };
}

/** The seed notes' loop on the same provider and runtime. */
async function baseline(n) {
  const j = job(n);
  const rt = new Runtime({ workbook: j.rt.workbook, simulated: true, start: j.start, buildDir: path.join(root, 'tools', 'baseline'),
    properties: { script: { OPENAI_API_KEY: 'sk-test' } }, provider: (req, at) => j.fake.handle(req, at ?? rt.now()), ...RUNTIME });
  const series = [];
  rt.onLog = (line) => {
    const m = /^baseline progress (.*)$/.exec(line);
    if (m) series.push([(rt.now() - j.start) / 1000, JSON.parse(m[1]).done]);
  };
  const runs = [await rt.run('baselineRun'), ...(await rt.runTriggers({ maxRuns: 2000 }))];
  const wall = (rt.now() - j.start) / 1000;
  const written = rt.workbook.sheet('Baseline').rows;
  const keys = written.map((r) => r[0]);
  return {
    rows: n,
    wall_s: round(wall, 1),
    written: written.length,
    duplicate_rows: keys.length - new Set(keys).size,
    error_rows: written.filter((r) => r[1] === 'ERROR').length,
    sheets_calls: rt.counters.sheetsReads + rt.counters.sheetsWrites,
    urlfetch_calls: rt.counters.urlFetchCalls,
    executions: runs.length,
    kills: rt.counters.kills,
    series,
  };
}

/** The same job through the Batch API (lines end 30 simulated minutes after submission). */
async function batch(n) {
  const j = job(n, { batchMinutes: 30, batchLineErrors: 0.01 });
  const { rt, spec } = j;
  const runs = [await rt.run('rowbatchSubmitBatch'), ...(await rt.runTriggers({ maxRuns: 2000 }))];
  const bad = runs.find((r) => !r.ok);
  if (bad) throw new Error(JSON.stringify(bad.error));
  const state = JSON.parse(rt.properties.script.ROWBATCH_STATE);
  const leftovers = JSON.parse(rt.properties.script.ROWBATCH_RUN ?? '{"costUsd":0}').costUsd;
  const out = rt.workbook.sheet(spec.output.sheet).rows.slice(1);
  return {
    rows: n,
    done: out.filter((r) => r[3] === 'done').length,
    failed: out.filter((r) => r[3] === 'failed').length,
    wall_s: round((rt.now() - j.start) / 1000, 0),
    // What the provider billed: the batch and the realtime leftovers, nothing counted twice.
    cost_usd: round(j.fake.stats.billUsd, 4),
    realtime_leftovers_usd: round(leftovers, 4),
    provider_batches: j.fake.stats.batch.batches,
    polls: j.fake.stats.batch.polls,
    executions: runs.length,
  };
}

async function startup() {
  const rt = new Runtime();
  const times = [];
  for (let i = 0; i < 5; i += 1) times.push((await rt.run('rowbatchSelfTest')).value.startupMs);
  return times.sort((a, b) => a - b)[2];
}

function round(v, places) {
  const f = 10 ** places;
  return Math.round(v * f) / f;
}

/** Rows finished over simulated time, one line per run. */
function svg(lines) {
  const W = 720;
  const H = 360;
  const pad = 48;
  const maxT = Math.max(...lines.flatMap((l) => l.series.map(([t]) => t)), 1);
  const maxN = Math.max(...lines.flatMap((l) => l.series.map(([, n]) => n)), 1);
  const x = (t) => pad + ((W - 2 * pad) * t) / maxT;
  const y = (n) => H - pad - ((H - 2 * pad) * n) / maxN;
  const colours = ['#1f6feb', '#d1242f', '#1a7f37', '#8250df'];
  const parts = lines.map((l, i) => {
    const pts = [[0, 0], ...l.series].map(([t, n]) => `${x(t).toFixed(1)},${y(n).toFixed(1)}`).join(' ');
    return `<polyline fill="none" stroke="${colours[i]}" stroke-width="2" points="${pts}"/>` +
      `<text x="${W - pad - 4}" y="${pad + 16 * i}" text-anchor="end" fill="${colours[i]}" font-size="12">${l.label}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">` +
    `<rect width="${W}" height="${H}" fill="white"/>` +
    `<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#333"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="#333"/>` +
    `<text x="${W / 2}" y="${H - 12}" text-anchor="middle" font-size="12">simulated minutes (0–${(maxT / 60).toFixed(0)})</text>` +
    `<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle" font-size="12">rows finished (0–${maxN})</text>` +
    `${parts.join('')}</svg>\n`;
}

const sizes = JSON.parse(fs.readFileSync(path.join(OUT, 'build-size.json'), 'utf8'));
const result = { date: new Date().toISOString().slice(0, 10), provider: PROVIDER, runtime: RUNTIME.limits, mean_latency_s: round(MEAN_LATENCY_S, 2) };
result.startup_ms = await startup();
result.wasm_raw_bytes = sizes.wasmRawBytes;
result.wasm_gzip_bytes = sizes.wasmGzipBytes;
// `--only NAME`: one figure (sim_1000, sim_1000_cached, sim_hi_1000, sim_10000, sim_hi_10000), printed.
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
if (only) {
  const runs = { sim_1000: () => realtime(1000), sim_1000_cached: () => realtime(1000, true), sim_10000: () => realtime(10_000),
    sim_hi_1000: () => realtime(1000, false, HIGH_TIER), sim_hi_10000: () => realtime(10_000, false, HIGH_TIER) };
  if (!runs[only]) throw new Error(`--only takes one of ${Object.keys(runs).join(', ')}`);
  console.log(JSON.stringify({ [only]: await runs[only]() }, (k, v) => (k === 'series' ? undefined : v), 2));
  process.exit(0);
}
if (hiOnly) {
  // Only the high-tier runs, printed (out/bench.json is left as the full bench wrote it).
  const hi = { sim_hi_1000: await realtime(1000, false, HIGH_TIER), ...(!quick && { sim_hi_10000: await realtime(10_000, false, HIGH_TIER) }) };
  console.log(JSON.stringify(hi, (k, v) => (k === 'series' ? undefined : v), 2));
  process.exit(0);
}
// Each run's figures as it ends (out/bench.partial.json): a long bench stopped half-way keeps them.
const noSeries = (k, v) => (k === 'series' ? undefined : v);
async function measure(key, run) {
  result[key] = await run();
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'bench.partial.json'), JSON.stringify(result, noSeries, 2) + '\n');
}
await measure('sim_1000', () => realtime(1000));
await measure('sim_1000_cached', () => realtime(1000, true));
await measure('baseline_1000', () => baseline(1000));
await measure('batch_1000', () => batch(1000));
result.high_tier = { rpm: HIGH_TIER.rpm, tpm: HIGH_TIER.tpm };
await measure('sim_hi_1000', () => realtime(1000, false, HIGH_TIER));
if (!quick) {
  await measure('sim_hi_10000', () => realtime(10_000, false, HIGH_TIER));
  await measure('sim_10000', () => realtime(10_000));
  await measure('batch_10000', () => batch(10_000));
  // More than a consumer account's day of UrlFetch calls and trigger time: it pauses and resumes.
  await measure('sim_50000', () => realtime(50_000));
}
const core = path.join(OUT, 'bench-core.json');
if (fs.existsSync(core)) result.core = JSON.parse(fs.readFileSync(core, 'utf8'));

const s = result.sim_1000;
const b = result.baseline_1000;
const rows = [
  ['startup_ms', result.startup_ms, '≤ 30'],
  ['wasm_raw_bytes', result.wasm_raw_bytes, '≤ 300,000'],
  ['wasm_gzip_bytes', result.wasm_gzip_bytes, ''],
  ...['sim_1000', 'sim_10000', 'sim_hi_1000', 'sim_hi_10000'].filter((k) => result[k]).flatMap((k) => [
    [`${k}.wall_s`, result[k].wall_s, ''],
    [`${k}.lower_bound_s`, `${result[k].lower_bound_s} (requests ${result[k].bounds.requests_s}, tokens ${result[k].bounds.tokens_s}, latency ${result[k].bounds.latency_s})`, ''],
    [`${k}.ratio`, result[k].ratio, '≤ 1.3'],
    [`${k}.sheets_calls`, result[k].sheets_calls, k === 'sim_1000' ? '≤ 100' : ''],
    [`${k}.urlfetch_calls`, `${result[k].urlfetch_calls} (${result[k].urlfetch_requests} requests)`, ''],
    [`${k}.cached_share`, result[k].cached_share, '≥ 0.8 when the prefix is ≥ 1,024 tokens'],
    [`${k}.cost_usd`, result[k].cost_usd, ''],
    [`${k}.estimate_error`, result[k].estimate_error, '|x| ≤ 0.10'],
    [`${k}.executions`, `${result[k].executions} (${result[k].kills} killed)`, ''],
    [`${k}.trigger_runtime_s`, result[k].trigger_runtime_s, ''],
    [`${k}.workers / apps_script_s_per_1000_rows / urlfetch_calls_per_row`, `${result[k].workers} / ${result[k].apps_script_s_per_1000_rows} / ${result[k].urlfetch_calls_per_row}`, k.startsWith('sim_hi') ? 'apps script ≤ 180' : ''],
    [`${k}.sheets_s`, result[k].sheets_s, ''],
  ]),
  ...(result.sim_50000 ? [
    ['sim_50000 (consumer account): done / failed / duplicate / lost', `${result.sim_50000.done} / ${result.sim_50000.failed} / ${result.sim_50000.duplicate_rows} / ${result.sim_50000.lost_rows}`, 'lost 0, duplicate 0'],
    ['sim_50000.wall_s', `${result.sim_50000.wall_s} (${round(result.sim_50000.wall_s / 86400, 1)} days)`, ''],
    ['sim_50000.pauses', `${result.sim_50000.pauses} (${result.sim_50000.paused_h} h), ${result.sim_50000.quota_refusals} refusals by Apps Script`, ''],
    ['sim_50000.urlfetch_requests / trigger_runtime_s', `${result.sim_50000.urlfetch_requests} / ${result.sim_50000.trigger_runtime_s}`, ''],
  ] : []),
  ['sim_1000_cached.cached_share (prefix over 1,024 tokens)', result.sim_1000_cached.cached_share, '≥ 0.8'],
  ['sim_1000_cached.cost_usd / estimate_error', `${result.sim_1000_cached.cost_usd} / ${result.sim_1000_cached.estimate_error}`, ''],
  ['baseline_1000.wall_s', `${b.wall_s} (${round(b.wall_s / s.wall_s, 1)}× rowbatch)`, ''],
  ['baseline_1000.duplicate_rows / error_rows', `${b.duplicate_rows} / ${b.error_rows}`, ''],
  ['baseline_1000.sheets_calls / urlfetch_calls', `${b.sheets_calls} / ${b.urlfetch_calls}`, ''],
  ...['batch_1000', 'batch_10000'].filter((k) => result[k]).flatMap((k) => [
    [`${k}.cost_usd`, `${result[k].cost_usd} (realtime ${result[k === 'batch_1000' ? 'sim_1000' : 'sim_10000'].cost_usd})`, ''],
    [`${k}.wall_s`, result[k].wall_s, ''],
  ]),
];
const table = ['| figure | value | target |', '|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
fs.mkdirSync(OUT, { recursive: true });
fs.writeFileSync(path.join(OUT, 'bench.json'), JSON.stringify(result, noSeries, 2) + '\n');
fs.rmSync(path.join(OUT, 'bench.partial.json'), { force: true });
fs.writeFileSync(path.join(OUT, 'bench-throughput.svg'), svg([
  { label: 'rowbatch, 1,000 rows', series: s.series },
  { label: 'seed loop, 1,000 rows', series: b.series },
  ...(result.sim_10000 ? [{ label: 'rowbatch, 10,000 rows', series: result.sim_10000.series }] : []),
]));
fs.writeFileSync(path.join(OUT, 'bench.md'), `# rowbatch bench (${result.date})\n\nProvider: latency median 6 s, p95 20 s (mean ${result.mean_latency_s} s); ` +
  `500 RPM, 200,000 TPM; 2 % 429s, 1 % 500s. Apps Script: a consumer account (20,000 UrlFetch calls and 90 minutes of triggers a day), fetchAll 10 at a time, Sheets calls timed, 6-minute executions, triggers 30–90 s late.\n\n${table}\n\n![throughput](bench-throughput.svg)\n`);
console.log(table);
console.log('written: out/bench.json, out/bench.md, out/bench-throughput.svg');
