// The providers' Batch APIs, in process: OpenAI files and batches (JSONL in, output and error
// files out) and Anthropic message batches (results JSONL). A batch moves one state per status
// poll; its lines are answered by the realtime handler (same answers, no faults or limits), and
// `batchExpired` / `batchLineErrors` make some of them expire or fail.
import crypto from 'node:crypto';

const share = (rate, ...parts) => rate > 0 && crypto.createHash('sha256').update(parts.join('\u0000')).digest().readUInt32BE(0) / 2 ** 32 < rate;

export function createBatches(o, stats, answer) {
  const files = new Map();
  const batches = new Map();
  let next = 1;
  stats.batch = { files: 0, batches: 0, lines: 0, polls: 0, downloads: 0 };

  const reply = (status, body, type = 'application/json') => {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    return { status, headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body), latencyMs: 300 };
  };
  const notFound = (what) => reply(404, { error: { message: `No such ${what}`, type: 'invalid_request_error' } });

  function owns(url) {
    return /\/v1\/(files|batches)(\/|$)/.test(url.pathname) || /\/v1\/messages\/batches(\/|$)/.test(url.pathname);
  }

  async function handle(req, url, now) {
    const anthropic = url.pathname.includes('/messages/batches');
    const h = Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const bearer = (h.authorization ?? '').replace(/^Bearer\s+/i, '');
    const key = anthropic ? h['x-api-key'] ?? bearer : bearer;
    if (!key || o.invalidKeys.includes(key)) {
      return reply(401, anthropic ? { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }
        : { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } });
    }
    const path = url.pathname.replace(/^.*?\/v1\//, '');
    const m = (re) => re.exec(path);
    let g;
    if (req.method === 'POST' && path === 'files') return upload(req, h);
    if (req.method === 'GET' && (g = m(/^files\/([\w-]+)\/content$/))) {
      const f = files.get(g[1]);
      if (!f) return notFound('file');
      stats.batch.downloads += 1;
      return reply(200, f.content, 'application/jsonl');
    }
    if (req.method === 'POST' && path === 'batches') return createOpenAI(req, now);
    if (req.method === 'POST' && path === 'messages/batches') return createAnthropic(req, now);
    if ((g = m(/^(?:messages\/)?batches\/([\w-]+)(\/cancel|\/results)?$/))) {
      const b = batches.get(g[1]);
      if (!b || b.anthropic !== anthropic) return notFound('batch');
      if (req.method === 'POST' && g[2] === '/cancel') { b.cancel = true; return reply(200, view(b, url, now)); }
      if (req.method === 'GET' && g[2] === '/results') {
        if (!b.ended) return reply(400, { type: 'error', error: { type: 'invalid_request_error', message: 'batch has not ended' } });
        stats.batch.downloads += 1;
        return reply(200, b.results, 'application/binary');
      }
      if (req.method === 'GET' && !g[2]) { stats.batch.polls += 1; await advance(b, now); return reply(200, view(b, url, now)); }
    }
    return notFound(`route ${req.method} ${url.pathname}`);
  }

  /** multipart/form-data with `purpose` and `file`, as UrlFetchApp sends a payload with a blob. */
  function upload(req, h) {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(h['content-type'] ?? '');
    if (!boundary) return reply(400, { error: { message: 'expected multipart/form-data', type: 'invalid_request_error' } });
    const fields = {};
    for (const chunk of req.body.split(`--${boundary[1] ?? boundary[2]}`)) {
      const at = chunk.indexOf('\r\n\r\n');
      const name = /name="([^"]+)"/.exec(chunk.slice(0, at));
      if (at < 0 || !name) continue;
      fields[name[1]] = chunk.slice(at + 4).replace(/\r\n$/, '');
    }
    if (fields.purpose !== 'batch' || typeof fields.file !== 'string') {
      return reply(400, { error: { message: "'purpose' must be 'batch' and 'file' a JSONL file", type: 'invalid_request_error' } });
    }
    const id = `file-${next++}`;
    files.set(id, { content: fields.file, purpose: 'batch' });
    stats.batch.files += 1;
    return reply(200, { id, object: 'file', bytes: Buffer.byteLength(fields.file), purpose: 'batch', filename: 'rowbatch.jsonl' });
  }

  function createOpenAI(req, now) {
    const body = JSON.parse(req.body || '{}');
    const f = files.get(body.input_file_id);
    if (!f) return notFound('file');
    const errors = [];
    const lines = f.content.split('\n').filter((l) => l.trim()).map((l, i) => {
      try { return JSON.parse(l); } catch { errors.push({ line: i + 1, message: 'invalid JSON' }); return null; }
    }).filter(Boolean);
    const ids = new Set();
    const models = new Set();
    lines.forEach((l, i) => {
      if (l.method !== 'POST' || l.url !== body.endpoint) errors.push({ line: i + 1, message: 'method and url must match the batch endpoint' });
      if (ids.has(l.custom_id)) errors.push({ line: i + 1, message: `duplicate custom_id ${l.custom_id}` });
      ids.add(l.custom_id);
      models.add(l.body?.model);
    });
    if (models.size > 1) errors.push({ line: 1, message: 'a batch file holds one model' });
    if (lines.length > 50_000) errors.push({ line: 50_001, message: 'at most 50,000 requests' });
    const b = { id: `batch_${next++}`, anthropic: false, created: now, polls: 0, lines: lines.map((l) => ({ id: l.custom_id, body: l.body })),
      errors, endpoint: body.endpoint, inputFile: body.input_file_id, cancel: false, ended: false, status: 'validating', metadata: body.metadata ?? null };
    batches.set(b.id, b);
    stats.batch.batches += 1;
    return reply(200, view(b, null, now));
  }

  function createAnthropic(req, now) {
    const body = JSON.parse(req.body || '{}');
    const requests = body.requests ?? [];
    const bad = requests.find((r) => !/^[a-zA-Z0-9_-]{1,64}$/.test(r.custom_id ?? ''));
    if (bad) return reply(400, { type: 'error', error: { type: 'invalid_request_error', message: `requests: custom_id must match ^[a-zA-Z0-9_-]{1,64}$: ${bad.custom_id}` } });
    if (requests.length === 0 || requests.length > 100_000) return reply(400, { type: 'error', error: { type: 'invalid_request_error', message: 'requests: 1 to 100,000 items' } });
    const b = { id: `msgbatch_${next++}`, anthropic: true, created: now, polls: 0, lines: requests.map((r) => ({ id: r.custom_id, body: r.params })),
      errors: [], cancel: false, ended: false, status: 'in_progress' };
    batches.set(b.id, b);
    stats.batch.batches += 1;
    return reply(200, view(b, null, now));
  }

  /** One state further per poll; at the end, every line is answered (or expires, fails, is cancelled). */
  async function advance(b, now) {
    if (b.ended) return;
    b.polls += 1;
    if (b.errors.length) { b.status = 'failed'; b.ended = true; return; }
    if (b.cancel) return finish(b, now, 'cancelled');
    const early = o.batchMinutes > 0 ? now - b.created < o.batchMinutes * 60_000 : b.polls < o.batchPolls;
    if (early) { b.status = b.anthropic ? 'in_progress' : b.polls === 1 ? 'in_progress' : 'finalizing'; return; }
    return finish(b, now, o.batchExpired > 0 ? 'expired' : 'completed');
  }

  async function finish(b, now, end) {
    const out = [];
    const err = [];
    for (const line of b.lines) {
      stats.batch.lines += 1;
      const kind = end === 'cancelled' ? 'cancelled' : share(o.batchExpired, o.seed, b.id, line.id) ? 'expired'
        : share(o.batchLineErrors, o.seed, 'error', line.id) ? 'error' : 'answer';
      line.kind = kind;
      if (b.anthropic) {
        if (kind === 'answer') {
          const r = await answer({ method: 'POST', url: 'http://fake.local/v1/messages', headers: { 'x-api-key': 'batch' }, body: JSON.stringify(line.body) }, now, true);
          const parsed = JSON.parse(r.body);
          out.push(r.status === 200 ? { custom_id: line.id, result: { type: 'succeeded', message: parsed } } : { custom_id: line.id, result: { type: 'errored', error: parsed } });
        } else if (kind === 'error') {
          out.push({ custom_id: line.id, result: { type: 'errored', error: { type: 'error', error: { type: 'api_error', message: 'Internal server error' } } } });
        } else {
          out.push({ custom_id: line.id, result: { type: kind === 'cancelled' ? 'canceled' : 'expired' } });
        }
      } else if (kind === 'answer') {
        const r = await answer({ method: 'POST', url: 'http://fake.local/v1/chat/completions', headers: { authorization: 'Bearer batch' }, body: JSON.stringify(line.body) }, now, true);
        (r.status === 200 ? out : err).push({ id: `batch_req_${next++}`, custom_id: line.id, response: { status_code: r.status, request_id: 'req', body: JSON.parse(r.body) }, error: null });
      } else if (kind === 'error') {
        err.push({ id: `batch_req_${next++}`, custom_id: line.id, response: { status_code: 500, request_id: 'req', body: { error: { message: 'The server had an error', type: 'server_error' } } }, error: null });
      } else if (kind === 'expired') {
        err.push({ id: `batch_req_${next++}`, custom_id: line.id, response: null, error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' } });
      }
      // OpenAI writes nothing for the lines of a cancelled batch that never ran.
    }
    // Lines in any order, as the providers promise.
    const shuffle = (a) => a.map((x) => [crypto.createHash('sha256').update(JSON.stringify(x.custom_id)).digest('hex'), x]).sort().map(([, x]) => JSON.stringify(x) + '\n').join('');
    if (b.anthropic) {
      b.results = shuffle(out);
    } else {
      if (out.length) { b.output = `file-${next++}`; files.set(b.output, { content: shuffle(out), purpose: 'batch_output' }); }
      if (err.length) { b.error = `file-${next++}`; files.set(b.error, { content: shuffle(err), purpose: 'batch_output' }); }
    }
    b.status = b.anthropic ? 'ended' : end;
    b.ended = true;
    b.endedAt = now;
  }

  function view(b, url, now) {
    const count = (k) => b.lines.filter((l) => l.kind === k).length;
    if (b.anthropic) {
      const origin = url ? url.origin : 'http://fake.local';
      return {
        id: b.id, type: 'message_batch', processing_status: b.ended ? 'ended' : b.cancel ? 'canceling' : 'in_progress',
        request_counts: { processing: b.ended ? 0 : b.lines.length, succeeded: b.ended ? count('answer') : 0, errored: count('error'), canceled: count('cancelled'), expired: count('expired') },
        created_at: new Date(b.created).toISOString(), expires_at: new Date(b.created + 86_400_000).toISOString(),
        ended_at: b.ended ? new Date(b.endedAt).toISOString() : null,
        cancel_initiated_at: b.cancel ? new Date(now).toISOString() : null,
        results_url: b.ended ? `${origin}/v1/messages/batches/${b.id}/results` : null,
      };
    }
    return {
      id: b.id, object: 'batch', endpoint: b.endpoint, input_file_id: b.inputFile, completion_window: '24h',
      status: b.cancel && !b.ended ? 'cancelling' : b.status, output_file_id: b.output ?? null, error_file_id: b.error ?? null,
      created_at: Math.floor(b.created / 1000), metadata: b.metadata,
      errors: b.errors.length ? { object: 'list', data: b.errors.map((e) => ({ code: 'invalid_request', message: `line ${e.line}: ${e.message}`, line: e.line })) } : null,
      request_counts: { total: b.lines.length, completed: b.ended ? count('answer') : 0, failed: b.ended ? b.lines.length - count('answer') : 0 },
    };
  }

  return { owns, handle, batches, files };
}
