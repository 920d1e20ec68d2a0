#!/usr/bin/env node
// A whole job on a virtual clock: 10,000 generated clinical rows, the real Apps Script project
// in the local runtime, the fake provider in process with realistic latencies (median 2 s, 95th
// percentile 6 s) and a little trouble (2 % 429s, 1 % 500s, 3 % answers out of range). Prints
// what the run would take in Apps Script and what it took here. `node tools/bench-run.mjs [rows]`
import { simulatedJob } from '../tests/apps-script-runtime/jobs.mjs';

const n = Number(process.argv[2] ?? 10_000);
const { rt, fake } = simulatedJob({
  rows: n,
  limits: { waveSize: 50, requestsPerMinute: 3000, tokensPerMinute: 5_000_000 },
  faults: { rate429: 0.02, rate500: 0.01, outOfRange: 0.03 },
});
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
