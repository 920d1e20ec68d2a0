#!/usr/bin/env node
// A whole job on a virtual clock: 10,000 generated clinical rows, the real Apps Script project
// in the local runtime, the fake provider in process with realistic latencies (median 2 s, 95th
// percentile 6 s) and a little trouble (2 % 429s, 1 % 500s, 3 % answers out of range). Prints
// what the run would take in Apps Script and what it took here; then the same job through the
// provider's Batch API (lines answered alike, ending 30 simulated minutes after submission, 1 %
// of lines failed), with both costs. `node tools/bench-run.mjs [rows]`
import { simulatedJob } from '../tests/apps-script-runtime/jobs.mjs';

const n = Number(process.argv[2] ?? 10_000);
const job = {
  rows: n,
  limits: { waveSize: 50, requestsPerMinute: 3000, tokensPerMinute: 5_000_000 },
  faults: { rate429: 0.02, rate500: 0.01, outOfRange: 0.03, batchMinutes: 30, batchLineErrors: 0.01 },
};
const { rt, fake } = simulatedJob(job);
const start = rt.now();
const t0 = performance.now();
const runs = [await rt.run('rowbatchRun'), ...(await rt.runTriggers({ maxRuns: 1000 }))];
const seconds = (performance.now() - t0) / 1000;
const last = runs.at(-1);
if (!last.ok) throw new Error(JSON.stringify(last.error));
const c = last.value.counts;
const virtualMin = (rt.now() - start) / 60_000;
console.log(`run    ${n} rows: ${c.done} done, ${c.failed} failed in ${runs.length} executions (${rt.counters.kills} killed); ` +
  `${virtualMin.toFixed(1)} min of Apps Script time simulated in ${seconds.toFixed(1)} s here`);
console.log(`run    UrlFetch: ${rt.counters.urlFetchRequests} requests in ${rt.counters.urlFetchCalls} fetchAll calls; ` +
  `Sheets: ${rt.counters.sheetsReads} reads, ${rt.counters.sheetsWrites} writes; trigger runtime ${(rt.counters.triggerRuntimeMs / 60_000).toFixed(1)} min; ` +
  `provider: ${fake.stats.requests} requests, ${JSON.stringify(fake.stats.byStatus)}`);

const realtimeUsd = JSON.parse(rt.properties.script.ROWBATCH_RUN).costUsd;

// The same job as a provider batch: submitted, polled every 5 minutes, ingested, leftovers realtime.
const b = simulatedJob(job);
const bStart = b.rt.now();
const bt0 = performance.now();
const bRuns = [await b.rt.run('rowbatchSubmitBatch'), ...(await b.rt.runTriggers({ maxRuns: 1000 }))];
const failed = bRuns.find((r) => !r.ok);
if (failed) throw new Error(JSON.stringify(failed.error));
const state = JSON.parse(b.rt.properties.script.ROWBATCH_STATE);
const leftovers = JSON.parse(b.rt.properties.script.ROWBATCH_RUN ?? '{"costUsd":0}').costUsd;
const batchUsd = state.spentUsd + leftovers;
const out = b.rt.workbook.sheet('Scenario Vitals').rows.slice(1);
console.log(`batch  ${n} rows: ${out.filter((r) => r[3] === 'done').length} done, ${out.filter((r) => r[3] === 'failed').length} failed; ` +
  `${b.fake.stats.batch.batches} provider batch(es), ${b.fake.stats.batch.polls} polls, ${bRuns.length} executions; ` +
  `${((b.rt.now() - bStart) / 60_000).toFixed(1)} min simulated in ${((performance.now() - bt0) / 1000).toFixed(1)} s here`);
console.log(`cost   realtime $${realtimeUsd.toFixed(4)}, Batch API $${batchUsd.toFixed(4)} ` +
  `(${(batchUsd / realtimeUsd * 100).toFixed(0)} %, of which $${leftovers.toFixed(4)} for failed lines sent again realtime at the full price)`);
