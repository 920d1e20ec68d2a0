#!/usr/bin/env node
// `npm run bench`: the core's throughput natively (cargo, opt-level 3 profile) and through
// wasm in Node, on 10,000 generated clinical rows. Prints figures; targets are not asserted.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
execFileSync('cargo', ['run', '--quiet', '--profile', 'bench', '-p', 'rowbatch-core', '--example', 'bench'], { cwd: root, stdio: 'inherit' });

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
  console.log(`wasm   ${label.padEnd(10)} ${Math.round(rows.length / ms * 1000).toString().padStart(10)} rows/s (${ms.toFixed(1)} ms per 10,000 rows)`);
}
time('validate', () => rb.validateRows({ spec, header, rows }));
time('signature', () => rb.signRows({ header, rows, columns: ['Title', 'Age', 'Presentation'] }));
