#!/usr/bin/env node
// One build, three outputs: cargo → wasm-bindgen (via wasm-pack) → wasm-opt (npm `binaryen`) →
//   wasm/pkg/nodejs/   CommonJS, for tests and the local runtime
//   web-demo/pkg/      ES module with async init, for the browser
//   appsscript/build/  classic scripts only: what `clasp push` sends (.clasp.json rootDir)
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// The one place the module's size budget is set. Every byte is downloaded, compiled and
// instantiated on every Apps Script execution. Measured: 210,704 B with signatures only; 502,694 B
// with spec checking, the JSON-Schema validator and rule packs; 638,505 B with the ledger,
// planner and reconciliation; 751,279 B with the provider protocol; 839,745 B with the report and
// the Batch APIs. Then the size work (2026-12-01): std rebuilt for size → 760,926 B; rule packs
// and specs read by hand → 687,386 B; every input read through FromJson and every output written
// through ToJson instead of serde's derives → 565,909 B; readers taking values instead of
// copying them (planWave 40 % faster) → 573,648 B; one float parser → 556,918 B; numbers
// written by itoa/zmij → 557,880 B; review → 557,126 B. What is left is ~255 KB of rowbatch's
// own logic, ~75 KB data (43 KB of it ICU's NFC tables), ~61 KB serde_json, ~50 KB std, ~28 KB
// regex: the 300,000 B would need features cut, not bytes.
// Issue 17 (2026-12-02): each provider's strict subset and the daily quotas → 579,468 B.
// Issue 18 (2026-12-02): the run driver (every flow of the host, with its texts and layouts)
// → 722,951 B; Apps Script start-up per execution (runtime, 15 runs each, side by side) 13–14 → 15 ms median.
// Issue 18, item 6 (2026-12-02): serde's derives for every boundary type, rowbatch-derive deleted
// → 990,982 B. Side by side with the 722,634-byte derive build (`node tools/startup.mjs --build A
// --build B --rounds 9`): Apps Script start-up 19 → 23 ms median; the sidebar shown in 194 vs
// 223 ms and its first validation in 195 vs 179 ms (run-to-run noise); its HTML 129 KB more
// gzip, ~0.1 s at 10 Mbit/s. Nothing a user feels, so the hand-written derive went.
// Issue 20 (2026-12-02): the canary and the key check → 998,894 B; the clinical pack's
// defaults and the step and hold rules → 1,014,742 B; the dry run and row ranges → 1,026,642 B;
// the new-job form's model (spec ↔ fields, both directions with serde), output.spread and the
// price table export → 1,071,052 B; the batch canary, the output header check and the form's
// one-call review → 1,087,426 B; runs by key and by count (`--ids`, `--limit`) → 1,091,705 B;
// the estimate's workers → 1,092,942 B; rounds of workers through the web app (run::fan) and the
// run record merged under the lock → 1,105,980 B; batches download (the batchFile flow) → 1,111,178 B.
// The budget sits a little above today's size so nothing grows unnoticed; the 300 KB target is
// withdrawn (issue 18: start-up, not bytes, is what a user feels).
export const WASM_BUDGET_BYTES = 1_115_000;

// The features rustc's wasm32 target emits by default; wasm-opt must know them to validate.
const WASM_FEATURES = [
  '--enable-bulk-memory',
  '--enable-nontrapping-float-to-int',
  '--enable-sign-ext',
  '--enable-mutable-globals',
  '--enable-reference-types',
  '--enable-multivalue',
];

const TARGETS = ['nodejs', 'web', 'no-modules'];

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
}

function wasmOpt(file) {
  const bin = path.join(root, 'node_modules', '.bin', 'wasm-opt');
  run(bin, [file, '-Oz', '--strip-debug', '--strip-producers', ...WASM_FEATURES, '-o', file]);
}

function pkgDir(target) {
  return path.join(root, 'wasm', 'pkg', target);
}

