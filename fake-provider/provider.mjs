// A provider that behaves like the real ones, in process: OpenAI Chat Completions and Anthropic
// Messages, answers made deterministically from the request (the example answer in the prompt,
// varied per row, else a value generated from the schema), usage with cached tokens when a
// prefix repeats, rate limits with the real headers, and injected faults.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createBatches } from './batches.mjs';
import { cacheMinTokens, refuseAnthropic, refuseOpenAi } from './strict.mjs';

export const DEFAULTS = {
  // Answer quality: the share of answers with each problem.
  outOfRange: 0.0,
  /** Clinical answers with one slip a pack default mends: a vital left out, or an impossible HR. */
  slips: 0.0,
  malformed: 0.0,
  fenced: 0.0,
  refusal: 0.0,
  truncation: 0.0,
  // Faults: the share of requests answered with each.
  rate429: 0.0,
  /** retry-after | retry-after-ms | reset | anthropic (the 429's header style; `anthropic` for Messages). */
  style429: 'retry-after',
  rate500: 0.0,
  rate503: 0.0,
  rate529: 0.0,
  timeout: 0.0,
  reset: 0.0,
  // Limits per minute (per API key), enforced with the providers' headers.
  rpm: 10_000,
  tpm: 10_000_000,
  // Latency in ms: a log-normal with this median and 95th percentile.
  latencyMedianMs: 800,
  latencyP95Ms: 3_000,
  seed: 'fake',
  /** Keys that get 401; `quota` keys get 429 insufficient_quota. */
  invalidKeys: ['invalid'],
  quotaKeys: ['no-credit'],
  // Batch APIs: status polls a batch takes to end, and the share of its lines that expire or
  // fail (a 500 in the error file; `errored` for Anthropic).
  batchPolls: 2,
  /** When set, a batch ends this many minutes (on the caller's clock) after it was made instead. */
  batchMinutes: 0,
  batchExpired: 0.0,
  batchLineErrors: 0.0,
};

function hash(...parts) {
  return crypto.createHash('sha256').update(parts.join('\u0000')).digest();
}

/** A deterministic stream of numbers in [0, 1) for one request. */
function stream(...parts) {
  const h = hash(...parts);
  let i = 0;
  return () => {
    const v = h.readUInt32BE((i % 7) * 4) / 2 ** 32;
    i += 1;
    if (i % 7 === 0) h.set(hash(h.toString('hex')));
    return v;
  };
}

const tokens = (s) => Math.ceil(Buffer.byteLength(s ?? '', 'utf8') / 4);

/** The providers' prices (core/prices/prices.json): what the bill charges per million tokens. */
const PRICES = JSON.parse(fs.readFileSync(new URL('../core/prices/prices.json', import.meta.url), 'utf8'));

/** The models the fake has: those of the price table and their dated versions (`gpt-4o-mini-2024-07-18`). */
function known(model) {
  return PRICES.models.some((m) => model === m.model
    || (model.startsWith(`${m.model}-`) && /^(\d{4}-\d{2}-\d{2}|\d{8})$/.test(model.slice(m.model.length + 1))));
}

/** What an answer costs: the model's price (its longest prefix in the table), 0 without one. */
function charge(model, u, inBatch) {
  const p = PRICES.models.filter((m) => model.startsWith(m.model)).sort((a, b) => b.model.length - a.model.length)[0];
  if (!p) return 0;
  const usd = (u.input * p.input + u.cached * p.cachedInput + u.written * (p.cacheWrite ?? p.input) + u.output * p.output) / 1e6;
  return inBatch ? usd * PRICES.batchDiscount : usd;
}

