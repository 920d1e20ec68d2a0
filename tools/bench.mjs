#!/usr/bin/env node
// `npm run bench`: the core's throughput natively (cargo, opt-level 3 profile) and through
// wasm in Node, on 10,000 generated clinical rows. Prints figures; targets are not asserted.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeText = execFileSync('cargo', ['run', '--quiet', '--profile', 'bench', '-p', 'rowbatch-core', '--example', 'bench'], { cwd: root, encoding: 'utf8' });
process.stdout.write(nativeText);
/** rows/s by operation, from lines like "native validate  469825 rows/s" or "native plan 31.1 ms for 100000 rows". */
function rates(text, prefix) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${prefix}\\s+(\\w+)\\s+(?:(\\d+) rows/s|([\\d.]+) ms for (\\d+) rows)`).exec(line.trim());
    if (m) out[m[1]] = m[2] ? Number(m[2]) : Math.round(Number(m[4]) / Number(m[3]) * 1000);
  }
  return out;
}
const lines = [];
const log = (line) => { lines.push(line); console.log(line); };

const rb = createRequire(import.meta.url)(path.join(root, 'wasm', 'pkg', 'nodejs', 'rowbatch.js'));
const spec = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'clinical', 'job.json'), 'utf8'));
const header = ['Case_ID', 'Title', 'Age', 'Presentation'];
const rows = Array.from({ length: 10000 }, (_, i) => [`SIM-${String(i % 1000).padStart(3, '0')}`,
  `Scenario ${i % 700} café`, i % 130, `Presentation number ${i} with some   spaces, é and more words`]);
function time(label, f) {
  f();
  const runs = 5;
  const t = performance.now();
  for (let k = 0; k < runs; k += 1) f();
  const ms = (performance.now() - t) / runs;
  log(`wasm   ${label.padEnd(10)} ${Math.round(rows.length / ms * 1000).toString().padStart(10)} rows/s (${ms.toFixed(1)} ms per 10,000 rows)`);
}
time('validate', () => rb.validateRows({ spec, header, rows }));
time('signature', () => rb.signRows({ header, rows, columns: ['Title', 'Age', 'Presentation'] }));

// Planning a wave of a large job near its end: 100,000 keyed rows, 90,000 outputs (a tenth of
// them edited since), 10,000 progress rows. Same shape as the native bench.
const n = 100000;
const hex = (i) => i.toString(16).padStart(32, '0');
const keys = Array.from({ length: n }, (_, i) => `SIM-${String(i).padStart(6, '0')}`);
const signatures = keys.map((_, i) => `SIG_v1_${hex(i * 7919)}`);
const outputs = Array.from({ length: n * 0.9 }, (_, i) => [keys[i], i % 10 === 0 ? `SIG_v1_${hex(i + 1)}` : signatures[i],
  'SPEC_0123456789abcdef', i % 97 === 0 ? 'failed' : 'done', '']);
const progress = Array.from({ length: n * 0.1 }, (_, k) => [keys[n * 0.9 + k], 1, k % 2 ? 2e12 : 0, null, null, '503']);
const bigSpec = structuredClone(spec);
bigSpec.input.schema.properties.Case_ID.pattern = '^SIM-[0-9]+$';
const planInput = { spec: bigSpec, inputs: { firstRow: 2, keys, signatures, excluded: [], duplicateGroups: [] },
  outputs: { firstRow: 2, rows: outputs }, progress: { firstRow: 2, rows: progress },
  execution: 'bench', now: 1e12, deadline: 1e12 + 270000 };
rb.planWave(planInput);
const runs = 5;
let t = performance.now();
let sent = 0;
for (let k = 0; k < runs; k += 1) sent = rb.planWave(planInput).send.length;
log(`wasm   plan     ${((performance.now() - t) / runs).toFixed(1).padStart(8)} ms for ${n} rows against ${outputs.length} outputs (${sent} sent)`);
const bigRows = keys.map((k, i) => [k, `Scenario ${i}`, i % 100, `Presentation number ${i} with words`]);
t = performance.now();
const keyed = rb.keyRows({ spec: bigSpec, header, rows: bigRows });
log(`wasm   keyRows  ${(performance.now() - t).toFixed(1).padStart(8)} ms for ${n} rows (${keyed.excluded.length} excluded)`);

// The same wave in the run driver: the keyed rows stay inside it between waves, so a wave's
// step takes only the ledger blocks just read (and plans, leases and writes).
function driverAtWave() {
  const d = new rb.Driver({ flow: 'continue', now: 1e12, seed: '0123456789abcdef0123456789abcdef' });
  let cmds = d.begin();
  // A run whose first row has been answered: the wave is full size, not the canary's one row.
  const run = JSON.stringify({ id: 'bench', startedAt: 1e12, canaryPassed: true });
  const answer = (c) => ({
    getProps: Object.fromEntries((c.keys || []).map((k) => [k, k === 'ROWBATCH_RUN' ? run : null])),
    readCell: JSON.stringify(bigSpec), hasKey: true,
    readInput: { header, rows: bigRows, firstRow: 2 },
  }[c.op] ?? null);
  for (let i = 0; i < 3; i += 1) cmds = d.step({ now: 1e12, results: cmds.map(answer) });
  return d;
}
// Outputs as this job wrote them (its own signatures and spec version, none edited since), so
// both paths plan the same rows; `planWave` is timed on the same blocks for comparison.
const version = rb.checkSpec({ spec: bigSpec }).version;
const written = outputs.map((r, i) => [r[0], keyed.signatures[i], version, r[3], '']);
const reads = [{ firstRow: 2, rows: written }, { firstRow: 2, rows: progress }];
const samePlan = { ...planInput, inputs: keyed, outputs: reads[0] };
t = performance.now();
for (let k = 0; k < runs; k += 1) rb.planWave(samePlan);
log(`wasm   planSame ${((performance.now() - t) / runs).toFixed(1).padStart(8)} ms for ${n} rows against ${written.length} outputs of this job (planWave, keyed rows sent again)`);
let waveMs = 0;
for (let k = 0; k < runs; k += 1) {
  const d = driverAtWave();
  t = performance.now();
  const cmds = d.step({ now: 1e12, results: reads });
  waveMs += performance.now() - t;
  sent = (cmds.find((c) => c.op === 'fetch') || { bodies: [] }).bodies.length;
  d.free();
}
log(`wasm   wave     ${(waveMs / runs).toFixed(1).padStart(8)} ms for ${n} rows against ${outputs.length} outputs (driver step; ${sent} requests built)`);

// Building a wave's requests and ingesting its responses, 10,000 rows each.
const items = rows.map((row, i) => ({ key: `K${i}`, signature: `S${i}`, row }));
t = performance.now();
const built = rb.buildRequests({ spec, header, items });
let ms = performance.now() - t;
log(`wasm   build    ${Math.round(items.length / ms * 1000).toString().padStart(10)} rows/s (${ms.toFixed(1)} ms per ${items.length} requests)`);
const ok = JSON.parse(fs.readFileSync(path.join(root, 'tests', 'fixtures', 'responses.json'), 'utf8')).fixtures.openai.success;
const wave = built.requests.map((r) => ({ key: r.key, signature: r.signature, reserveUsd: r.reserveUsd }));
t = performance.now();
const ingested = rb.ingest({ spec, sent: wave, responses: wave.map(() => ok), now: 1e12, seed: "bench" });
ms = performance.now() - t;
log(`wasm   ingest   ${Math.round(wave.length / ms * 1000).toString().padStart(10)} rows/s (${ms.toFixed(1)} ms per ${wave.length} responses, ${ingested.counts.done} answers)`);

// For out/bench.json: rows/s both ways, and what crossing the boundary costs per row.
const native = rates(nativeText, 'native');
const wasm = rates(lines.join('\n'), 'wasm');
const boundary = Object.fromEntries(Object.keys(wasm).filter((k) => native[k]).map((k) => [k, Math.round((1e6 / wasm[k] - 1e6 / native[k]) * 100) / 100]));
fs.mkdirSync(path.join(root, 'out'), { recursive: true });
fs.writeFileSync(path.join(root, 'out', 'bench-core.json'), JSON.stringify({ native_rows_per_s: native, wasm_rows_per_s: wasm, wasm_extra_us_per_row: boundary }, null, 2) + '\n');
console.log(`wasm costs per row over native (µs): ${JSON.stringify(boundary)}`);
