// The Apps Script build in the bare-V8 sandbox: that it loads with nothing Apps Script lacks,
// through both loader paths, and that its polyfills behave like the real Web APIs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { openSandbox, pushedScripts, BUILD_DIR, FOREIGN_GLOBALS } from '../apps-script-sandbox/sandbox.mjs';

const skip = process.env.ROWBATCH_HOST !== 'sandbox' && 'runs with ROWBATCH_HOST=sandbox';

test('the sandbox starts without any Node or Web global, and the project adds only its polyfills', { skip }, async () => {
  const sb = await openSandbox();
  assert.deepEqual(sb.foreignBefore, []);
  const after = sb.eval(`${JSON.stringify(FOREIGN_GLOBALS)}.filter((n) => typeof globalThis[n] !== 'undefined')`);
  assert.deepEqual([...after].sort(), ['TextDecoder', 'TextEncoder', 'crypto']);
});

test('every pushed file is a classic script: no import, export or top-level await', { skip }, () => {
  const files = pushedScripts();
  assert.ok(files.includes('rowbatch.js') && files.includes('rowbatch_wasm.js'), files.join(', '));
  for (const f of files) {
    const code = fs.readFileSync(path.join(BUILD_DIR, f), 'utf8');
    assert.doesNotThrow(() => new vm.Script(code, { filename: f }), f);
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(BUILD_DIR, 'appsscript.json'), 'utf8'));
  assert.equal(manifest.runtimeVersion, 'V8');
});

test('the polyfills run before the glue inside rowbatch.js', { skip }, () => {
  const code = fs.readFileSync(path.join(BUILD_DIR, 'rowbatch.js'), 'utf8');
  const polyfill = code.indexOf('g.TextDecoder = class TextDecoder');
  const glue = code.indexOf("new TextDecoder('utf-8'");
  assert.ok(polyfill > 0 && glue > polyfill, `polyfill at ${polyfill}, glue at ${glue}`);
});

test('the async and the sync loader give the same module; start-up time is reported', { skip }, async () => {
  const input = { header: ['A', 'B'], rows: [['x', 1], [' x ', '1'], ['y', 2]] };
  const times = {};
  const outputs = [];
  for (const loader of ['async', 'sync']) {
    const sb = await openSandbox({ loader });
    outputs.push(sb.call('signRows', input));
    times[loader] = sb.startup;
  }
  assert.deepEqual(outputs[0], outputs[1]);
  assert.deepEqual(outputs[0].ok.duplicateGroups[0].indices, [0, 1]);
  const wasmBytes = fs.statSync(path.join(path.dirname(BUILD_DIR), '..', 'wasm', 'pkg', 'no-modules', 'rowbatch_bg.wasm')).size;
  const fmt = (t) => `evaluate ${t.evaluateMs.toFixed(1)} ms + load ${t.loadMs.toFixed(1)} ms = ${t.totalMs.toFixed(1)} ms`;
  console.log(`sandbox start-up (${wasmBytes} bytes of wasm): async ${fmt(times.async)}; sync ${fmt(times.sync)}`);
  fs.mkdirSync('out', { recursive: true });
  fs.writeFileSync('out/sandbox-startup.json', JSON.stringify({ wasmBytes, ...times }, null, 2) + '\n');
});

test('rowbatchSelfTest(), the check users run from the editor, passes', { skip }, async () => {
  const sb = await openSandbox();
  const summary = await sb.eval('rowbatchSelfTest()');
  assert.equal(summary.ok, true);
  assert.equal(summary.duplicatesFound, 1);
  assert.match(sb.logs.at(-1), /"ok":true/);
});

test('TextEncoder and TextDecoder polyfills agree with the real ones', { skip }, async () => {
  const sb = await openSandbox();
  const samples = ['', 'ascii', 'é', 'e\u0301', '한국', '😀👩‍👧', '\u05d0\u05d1', '\ud83d', 'a\udc00b', '\uffff', 'x'.repeat(20000) + '𝔘'];
  for (const s of samples) {
    const want = new TextEncoder().encode(s);
    const got = Uint8Array.from(sb.eval(`Array.from(new TextEncoder().encode(${JSON.stringify(s)}))`));
    assert.deepEqual(got, want, JSON.stringify(s).slice(0, 40));
    const back = sb.eval(`new TextDecoder('utf-8', { ignoreBOM: true, fatal: true }).decode(new TextEncoder().encode(${JSON.stringify(s)}))`);
    assert.equal(back, new TextDecoder().decode(want));
  }
  // encodeInto stops before a character that does not fit, and says how far it got.
  assert.deepEqual({ ...sb.eval(`new TextEncoder().encodeInto('ab😀c', new Uint8Array(4))`) }, { read: 2, written: 2 });
  assert.deepEqual({ ...sb.eval(`new TextEncoder().encodeInto('ab😀c', new Uint8Array(6))`) }, { read: 4, written: 6 });
});

test('TextDecoder: fatal throws on bad bytes, otherwise U+FFFD; the BOM rule follows ignoreBOM', { skip }, async () => {
  const sb = await openSandbox();
  for (const bytes of [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
    assert.throws(() => sb.eval(`new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(${JSON.stringify(bytes)}))`), { name: 'TypeError' });
    const lenient = sb.eval(`new TextDecoder().decode(new Uint8Array(${JSON.stringify(bytes)}))`);
    assert.ok(lenient.includes('\ufffd'), JSON.stringify(bytes));
  }
  const bom = '[0xef, 0xbb, 0xbf, 0x61]';
  assert.equal(sb.eval(`new TextDecoder().decode(new Uint8Array(${bom}))`), 'a');
  assert.equal(sb.eval(`new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array(${bom}))`), '\ufeffa');
  assert.equal(sb.eval(`new TextDecoder().decode()`), '');
  // A view into a larger buffer decodes only its own bytes.
  assert.equal(sb.eval(`new TextDecoder().decode(new Uint8Array([0x78, 0x61, 0x62, 0x79]).subarray(1, 3))`), 'ab');
});

test('crypto.getRandomValues fills the given array in place and returns it', { skip }, async () => {
  const sb = await openSandbox();
  const result = sb.eval(`(() => {
    const a = new Uint8Array(64);
    const r = crypto.getRandomValues(a);
    const view = new Uint8Array(new ArrayBuffer(32), 8, 16);
    crypto.getRandomValues(view);
    return { same: r === a, zeros: a.filter((b) => b === 0).length, distinct: new Set(a).size,
             outside: Array.from(new Uint8Array(view.buffer, 0, 8)).filter((b) => b !== 0).length,
             inside: Array.from(view).filter((b) => b !== 0).length };
  })()`);
  assert.equal(result.same, true);
  assert.ok(result.zeros < 8, `zeros: ${result.zeros}`);
  assert.ok(result.distinct > 20, `distinct bytes: ${result.distinct}`);
  assert.equal(result.outside, 0, 'bytes outside the view untouched');
  assert.ok(result.inside > 8);
});
