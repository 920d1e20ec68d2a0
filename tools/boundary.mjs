#!/usr/bin/env node
// `node tools/boundary.mjs [--build DIR] [--rows N]`: what crosses the wasm boundary per wave in
// a realtime run of the example job in the local runtime: calls into the module and the bytes
// of JSON in and out. A probe replaces the loader's API object with one that logs each call,
// so any build of the Apps Script project can be measured the same way (issue 18's figure).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simulatedJob } from '../tests/apps-script-runtime/jobs.mjs';
import { BUILD_DIR } from '../apps-script-runtime/runtime.mjs';

const arg = (name, d) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : d);
const build = path.resolve(arg('--build', BUILD_DIR));
const rows = Number(arg('--rows', 500));

const PROBE = `
function rbProbeSize_(v) { return v === undefined || v === null ? 0 : typeof v === 'string' ? v.length : JSON.stringify(v).length; }
function rbProbeLog_(name, a, r) { console.log('wasm-call ' + name + ' ' + rbProbeSize_(a) + ' ' + rbProbeSize_(r)); }
function rowbatchApi_(module) {
  ROWBATCH_INSTANCES_ = 1;
  if (typeof ROWBATCH_MODULE_ !== 'undefined') ROWBATCH_MODULE_ = module;
  var api = {};
  Object.keys(wasm_bindgen).forEach(function (name) {
    var f = wasm_bindgen[name];
    if (typeof f !== 'function' || name === 'initSync') return;
    if (/^[A-Z]/.test(name)) {
      api[name] = function (a) {
        var o = new f(a);
        rbProbeLog_(name, a, null);
        return {
          begin: function () { var r = o.begin(); rbProbeLog_('begin', null, r); return r; },
          step: function (e) { var r = o.step(e); rbProbeLog_('step', e, r); return r; },
          free: function () { o.free(); },
        };
      };
      return;
    }
    api[name] = function (a) { var r = f.apply(null, arguments); rbProbeLog_(name, a, r); return r; };
  });
  return api;
}`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rowbatch-boundary-'));
for (const f of fs.readdirSync(build)) fs.copyFileSync(path.join(build, f), path.join(dir, f));
fs.writeFileSync(path.join(dir, 'zz_probe.js'), PROBE);
const { rt } = simulatedJob({ rows, limits: { waveSize: 25 }, runtime: { buildDir: dir } });
const runs = [await rt.run('rowbatchRun'), ...(await rt.runTriggers({ maxRuns: 200 }))];
const waves = runs.reduce((n, r) => n + (r.value?.summary?.waves ?? r.value?.run?.summary?.waves ?? 0), 0);
const calls = rt.logs.filter((l) => l.startsWith('wasm-call ')).map((l) => l.split(' '));
const by = {};
for (const [, name, a, r] of calls) {
  by[name] = by[name] || { calls: 0, bytes: 0 };
  by[name].calls += 1;
  by[name].bytes += Number(a) + Number(r);
}
const bytes = calls.reduce((n, c) => n + Number(c[2]) + Number(c[3]), 0);
const out = {
  build, rows, executions: runs.length, waves,
  calls_per_wave: Math.round((calls.length / waves) * 10) / 10,
  kb_per_wave: Math.round(bytes / waves / 100) / 10,
  by_function: by,
};
console.log(JSON.stringify(out, null, 1));
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
