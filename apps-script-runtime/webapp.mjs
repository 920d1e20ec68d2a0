// The runtime's web app over HTTP, as a deployed `/exec` URL serves it: a POST runs `doPost` and a
// GET runs `doGet`, each as an execution of its own, several at once up to the account's
// simultaneous-execution limit (past it the runtime refuses, before the script starts).
// - A POST is answered with a 302 to another URL that serves the output to a GET
//   (script.googleusercontent.com/macros/echo?user_content_key=…; reported in tanaike's
//   "Taking advantage of Web Apps with Google Apps Script" and the README's web app notes): a
//   client follows it with a GET and never posts again, as Node's fetch does. Whether Google's
//   echo URL serves its output more than once is not documented: here it serves it once.
// - An execution that throws, or is refused, gets an HTML page with status 200: doPost and doGet
//   answer 200 whatever happens (reported: openillumi.com "GAS doPost 500 Error?", and the Issue
//   Tracker entry it cites), so a client can rely only on a JSON body. The page's wording is
//   the runtime's own; Google's differs and nothing reads meaning into it.
// Due triggers run in the background on the real clock, as Apps Script runs them.
import http from 'node:http';

/**
 * Serves `rt`'s web app on 127.0.0.1. Resolves to { url, close }; `url` ends in `/exec`.
 * @param {import('./runtime.mjs').Runtime} rt
 */
export async function serveWebApp(rt, { port = 0, triggers = true } = {}) {
  const outputs = new Map();
  let next = 1;
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://127.0.0.1');
      if (url.pathname === '/echo' && req.method === 'GET') {
        const out = outputs.get(url.searchParams.get('id'));
        outputs.delete(url.searchParams.get('id'));
        if (!out) return reply(res, 404, 'text/html', '<p>Sorry, the file you have requested does not exist.</p>');
        return send(res, out);
      }
      if (url.pathname !== '/exec') return reply(res, 404, 'text/html', '<p>Sorry, unable to open the file at this time.</p>');
      if (req.method === 'POST') {
        const e = webAppEvent(url, 'POST', await body(req), req.headers['content-type']);
        const out = await rt.run('doPost', [e]);
        const id = String(next);
        next += 1;
        outputs.set(id, out);
        res.writeHead(302, { Location: `/echo?id=${id}` });
        return res.end();
      }
      if (req.method === 'GET') return send(res, await rt.run('doGet', [webAppEvent(url, 'GET')]));
      return reply(res, 405, 'text/html', '<p>Method not allowed.</p>');
    } catch (e) {
      return reply(res, 500, 'text/plain', String(e && e.message));
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/exec`;
  // Deployed: ScriptApp.getService().getUrl() answers this URL, and the script's own requests
  // to it run in this runtime.
  rt.webAppUrl ??= url;
  let stopped = false;
  let busy = false;
  const tick = triggers && !rt.simulated ? setInterval(async () => {
    if (busy || stopped) return;
    const due = rt.triggers.some((t) => !t.fired && t.at <= rt.now());
    if (!due) return;
    busy = true;
    try {
      await rt.runTriggers({ maxRuns: 1 });
    } finally {
      busy = false;
    }
  }, 250) : null;
  return {
    url,
    close: () => new Promise((resolve) => {
      stopped = true;
      if (tick) clearInterval(tick);
      server.close(resolve);
      server.closeAllConnections();
    }),
  };
}

function body(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** An execution's result as Apps Script serves it: `{status, type, text}`. */
export function webAppOutput(out) {
  if (!out.ok) {
    const message = (out.error && out.error.message) || 'the script failed';
    return { status: 200, type: 'text/html', text: `<!DOCTYPE html><html><body><div>${escape(message)}</div></body></html>` };
  }
  const v = out.value;
  if (!v || typeof v.text !== 'string') {
    return { status: 200, type: 'text/html', text: '<!DOCTYPE html><html><body><div>The script completed but did not return anything.</div></body></html>' };
  }
  return { status: 200, type: v.mime || 'text/plain', text: v.text };
}

function send(res, out) {
  const o = webAppOutput(out);
  return reply(res, o.status, o.type, o.text);
}

/** The web app's request event, as `doPost(e)` or `doGet(e)` gets it. */
export function webAppEvent(url, method, contents, type) {
  const parameter = Object.fromEntries(url.searchParams);
  const queryString = url.search.slice(1);
  if (method !== 'POST') return { parameter, queryString };
  return { postData: { contents, type: type ?? '', length: Buffer.byteLength(contents) }, parameter, queryString };
}

function reply(res, status, type, text) {
  res.writeHead(status, { 'Content-Type': `${type}; charset=utf-8` });
  res.end(text);
}

function escape(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}
