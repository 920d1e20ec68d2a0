// One Apps Script execution: a fresh `node:vm` context with only ECMAScript built-ins and
// WebAssembly, the services shim, then the pushed files, unmodified, in push order; then the
// entry point. Service calls block this thread until the runtime answers (Atomics.wait), as
// Apps Script's services block the script. Terminating this worker is the 6-minute kill.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';

const { buildDir, files, shim, fn, args, signal, simulated, now, port } = workerData;
const flag = new Int32Array(signal);

function host(service, method, argsJson) {
  Atomics.store(flag, 0, 0);
  port.postMessage({ service, method, args: argsJson });
  Atomics.wait(flag, 0, 0);
  // The reply is posted before the flag is raised, but a busy machine can deliver it a moment
  // after the wake-up: wait for it in 1 ms steps (flag[1] stays 0, so each wait is a sleep).
  let reply;
  while ((reply = receiveMessageOnPort(port)) === undefined) Atomics.wait(flag, 1, 0, 1);
  return reply.message;
}

const context = vm.createContext({});
context.__rowbatchHost = host;
// Pure utilities run here rather than through the runtime: decoding the module's 750 KB of
// base64 as a JSON round trip took 300+ ms, where Apps Script's native call takes a few.
const InnerArray = vm.runInContext('Array', context);
context.__rowbatchLocal = {
  base64Decode(text) {
    const bytes = Buffer.from(String(text), 'base64');
    const out = new InnerArray(bytes.length);
    for (let i = 0; i < bytes.length; i += 1) out[i] = bytes[i] > 127 ? bytes[i] - 256 : bytes[i];
    return out;
  },
};
context.__rowbatchNow = now;
if (simulated) {
  // A virtual clock: Date reads the runtime's time, which moves only with sleeps, fetches and
  // trigger delays, so hours of work run in seconds.
  vm.runInContext(`(function (RealDate) {
    function VirtualDate(...a) {
      if (!new.target) return new RealDate(globalThis.__rowbatchNow).toString();
      return a.length ? new RealDate(...a) : new RealDate(globalThis.__rowbatchNow);
    }
    VirtualDate.now = () => globalThis.__rowbatchNow;
    VirtualDate.UTC = RealDate.UTC;
    VirtualDate.parse = RealDate.parse;
    VirtualDate.prototype = RealDate.prototype;
    Object.defineProperty(RealDate.prototype, 'constructor', { value: VirtualDate });
    globalThis.Date = VirtualDate;
  })(Date);`, context);
}
vm.runInContext(shim, context, { filename: 'services.js' });
for (const file of files) {
  vm.runInContext(fs.readFileSync(path.join(buildDir, file), 'utf8'), context, { filename: file });
}

try {
  const entry = vm.runInContext(`typeof ${fn} === 'function' ? ${fn} : undefined`, context);
  if (!entry) throw new Error(`Script function not found: ${fn}`);
  context.__rowbatchArgs = JSON.stringify(args ?? []);
  let value = vm.runInContext(`${fn}.apply(null, JSON.parse(__rowbatchArgs))`, context);
  value = await value;
  parentPort.postMessage({ done: true, value: value === undefined ? null : JSON.parse(JSON.stringify(value)) });
} catch (e) {
  parentPort.postMessage({ done: true, error: { name: e?.name ?? 'Error', message: String(e?.message ?? e), stack: String(e?.stack ?? '') } });
}