export function createFakeProvider(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const seen = new Map(); // body hash -> times seen (so a retry is a new draw)
  const prefixes = new Set(); // cached prompt prefixes
  const buckets = new Map(); // key -> { requests, tokens, at }
  // chargedTokens: what the token limit counted (prompt plus the whole output allowance).
  // billUsd/bill: what the provider charged (in all, and per API key), from its own usage and
  // prices: the measure of overspend, independent of what rowbatch thinks it spent.
  const stats = { requests: 0, answers: 0, faults: 0, byStatus: {}, promptTokens: 0, cachedTokens: 0, outputTokens: 0, chargedTokens: 0, keys: new Set(), billUsd: 0, bill: {} };

  function bucket(key, now) {
    const b = buckets.get(key) ?? { requests: o.rpm, tokens: o.tpm, at: now };
    const dt = Math.max(0, now - b.at) / 60_000;
    b.requests = Math.min(o.rpm, b.requests + o.rpm * dt);
    b.tokens = Math.min(o.tpm, b.tokens + o.tpm * dt);
    // Executions on their own clocks send out of time order: the bucket's time never goes back,
    // or the time between would be refilled twice.
    b.at = Math.max(b.at, now);
    buckets.set(key, b);
    return b;
  }

  function reply(status, body, headers = {}, latencyMs = 0) {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), latencyMs };
  }

  /** A wrong or missing key, as each provider answers it (OpenAI quotes the key masked). */
  function unauthorized(anthropic, key) {
    return anthropic
      ? reply(401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } })
      : reply(401, { error: { message: `Incorrect API key provided: ${key.slice(0, 3)}***${key.slice(-4)}.`, type: 'invalid_request_error', code: 'invalid_api_key' } });
  }

  /**
   * Anthropic refuses a request without `anthropic-version` ("Versions" in its API docs: the
   * header is required); null when it is there.
   */
  function versionMissing(h) {
    return 'anthropic-version' in h ? null
      : reply(400, { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } });
  }

  /** A model the provider does not have: 404, `not_found_error` / `model_not_found`. */
  function unknownModel(anthropic, id) {
    return anthropic
      ? reply(404, { type: 'error', error: { type: 'not_found_error', message: `model: ${id}` } })
      : reply(404, { error: { message: `The model \`${id}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', param: null, code: 'model_not_found' } });
  }

  /**
   * "Retrieve model" (OpenAI, `GET /v1/models/{model}`,
   * developers.openai.com/api/reference/resources/models/methods/retrieve) and "Get a Model"
   * (Anthropic, the same path with `x-api-key` and `anthropic-version`,
   * platform.claude.com/docs/en/api/models/retrieve): free, and answered 401 for a wrong key and
   * 404 for a model the provider does not have, in each provider's error shape (OpenAI's
   * `model_not_found` and its "does not exist or you do not have access to it"; Anthropic's
   * `not_found_error`). Bodies carry the fields the documented 200 answers carry.
   */
  function model(req, id) {
    const h = Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    // The same path at both providers: Anthropic's key comes as `x-api-key`.
    const anthropic = 'anthropic-version' in h || 'x-api-key' in h;
    if (anthropic && versionMissing(h)) return versionMissing(h);
    const key = anthropic ? h['x-api-key'] ?? '' : (h.authorization ?? '').replace(/^Bearer\s+/i, '');
    if (!key || o.invalidKeys.includes(key)) return unauthorized(anthropic, key);
    if (!known(id)) return unknownModel(anthropic, id);
    return anthropic
      ? reply(200, { type: 'model', id, display_name: id, created_at: '2026-01-01T00:00:00Z' })
      : reply(200, { id, object: 'model', created: 1767225600, owned_by: 'system' });
  }

  /**
   * One HTTP request: {method, url, headers, body}; `now` is the caller's clock. `inBatch`: a
   * line of a provider batch, answered like a realtime request but without faults or limits.
   */
  async function handle(req, now = Date.now(), inBatch = false) {
    stats.requests += 1;
    const url = new URL(req.url, 'http://127.0.0.1');
    if (batches.owns(url)) return batches.handle(req, url, now);
    const lookup = /\/v1\/models\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && lookup) return model(req, decodeURIComponent(lookup[1]));
    const anthropic = url.pathname.endsWith('/messages');
    if (req.method !== 'POST' || !(anthropic || url.pathname.endsWith('/chat/completions'))) {
      return reply(404, { error: { message: `Unknown request URL: ${req.method} ${url.pathname}`, type: 'invalid_request_error' } });
    }
    const h = Object.fromEntries(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    // Anthropic takes `x-api-key` (what rowbatch sends) or a bearer token (what its newer SDK sends).
    const bearer = (h.authorization ?? '').replace(/^Bearer\s+/i, '');
    const key = anthropic ? h['x-api-key'] ?? bearer : bearer;
    stats.keys.add(key);
    if (!key || o.invalidKeys.includes(key)) return unauthorized(anthropic, key);
    // A batch line is the batch's request, made without headers of its own.
    if (anthropic && !inBatch && versionMissing(h)) return versionMissing(h);
    if (o.quotaKeys.includes(key)) {
      return anthropic
        ? reply(400, { type: 'error', error: { type: 'invalid_request_error', message: 'Your credit balance is too low to access the Anthropic API.' } })
        : reply(429, { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', code: 'insufficient_quota' } });
    }
    let body;
    try {
      body = JSON.parse(req.body ?? '');
    } catch {
      return reply(400, { error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error' } });
    }
    // An unknown model is refused before anything else about the body (both providers: 404).
    if (typeof body?.model === 'string' && !known(body.model)) return unknownModel(anthropic, body.model);
    const invalid = check(body, anthropic);
    if (invalid) return reply(400, anthropic ? { type: 'error', error: { type: 'invalid_request_error', message: invalid } } : { error: { message: invalid, type: 'invalid_request_error', param: null, code: null } });
    const refused = anthropic ? refuseAnthropic(body) : refuseOpenAi(body);
    if (refused) return reply(400, refused);

    const n = (seen.get(req.body) ?? 0) + 1;
    seen.set(req.body, n);
    const rand = stream(o.seed, req.body, String(n));
    const latencyMs = Math.round(latency(o, rand()));
    const system = anthropic ? (body.system ?? []).map((b) => b.text).join('') : body.messages.find((m) => m.role === 'system')?.content ?? '';
    const rest = JSON.stringify(body.messages.filter((m) => m.role !== 'system'));
    const prompt = tokens(system) + tokens(rest) + 8;
    const maxOut = anthropic ? body.max_tokens : body.max_completion_tokens ?? body.max_tokens ?? 4096;

    const b = bucket(key, now);
    const limitHeaders = () => anthropic ? {
      'anthropic-ratelimit-requests-limit': String(o.rpm), 'anthropic-ratelimit-requests-remaining': String(Math.floor(b.requests)),
      'anthropic-ratelimit-requests-reset': new Date(now + 60_000 * (1 - b.requests / o.rpm)).toISOString(),
      'anthropic-ratelimit-input-tokens-limit': String(o.tpm), 'anthropic-ratelimit-input-tokens-remaining': String(Math.floor(b.tokens)),
      'anthropic-ratelimit-input-tokens-reset': new Date(now + 60_000 * (1 - b.tokens / o.tpm)).toISOString(),
    } : {
      'x-ratelimit-limit-requests': String(o.rpm), 'x-ratelimit-remaining-requests': String(Math.floor(b.requests)),
      'x-ratelimit-reset-requests': `${Math.ceil(60_000 * (1 - b.requests / o.rpm))}ms`,
      'x-ratelimit-limit-tokens': String(o.tpm), 'x-ratelimit-remaining-tokens': String(Math.floor(b.tokens)),
      'x-ratelimit-reset-tokens': `${Math.ceil(60_000 * (1 - b.tokens / o.tpm))}ms`,
    };
    // Injected faults first, then the real limits (a batch has its own pool: neither applies).
    const draw = rand(); // drawn either way, so a batch line gets the answer a realtime call gets
    const fault = inBatch ? 1 : draw;
    let edge = 0;
    const hit = (rate) => { edge += rate; return fault < edge; };
    if (hit(o.timeout)) { stats.faults += 1; return { networkError: true, latencyMs: 60_000 }; }
    if (hit(o.reset)) { stats.faults += 1; return { networkError: true, latencyMs }; }
    if (hit(o.rate500)) { stats.faults += 1; return reply(500, serverError(anthropic, 'api_error', 'The server had an error while processing your request.'), {}, latencyMs); }
    if (hit(o.rate503)) { stats.faults += 1; return reply(503, serverError(anthropic, 'api_error', 'The engine is currently overloaded, please try again later.'), {}, latencyMs); }
    if (hit(o.rate529)) { stats.faults += 1; return reply(529, serverError(anthropic, 'overloaded_error', 'Overloaded'), {}, latencyMs); }
    const limited = !inBatch && (b.requests < 1 || b.tokens < prompt + maxOut);
    if (hit(o.rate429) || limited) {
      if (!limited) stats.faults += 1;
      const wait = Math.max(1, Math.ceil(60_000 * (1 - Math.min(b.requests, 1))) || 1000);
      return reply(429, anthropic
        ? { type: 'error', error: { type: 'rate_limit_error', message: 'This request would exceed your rate limit.' } }
        : { error: { message: 'Rate limit reached for requests.', type: 'requests', code: 'rate_limit_exceeded' } },
      { ...limitHeaders(), ...headers429(o.style429, anthropic, wait, now) }, 20);
    }
    if (!inBatch) b.requests -= 1;
    if (!inBatch) { b.tokens -= prompt + maxOut; stats.chargedTokens += prompt + maxOut; }

    // The answer.
    const schema = anthropic ? body.output_config?.format?.schema : body.response_format?.json_schema?.schema;
    const example = exampleOutput(system);
    let answer = example !== undefined ? vary(example, rand) : generate(schema ?? { type: 'object' }, rand, 0);
    if (rand() < o.outOfRange) answer = outOfRange(answer);
    if (rand() < o.slips) answer = slip(answer, rand);
    let text = JSON.stringify(answer);
    let finish = 'stop';
    let refusal = null;
    const q = rand();
    edge = 0;
    const quality = (rate) => { edge += rate; return q < edge; };
    if (quality(o.refusal)) { refusal = "I'm sorry, but I can't help with that request."; text = anthropic ? refusal : null; finish = 'refusal'; }
    else if (quality(o.truncation)) { text = text.slice(0, Math.max(1, Math.floor(text.length / 3))); finish = 'length'; }
    else if (quality(o.malformed)) text = text.replace(/"(\w+)":/, '$1:').replace(/}$/, '');
    else if (quality(o.fenced)) text = '```json\n' + JSON.stringify(answer, null, 2) + '\n```';
    const out = Math.min(maxOut, tokens(text ?? refusal));

    // Caching: a repeated prefix at or over the model's minimum is served from the cache.
    let cached = 0;
    let written = 0;
    const prefixTokens = tokens(system);
    const cacheKey = `${body.model}\u0000${system}`;
    if (prefixTokens >= cacheMinTokens(body.model, anthropic) && (!anthropic || body.system?.some((s) => s.cache_control))) {
      if (prefixes.has(cacheKey)) cached = anthropic ? prefixTokens : Math.floor(prefixTokens / 128) * 128;
      else { prefixes.add(cacheKey); written = anthropic ? prefixTokens : 0; }
    }
    stats.answers += 1;
    const usd = charge(body.model, { input: prompt - cached - written, cached, written, output: out }, inBatch);
    stats.billUsd += usd;
    stats.bill[key] = (stats.bill[key] ?? 0) + usd;
    stats.promptTokens += prompt;
    stats.cachedTokens += cached;
    stats.outputTokens += out;
    if (anthropic) {
      return reply(200, {
        id: `msg_${hash(req.body, String(n)).toString('hex').slice(0, 24)}`, type: 'message', role: 'assistant', model: body.model,
        content: [{ type: 'text', text }],
        stop_reason: finish === 'length' ? 'max_tokens' : finish === 'refusal' ? 'refusal' : 'end_turn', stop_sequence: null,
        usage: { input_tokens: prompt - cached - written, cache_creation_input_tokens: written, cache_read_input_tokens: cached, output_tokens: out },
      }, limitHeaders(), latencyMs);
    }
    return reply(200, {
      id: `chatcmpl-${hash(req.body, String(n)).toString('hex').slice(0, 24)}`, object: 'chat.completion', created: Math.floor(now / 1000), model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: finish === 'refusal' ? null : text, refusal, annotations: [] }, logprobs: null, finish_reason: finish === 'refusal' ? 'stop' : finish }],
      usage: { prompt_tokens: prompt, completion_tokens: out, total_tokens: prompt + out, prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 } },
      system_fingerprint: 'fp_fake',
    }, { ...limitHeaders(), 'x-request-id': `req_${n}` }, latencyMs);
  }

  const batches = createBatches(o, stats, handle);
  return { handle, stats, options: o, batches };
}

/** Malformed requests (the field-by-field checks are in strict.mjs). */
function check(body, anthropic) {
  if (typeof body.model !== 'string' || !Array.isArray(body.messages) || body.messages.length === 0) return 'model and messages are required';
  if (anthropic) {
    if (!Number.isInteger(body.max_tokens)) return 'max_tokens: Field required';
    if (body.messages.some((m) => m.role === 'system')) return 'messages: Unexpected role "system". Use the top-level system parameter.';
  } else if (body.messages.some((m) => 'cache_control' in m)) {
    return "Unrecognized request argument supplied: cache_control";
  }
  if (body.messages.some((m) => !['user', 'assistant', 'system', 'developer', 'tool'].includes(m.role))) return `Invalid value for 'messages.role'.`;
  return null;
}

function serverError(anthropic, type, message) {
  return anthropic ? { type: 'error', error: { type, message } } : { error: { message, type: 'server_error', code: null } };
}

function headers429(style, anthropic, waitMs, now) {
  if (anthropic || style === 'anthropic') {
    return { 'retry-after': String(Math.ceil(waitMs / 1000)), 'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': new Date(now + waitMs).toISOString() };
  }
  if (style === 'retry-after-ms') return { 'retry-after-ms': String(waitMs), 'x-ratelimit-remaining-requests': '0' };
  if (style === 'reset') return { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': `${Math.floor(waitMs / 1000)}s${waitMs % 1000}ms` };
  return { 'retry-after': String(Math.ceil(waitMs / 1000)), 'x-ratelimit-remaining-requests': '0' };
}

function latency(o, u) {
  // Log-normal from the median and the 95th percentile (z = 1.645).
  const sigma = Math.log(o.latencyP95Ms / o.latencyMedianMs) / 1.645;
  const z = Math.sqrt(-2 * Math.log(Math.max(u, 1e-9))) * Math.cos(2 * Math.PI * ((u * 7919) % 1));
  return Math.min(60_000, o.latencyMedianMs * Math.exp(sigma * z));
}

/** The first example answer in the prompt ("Output: {...}"), if there is one. */
function exampleOutput(system) {
  const at = system.indexOf('\nOutput: ');
  if (at < 0) return undefined;
  const rest = system.slice(at + 9);
  for (let end = rest.indexOf('\n') < 0 ? rest.length : rest.indexOf('\n'); end <= rest.length; end = rest.indexOf('\n', end + 1) < 0 ? rest.length + 1 : rest.indexOf('\n', end + 1)) {
    try { return JSON.parse(rest.slice(0, end)); } catch { if (end >= rest.length) break; }
  }
  return undefined;
}

/**
 * The example, varied per row: whole numbers move by up to ±8 %, decimals by ±2 %, and a value
 * between 0 and 100 (a percentage) stays there.
 */
function vary(v, rand) {
  if (Array.isArray(v)) return v.map((x) => vary(x, rand));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, vary(x, rand)]));
  if (typeof v === 'number' && v !== 0) {
    const spread = Number.isInteger(v) ? 0.16 : 0.04;
    let x = v * (1 + (rand() - 0.5) * spread);
    if (v > 0 && v <= 100) x = Math.min(100, x);
    return Number.isInteger(v) ? Math.round(x) : Math.round(x * 10) / 10;
  }
  if (typeof v === 'string') {
    // "146/88"-style pairs move together, keeping the first above the second.
    const m = /^(\d+)\/(\d+)$/.exec(v);
    if (m) { const f = 1 + (rand() - 0.5) * 0.16; return `${Math.round(m[1] * f)}/${Math.round(m[2] * f)}`; }
  }
  return v;
}

/** One slip in a clinical answer: initialVitals without Temp, or a state's HR of 999. */
function slip(answer, rand) {
  const a = structuredClone(answer);
  if (!a?.initialVitals) return a;
  const states = Array.isArray(a.states) ? a.states.filter((s) => s?.vitals) : [];
  if (rand() < 0.5 || states.length === 0) delete a.initialVitals.Temp;
  else states[Math.floor(rand() * states.length)].vitals.HR = 999;
  return a;
}

/**
 * An answer with a number far out of range: EtCO2 in a clinical answer (the clinical pack has
 * a default for HR, BP, SpO2, RR and Temp, which would quietly fix them; EtCO2 it leaves to the
 * model), else the first whole number.
 */
function outOfRange(answer) {
  const s = JSON.stringify(answer);
  const bump = (_, key, n, end) => `${key}${Number(n) * 10 + 500}${end}`;
  if (/"EtCO2":\d+/.test(s)) return JSON.parse(s.replace(/("EtCO2":)(\d+)([,}])/, bump));
  return JSON.parse(s.replace(/(:)(\d+)([,}])/, bump));
}

/** A value for a JSON schema (the strict subset rowbatch sends). */
export function generate(s, rand, depth) {
  if (s.$ref && s.$defs) return generate(s, rand, depth);
  if (s.anyOf) return generate(s.anyOf[0], rand, depth);
  if (s.enum) return s.enum[Math.floor(rand() * s.enum.length)];
  if (s.const !== undefined) return s.const;
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') ?? 'null' : s.type;
  switch (type) {
    case 'object': return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, p]) => [k, generate(p, rand, depth + 1)]));
    case 'array': {
      const n = Math.max(s.minItems ?? 1, Math.min(s.maxItems ?? 3, 2));
      return Array.from({ length: depth > 4 ? 0 : n }, () => generate(s.items ?? {}, rand, depth + 1));
    }
    case 'integer': return Math.floor((s.minimum ?? 0) + rand() * Math.min(100, (s.maximum ?? 100) - (s.minimum ?? 0)));
    case 'number': return Math.round(((s.minimum ?? 0) + rand() * Math.min(100, (s.maximum ?? 100) - (s.minimum ?? 0))) * 10) / 10;
    case 'boolean': return rand() < 0.5;
    case 'null': return null;
    default: return `text ${Math.floor(rand() * 1000)}`.padEnd(s.minLength ?? 0, '.').slice(0, s.maxLength ?? 200);
  }
}
