#!/usr/bin/env node
// `npm test` after setup: every check, in order, each on every build it concerns. Prints each
// stage's own output, then one closing line "N passed, N failed" over all of them.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HOSTS = ['node', 'sandbox', 'browser'];

const stages = [
  { name: 'rustfmt', cmd: 'cargo', args: ['fmt', '--all', '--', '--check'] },
  { name: 'clippy (host)', cmd: 'cargo', args: ['clippy', '--workspace', '--all-targets', '--', '-D', 'warnings'] },
  { name: 'clippy (wasm32)', cmd: 'cargo', args: ['clippy', '-p', 'rowbatch-wasm', '--target', 'wasm32-unknown-unknown', '--', '-D', 'warnings'] },
  { name: 'cargo test', cmd: 'cargo', args: ['test', '--workspace'], counts: 'cargo' },
  { name: 'fuzz (4 targets, 5 s each)', cmd: 'node', args: ['tools/fuzz.mjs', '--seconds', '5'] },
  { name: 'build', cmd: 'node', args: ['tools/build.mjs'] },
  { name: 'typings', cmd: path.join('node_modules', '.bin', 'tsc'), args: ['-p', 'tests/types/tsconfig.json'] },
  { name: 'request bodies vs the SDK types', cmd: 'node', args: ['tests/types/bodies.mjs'] },
  ...HOSTS.map((host) => ({
    name: `js suite (${host})`, cmd: 'node', args: ['--test', '--test-reporter=spec', 'tests/js/'],
    env: { ROWBATCH_HOST: host }, counts: 'node',
  })),
];

function run(stage) {
  return new Promise((resolve) => {
    const child = spawn(stage.cmd, stage.args, {
      cwd: root, env: { ...process.env, CARGO_TERM_COLOR: 'never', ...stage.env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (d) => { text += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { text += d; process.stderr.write(d); });
    child.on('close', (code) => resolve({ code, text }));
  });
}

function counted(kind, text) {
  const sum = (re) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  if (kind === 'cargo') {
    return { passed: sum(/test result: \w+\. (\d+) passed/g), failed: sum(/test result: \w+\. \d+ passed; (\d+) failed/g) };
  }
  return { passed: sum(/^ℹ pass (\d+)$/gm), failed: sum(/^ℹ fail (\d+)$/gm), skipped: sum(/^ℹ skipped (\d+)$/gm) };
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const summary = [];
for (const stage of stages) {
  console.log(`\n==== ${stage.name}: ${stage.cmd} ${stage.args.join(' ')}`);
  const started = Date.now();
  const { code, text } = await run(stage);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const c = stage.counts ? counted(stage.counts, text) : { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1 };
  if (code !== 0 && c.failed === 0) c.failed = 1; // a runner that crashed still failed
  totals.passed += c.passed;
  totals.failed += c.failed;
  totals.skipped += c.skipped || 0;
  summary.push(`${code === 0 ? 'ok  ' : 'FAIL'} ${stage.name} (${seconds} s)` +
    (stage.counts ? `: ${c.passed} passed, ${c.failed} failed` : ''));
}
console.log(`\n==== summary\n${summary.join('\n')}`);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed === 0 ? 0 : 1);
