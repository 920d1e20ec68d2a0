// A panic in the core aborts into a wasm trap (`unreachable`), after which the instance's memory
// is in an unknown state. The Apps Script loader's API object catches the trap, replaces the
// instance with a fresh one from the same compiled module, and the execution goes on. The trap is
// raised here at the boundary (no input of the core is known to panic; the fuzzers look for one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runtime, BUILD_DIR } from '../../apps-script-runtime/runtime.mjs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';

const PROBE = `
async function trapProbe() {
  var rb = await rowbatchAsync_();
  var first = rb.newSeed();
  var glue = wasm_bindgen;
  // The next call into this instance traps, as a panic would.
  glue.signRows = function () { throw new WebAssembly.RuntimeError('unreachable'); };
  var caught = null;
  try { rb.signRows({ header: ['a'], rows: [['x']] }); } catch (e) { caught = { code: e.code, message: e.message }; }
  var after = rb.signRows({ header: ['Title'], rows: [['Chest pain'], ['  Chest   pain ']] });
  return { caught: caught, instances: ROWBATCH_INSTANCES_, replaced: wasm_bindgen !== glue, groups: after.duplicateGroups.length, seeds: [first, rb.newSeed()] };
}`;

test('a trap in the module is reported and the next call runs on a fresh instance', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rowbatch-trap-'));
  for (const f of fs.readdirSync(BUILD_DIR)) fs.copyFileSync(path.join(BUILD_DIR, f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'zz_probe.js'), PROBE);
  const rt = new Runtime({ buildDir: dir });
  const r = await rt.run('trapProbe');
  assert.ok(r.ok, JSON.stringify(r.error));
  assert.equal(r.value.caught.code, 'trapped');
  assert.match(r.value.caught.message, /^rowbatch: signRows failed inside the module \(unreachable\); the module was restarted$/);
  assert.equal(r.value.instances, 2);
  assert.equal(r.value.replaced, true);
  assert.equal(r.value.groups, 1, 'the fresh instance works');
  assert.notEqual(r.value.seeds[0], r.value.seeds[1]);
  assert.ok(rt.logs.some((l) => /the module trapped in signRows/.test(l)));
  fs.rmSync(dir, { recursive: true, force: true });
});
