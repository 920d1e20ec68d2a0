#!/usr/bin/env node
// The fuzz targets in fuzz/ (spec parsing, model answers through ingest, batch result lines,
// signature canonicalisation), each for a while: `node tools/fuzz.mjs [--seconds N] [target…]`.
// `npm test` runs each for a few seconds; `npm run fuzz -- --seconds 600` for a long run. The
// corpus starts from the example jobs; a crash leaves its input in fuzz/artifacts/<target>/.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fuzz = path.join(root, 'fuzz');
const TARGETS = ['spec', 'answer', 'jsonl', 'signature'];
const args = process.argv.slice(2);
const at = args.indexOf('--seconds');
const seconds = Number(at >= 0 ? args[at + 1] : 5);
const chosen = args.filter((a, i) => TARGETS.includes(a) && args[i - 1] !== '--seconds');
// libFuzzer needs -Z flags that only nightly accepts; this stable toolchain takes them with
// RUSTC_BOOTSTRAP=1. No sanitizer: panics and aborts are what we look for.
const env = { ...process.env, RUSTC_BOOTSTRAP: '1' };

function seed(target) {
  const dir = path.join(fuzz, 'corpus', target);
  fs.mkdirSync(dir, { recursive: true });
  if (target === 'spec') {
    for (const name of ['clinical', 'brands']) fs.copyFileSync(path.join(root, 'examples', name, 'job.json'), path.join(dir, `${name}.json`));
  }
  return dir;
}

const build = spawnSync('cargo', ['fuzz', 'build', '-s', 'none'], { cwd: fuzz, env, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
let failed = 0;
for (const target of chosen.length ? chosen : TARGETS) {
  const r = spawnSync('cargo', ['fuzz', 'run', '-s', 'none', target, seed(target), '--', `-max_total_time=${seconds}`], { cwd: fuzz, env, encoding: 'utf8' });
  const text = `${r.stdout}${r.stderr}`;
  const done = /Done (\d+) runs in (\d+) second/.exec(text);
  if (r.status === 0 && done) {
    console.log(`ok   fuzz ${target}: ${done[1]} inputs in ${done[2]} s, no crash`);
  } else {
    failed += 1;
    console.log(`FAIL fuzz ${target}\n${text.split('\n').slice(-40).join('\n')}`);
  }
}
process.exit(failed ? 1 : 0);