// The standard library is rebuilt for the module with size-first settings (rust-src, installed
// by setup). On this stable toolchain the -Z flags need RUSTC_BOOTSTRAP=1, as fuzzing does.
// `optimize_for_size` gives std's small sorts and formatting; `immediate-abort` drops panic
// messages and their formatting machinery: a panic becomes the same `unreachable` trap it was
// already (wasm32 has nowhere to print), which the loader recovers from. Measured 2026-12-01:
// 839,745 B → 760,926 B raw (352,796 → 323,898 B gzip); build-std alone gave 799,361 B.
const BUILD_STD = ['-Z', 'build-std=std,panic_abort', '-Z', 'build-std-features=optimize_for_size'];
const BUILD_STD_RUSTFLAGS = '-Zunstable-options -Cpanic=immediate-abort';

function buildTarget(target) {
  const out = pkgDir(target);
  fs.rmSync(out, { recursive: true, force: true });
  run('wasm-pack', ['build', 'wasm', '--release', '--no-pack', '--target', target,
    '--out-dir', path.relative(path.join(root, 'wasm'), out), '--out-name', 'rowbatch', '--', ...BUILD_STD],
  { env: { ...process.env, WASM_PACK_CACHE: path.join(root, 'target', 'wasm-pack-cache'),
    RUSTC_BOOTSTRAP: '1', RUSTFLAGS: BUILD_STD_RUSTFLAGS } });
  wasmOpt(path.join(out, 'rowbatch_bg.wasm'));
  // The Node glue is CommonJS; the project's package.json says "module".
  if (target === 'nodejs') fs.writeFileSync(path.join(out, 'package.json'), '{ "type": "commonjs" }\n');
}

function copyDir(from, to) {
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(to, f));
}

// The pushed project: `rowbatch.js` holds, in this order, the polyfills, the glue and the loader,
// so the polyfills run before the glue whatever order Apps Script loads files in; the bytes sit
// in their own file because they are only read when the loader is called.
function assembleAppsScript() {
  const src = path.join(root, 'appsscript', 'src');
  const out = path.join(root, 'appsscript', 'build');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const glue = fs.readFileSync(path.join(pkgDir('no-modules'), 'rowbatch.js'), 'utf8');
  // The glue keeps one instance in its closure. Wrapped in a factory, a fresh glue (and with it a
  // fresh instance) can replace one that trapped: a Rust panic aborts into `unreachable`, which
  // leaves the instance's memory in an unknown state.
  const head = 'let wasm_bindgen = (function(exports) {';
  const tail = '})({ __proto__: null });';
  if (!glue.startsWith(head) || !glue.trimEnd().endsWith(tail)) throw new Error('build: the no-modules glue has an unexpected shape');
  const factory = `function rowbatchGlue_() {\nreturn (function(exports) {${glue.slice(head.length).trimEnd()}\n}\nvar wasm_bindgen = rowbatchGlue_();\n`;
  const wasm = fs.readFileSync(path.join(pkgDir('no-modules'), 'rowbatch_bg.wasm'));
  const part = (name, text) => `// ---- ${name} ----\n${text.trim()}\n`;
  fs.writeFileSync(path.join(out, 'rowbatch.js'), [
    '// Generated by tools/build.mjs from appsscript/src and the wasm-bindgen glue. Do not edit.',
    part('polyfills.js', fs.readFileSync(path.join(src, 'polyfills.js'), 'utf8')),
    part('wasm-bindgen glue (no-modules), in a factory', factory),
    part('loader.js', fs.readFileSync(path.join(src, 'loader.js'), 'utf8')),
  ].join('\n'));
  fs.writeFileSync(path.join(out, 'rowbatch_wasm.js'),
    `// Generated by tools/build.mjs: the optimised module, base64. Do not edit.\n` +
    `var ROWBATCH_WASM_BASE64_ = '${wasm.toString('base64')}';\n`);
  // The sidebar runs the core in the user's browser: the same glue and bytes, inlined where the
  // page asks for them (a sidebar is one HTML file; it cannot fetch the project's other files).
  const inline = `<script>var ROWBATCH_WASM_BASE64_ = '${wasm.toString('base64')}';</script>\n<script>\n${glue}\n</script>`;
  // Partials (`_name.html`) are inlined where a page names them, and the shipped example jobs
  // where it asks for them (JSON in a script element, `<` escaped so nothing can close it).
  const examples = Object.fromEntries(['clinical', 'brands'].map((n) =>
    [n, JSON.parse(fs.readFileSync(path.join(root, 'examples', n, 'job.json'), 'utf8'))]));
  const examplesTag = `<script type="application/json" id="rb-examples">${JSON.stringify(examples).replace(/</g, '\\u003c')}</script>`;
  for (const f of fs.readdirSync(src)) {
    if (f === 'polyfills.js' || f === 'loader.js' || f.startsWith('_')) continue;
    let text = fs.readFileSync(path.join(src, f), 'utf8');
    if (f.endsWith('.html')) {
      text = text.replace(/<!-- rowbatch:include (_[\w.-]+\.html) -->/g, (_, name) => fs.readFileSync(path.join(src, name), 'utf8'))
        .replace('<!-- rowbatch:examples -->', () => examplesTag);
    }
    if (f.endsWith('.html') && text.includes('<!-- rowbatch:module -->')) {
      if (/<\/script/i.test(glue)) throw new Error('the glue contains </script>; it cannot be inlined');
      fs.writeFileSync(path.join(out, f), text.replace('<!-- rowbatch:module -->', () => inline));
    } else if (f.endsWith('.html')) {
      fs.writeFileSync(path.join(out, f), text);
    } else {
      fs.copyFileSync(path.join(src, f), path.join(out, f));
    }
  }
  // The build's id: a digest of every file pushed. The web app runs the deployed version and the
  // triggers the latest push; a run's workers refuse to work for an orchestrator of another build.
  const digest = crypto.createHash('sha256');
  for (const f of fs.readdirSync(out).sort()) digest.update(f).update(fs.readFileSync(path.join(out, f)));
  fs.writeFileSync(path.join(out, 'rowbatch_build.js'),
    `// Generated by tools/build.mjs: this build's id. Do not edit.\nvar ROWBATCH_BUILD_ = '${digest.digest('hex').slice(0, 16)}';\n`);
  return wasm;
}

