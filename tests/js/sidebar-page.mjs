// The sidebar as a page in Chromium, served as Apps Script serves it (from an https origin, the
// HTML the runtime rendered) with google.script.run wired to the local runtime: each call is an
// execution of the runtime, its failure the failure handler's error.

// google.script.run, as the sidebar uses it, forwarding to the runtime through an exposed function.
const GOOGLE_SHIM = `
  window.google = { script: { run: (function make(ok, fail) {
    return new Proxy({}, { get(_, name) {
      if (name === 'withSuccessHandler') return (f) => make(f, fail);
      if (name === 'withFailureHandler') return (f) => make(ok, f);
      return (...args) => window.__rowbatchCall(name, args).then((v) => ok && ok(v), (e) => fail && fail(e));
    } });
  })(null, null) } };`;

/**
 * Opens `html` (a sidebar the runtime rendered) in a new page of `browser`. `withoutWasm`: the
 * page has no WebAssembly, as a frame that withholds it. `onCall(fn, execution)` sees each call.
 * Resolves to { page, errors (uncaught page errors), calls (server functions, in order) }.
 */
export async function sidebarPage(browser, rt, html, { height = 520, withoutWasm = false, onCall = null } = {}) {
  const page = await browser.newPage({ viewport: { width: 300, height } });
  const errors = [];
  const calls = [];
  page.on('pageerror', (e) => errors.push(e));
  if (withoutWasm) await page.addInitScript(() => { delete globalThis.WebAssembly; });
  await page.exposeFunction('__rowbatchCall', async (fn, args) => {
    calls.push(fn);
    const execution = rt.run(fn, args);
    if (onCall) onCall(fn, execution);
    const r = await execution;
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  });
  // The shim goes first in <head>, where Apps Script's own client library would be.
  const served = html.replace('<head>', `<head><script>${GOOGLE_SHIM}</script>`);
  await page.route('https://sidebar.test/', (route) => route.fulfill({ contentType: 'text/html', body: served }));
  await page.goto('https://sidebar.test/');
  return { page, errors, calls };
}
