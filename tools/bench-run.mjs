#!/usr/bin/env node
// A whole job on a virtual clock: 10,000 generated clinical rows, the real Apps Script project
// in the local runtime, the fake provider in process with realistic latencies (median 2 s, 95th
// percentile 6 s) and a little trouble (2 % 429s, 1 % 500s, 3 % answers out of range). Prints
// what the run would take in Apps Script and what it took here. `node tools/bench-run.mjs [rows]`
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '../apps-script-runtime/runtime.mjs';
import { Workbook, enter } from '../apps-script-runtime/workbook.mjs';
import { createFakeProvider } from '../fake-provider/provider.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const n = Number(process.argv[2] ?? 10_000);
const spec = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'clinical', 'job.json'), 'utf8'));
spec.input.schema.properties.Case_ID.pattern = '^SIM-[0-9]+$';
spec.provider.baseUrl = 'http://fake.local/v1';
spec.limits = { ...spec.limits, waveSize: 50, requestsPerMinute: 3000, tokensPerMinute: 5_000_000 };
spec.budget = { maxUsd: 50 };

const wb = new Workbook('bench');
const input = wb.insert(spec.input.sheet);
input.set(0, 0, enter('Case_ID'));
['Title', 'Age', 'Presentation'].forEach((h, j) => input.set(0, j + 1, enter(h)));
for (let i = 1; i <= n; i += 1) {
  [`SIM-${String(i).padStart(5, '0')}`, `Scenario ${i}`, 20 + (i % 70), `Presentation ${i}: chest pain and breathlessness for ${i % 12} hours`]
    .forEach((v, j) => input.set(i, j, enter(v)));
}
const hidden = wb.insert('_rowbatch_spec');
hidden.hidden = true;
hidden.set(0, 0, { value: JSON.stringify(spec) });

const start = Date.UTC(2026, 10, 22, 9);
const fake = createFakeProvider({ latencyMedianMs: 2000, latencyP95Ms: 6000, rate429: 0.02, rate500: 0.01, outOfRange: 0.03 });
let rt;
rt = new Runtime({
  workbook: wb, simulated: true, start, properties: { script: { OPENAI_API_KEY: 'sk-bench' } },
  provider: (req) => fake.handle(req, rt.now()),
});
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