// The web demo's generated parts: the parsers it loads as classic scripts and the example jobs.
function assembleWebDemo() {
  const demo = path.join(root, 'web-demo');
  const vendor = path.join(demo, 'vendor');
  fs.rmSync(vendor, { recursive: true, force: true });
  fs.mkdirSync(vendor, { recursive: true });
  fs.copyFileSync(path.join(root, 'node_modules', 'papaparse', 'papaparse.min.js'), path.join(vendor, 'papaparse.min.js'));
  fs.copyFileSync(path.join(root, 'node_modules', 'read-excel-file', 'bundle', 'read-excel-file.min.js'), path.join(vendor, 'read-excel-file.min.js'));
  for (const [name, rows] of [['clinical', 'scenarios.csv'], ['brands', 'brands.csv']]) {
    const to = path.join(demo, 'examples', name);
    fs.mkdirSync(to, { recursive: true });
    fs.copyFileSync(path.join(root, 'examples', name, 'job.json'), path.join(to, 'job.json'));
    fs.copyFileSync(path.join(root, 'examples', name, rows), path.join(to, 'rows.csv'));
  }
}

function main() {
  const started = Date.now();
  // `--host`: only reassemble the Apps Script project and the demo from the last wasm build
  // (after a change to appsscript/src; seconds instead of a minute).
  const hostOnly = process.argv.includes('--host') && fs.existsSync(path.join(pkgDir('no-modules'), 'rowbatch_bg.wasm'));
  if (!hostOnly) for (const target of TARGETS) buildTarget(target);
  copyDir(pkgDir('web'), path.join(root, 'web-demo', 'pkg'));
  assembleWebDemo();
  const wasm = assembleAppsScript();
  const gzip = zlib.gzipSync(wasm, { level: 9 }).length;
  const sizes = { wasmRawBytes: wasm.length, wasmGzipBytes: gzip, budgetBytes: WASM_BUDGET_BYTES };
  fs.mkdirSync(path.join(root, 'out'), { recursive: true });
  fs.writeFileSync(path.join(root, 'out', 'build-size.json'), JSON.stringify(sizes, null, 2) + '\n');
  console.log(`rowbatch.wasm: ${wasm.length} bytes raw, ${gzip} bytes gzip ` +
    `(budget ${WASM_BUDGET_BYTES} raw); built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (wasm.length > WASM_BUDGET_BYTES) {
    console.error(`build: the module is ${wasm.length - WASM_BUDGET_BYTES} bytes over its budget ` +
      `(WASM_BUDGET_BYTES in tools/build.mjs)`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
