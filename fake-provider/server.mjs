#!/usr/bin/env node
// The fake provider over HTTP on 127.0.0.1: `npm run fake-provider -- --port 8787`, or
// startFakeProvider() in tests. Options are fake-provider/provider.mjs DEFAULTS, from
// `--name value` flags or FAKE_PROVIDER_<NAME> environment variables.
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { createFakeProvider, DEFAULTS } from './provider.mjs';

export async function startFakeProvider({ port = 0, ...options } = {}) {
  const provider = createFakeProvider(options);
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const out = await provider.handle({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const wait = options.realLatency === false ? 0 : Math.min(out.latencyMs ?? 0, options.maxWaitMs ?? 250);
      setTimeout(() => {
        if (out.networkError) { req.socket.destroy(); return; }
        res.writeHead(out.status, out.headers);
        res.end(out.body);
      }, wait);
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, provider, stats: provider.stats, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = { port: 8787 };
  const args = process.argv.slice(2);
  for (const name of Object.keys({ ...DEFAULTS, port: 0 })) {
    const env = process.env[`FAKE_PROVIDER_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`];
    const i = args.indexOf(`--${name}`);
    const raw = i >= 0 ? args[i + 1] : env;
    if (raw !== undefined) options[name] = Number.isNaN(Number(raw)) ? raw : Number(raw);
  }
  const { url } = await startFakeProvider(options);
  console.log(`fake provider on ${url} (OpenAI: ${url}/v1/chat/completions, Anthropic: ${url}/v1/messages)`);
}
