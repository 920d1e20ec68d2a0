// The fake provider speaks the real wire formats: the official `openai` and `@anthropic-ai/sdk`
// clients talk to it, and rowbatch's own request bodies get answers rowbatch can use.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeProvider } from '../../fake-provider/server.mjs';

const skip = (process.env.ROWBATCH_HOST || 'node') !== 'node' && 'runs once, with the Node host';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const spec = (name) => JSON.parse(fs.readFileSync(path.join(root, 'examples', name, 'job.json'), 'utf8'));
let fake;

before(async () => {
  if (!skip) fake = await startFakeProvider({ realLatency: false });
});
after(async () => fake?.close());

const schema = { type: 'object', properties: { city: { type: 'string' }, population: { type: 'integer', minimum: 0 } }, required: ['city', 'population'], additionalProperties: false };

test('the openai client: a structured answer, usage, and cached tokens once a long prefix repeats', { skip }, async () => {
  const client = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  const system = 'You answer with facts. '.repeat(300);
  const ask = () => client.chat.completions.create({
    model: 'gpt-4o-mini', max_completion_tokens: 100,
    messages: [{ role: 'system', content: system }, { role: 'user', content: 'Paris?' }],
    response_format: { type: 'json_schema', json_schema: { name: 'city', strict: true, schema } },
  });
  const first = await ask();
  const answer = JSON.parse(first.choices[0].message.content);
  assert.equal(typeof answer.city, 'string');
  assert.ok(Number.isInteger(answer.population) && answer.population >= 0);
  assert.equal(first.choices[0].finish_reason, 'stop');
  assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
  const second = await ask();
  assert.ok(second.usage.prompt_tokens_details.cached_tokens >= 1024, JSON.stringify(second.usage));
});

// Anthropic refuses numeric constraints: the same schema without `minimum`.
const anthropicSchema = { ...schema, properties: { ...schema.properties, population: { type: 'integer' } } };

test('the anthropic client: a structured answer; the cache is written, then read', { skip }, async () => {
  const client = new Anthropic({ baseURL: fake.url, apiKey: 'sk-ant-test', maxRetries: 0 });
  // Haiku 4.5 caches prefixes of 4,096 tokens or more: ~4,600 here.
  const ask = () => client.messages.create({
    model: 'claude-haiku-4-5', max_tokens: 100,
    system: [{ type: 'text', text: 'You answer with facts. '.repeat(800), cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: 'Paris?' }],
    output_config: { format: { type: 'json_schema', schema: anthropicSchema } },
  });
  const first = await ask();
  assert.equal(first.stop_reason, 'end_turn');
  assert.equal(typeof JSON.parse(first.content[0].text).city, 'string');
  assert.ok(first.usage.cache_creation_input_tokens > 0);
  const second = await ask();
  assert.equal(second.usage.cache_creation_input_tokens, 0);
  assert.ok(second.usage.cache_read_input_tokens > 0);
});

test('errors the clients know: a bad key, no credit, a rate limit with its headers, cache_control sent to OpenAI', { skip }, async () => {
  const openai = (apiKey) => new OpenAI({ baseURL: `${fake.url}/v1`, apiKey, maxRetries: 0 });
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
  await assert.rejects(openai('invalid').chat.completions.create(body), (e) => e instanceof OpenAI.AuthenticationError);
  await assert.rejects(openai('no-credit').chat.completions.create(body), (e) => e.status === 429 && e.code === 'insufficient_quota');
  await assert.rejects(openai('sk').chat.completions.create({ ...body, messages: [{ role: 'system', content: 'x', cache_control: { type: 'ephemeral' } }] }),
    (e) => e instanceof OpenAI.BadRequestError && /cache_control/.test(e.message));
  const limited = await startFakeProvider({ realLatency: false, rate429: 1, style429: 'retry-after-ms' });
  try {
    const c = new OpenAI({ baseURL: `${limited.url}/v1`, apiKey: 'sk', maxRetries: 0 });
    await assert.rejects(c.chat.completions.create(body), (e) => e instanceof OpenAI.RateLimitError
      && Number(e.headers.get('retry-after-ms')) > 0 && e.headers.get('x-ratelimit-remaining-requests') === '0');
    const a = new Anthropic({ baseURL: limited.url, apiKey: 'k', maxRetries: 0 });
    await assert.rejects(a.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      (e) => e instanceof Anthropic.RateLimitError && /T/.test(e.headers.get('anthropic-ratelimit-requests-reset')));
  } finally {
    await limited.close();
  }
});

test('rowbatch\'s own requests get answers that pass its validation, for both providers', { skip }, async () => {
  const rb = createRequire(import.meta.url)(path.join(root, 'wasm', 'pkg', 'nodejs', 'rowbatch.js'));
  const cases = [
    [spec('clinical'), ['Case_ID', 'Title', 'Age', 'Presentation'], ['SIM-001', 'Chest pain', 54, 'Crushing chest pain for an hour']],
    [spec('brands'), ['Brand', 'Website', 'Parent_Company'], ['Nike', 'https://www.nike.com', 'Nike Inc.']],
  ];
  for (const [s, header, row] of cases) {
    s.provider.baseUrl = s.provider.kind === 'openai' ? `${fake.url}/v1` : `${fake.url}/v1`;
    const built = rb.buildRequests({ spec: s, header, items: [{ key: 'k', signature: 'sig', row }] });
    const headers = Object.fromEntries(built.endpoint.headers);
    headers[built.endpoint.auth === 'bearer' ? 'authorization' : 'x-api-key'] = built.endpoint.auth === 'bearer' ? 'Bearer sk' : 'sk';
    const res = await fetch(built.endpoint.url, { method: 'POST', headers, body: built.requests[0].body });
    const ingested = rb.ingest({
      spec: s, now: Date.now(), seed: 's', sent: [{ key: 'k', signature: 'sig' }],
      responses: [{ status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() }],
    });
    assert.equal(ingested.results[0].status, 'done', `${s.provider.kind}: ${ingested.results[0].note}`);
  }
});

test('caching minimums are per model: a 1,700-token prefix is cached by Sonnet 4.5 and gpt-4o-mini, not by Haiku 4.5', { skip }, async () => {
  const client = new Anthropic({ baseURL: fake.url, apiKey: 'sk-ant-min', maxRetries: 0 });
  const text = 'Short instructions, repeated. '.repeat(230); // ~1,700 tokens
  const usage = async (model) => {
    const ask = () => client.messages.create({ model, max_tokens: 50, system: [{ type: 'text', text, cache_control: { type: 'ephemeral' } }], messages: [{ role: 'user', content: 'hi' }] });
    await ask();
    return (await ask()).usage;
  };
  assert.equal((await usage('claude-haiku-4-5')).cache_read_input_tokens, 0);
  assert.ok((await usage('claude-sonnet-4-5')).cache_read_input_tokens > 1024);
  assert.equal((await usage('claude-sonnet-4-6')).cache_read_input_tokens, 0, 'Sonnet 4.6 caches from 2,048 in practice');
});

/** The 400 a request gets, through the official client. */
async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.status, 400, String(e));
    return e.error?.error?.message ?? e.error?.message ?? e.message;
  }
  assert.fail('the request was accepted');
}

test('OpenAI strict mode: keywords outside the subset, open objects, optional properties, depth and size are 400s with OpenAI\'s words', { skip }, async () => {
  const client = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'sk-strict', maxRetries: 0 });
  const ask = (s, extra = {}) => refusal(client.chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }],
    response_format: { type: 'json_schema', json_schema: { name: 'row_output', strict: true, schema: s } }, ...extra,
  }));
  const withCity = (city) => ({ ...schema, properties: { ...schema.properties, city } });
  assert.equal(await ask(withCity({ type: 'string', minLength: 1 })),
    "Invalid schema for response_format 'row_output': In context=('properties', 'city'), 'minLength' is not permitted.");
  assert.match(await ask(withCity({ type: 'string', default: 'x' })), /'default' is not permitted/);
  assert.match(await ask({ ...schema, allOf: [] }), /In context=\(\), 'allOf' is not permitted/);
  assert.equal(await ask({ ...schema, additionalProperties: undefined }),
    "Invalid schema for response_format 'row_output': In context=(), 'additionalProperties' is required to be supplied and to be false.");
  assert.match(await ask({ ...schema, required: ['city'] }), /'required' is required to be supplied and to be an array including every key in properties\. Missing 'population'\./);
  assert.match(await ask({ type: 'array', items: { type: 'string' } }), /schema must be a JSON Schema of 'type: "object"'/);
  let deep = { type: 'object', properties: { leaf: { type: 'string' } }, required: ['leaf'], additionalProperties: false };
  for (let i = 0; i < 10; i += 1) deep = { type: 'object', properties: { next: deep }, required: ['next'], additionalProperties: false };
  assert.match(await ask(deep), /nesting depth of 10/);
  const many = Array.from({ length: 1001 }, (_, i) => `v${i}`);
  assert.match(await ask(withCity({ type: 'string', enum: many })), /at most 1000 enum values in total/);
  assert.equal(await refusal(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], cache_control: { type: 'ephemeral' } })),
    'Unrecognized request argument supplied: cache_control');
  // What the subset allows is answered.
  const ok = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }],
    response_format: { type: 'json_schema', json_schema: { name: 'row_output', strict: true, schema: withCity({ type: 'string', pattern: '^[A-Z]', format: 'email' }) } } });
  assert.equal(ok.choices[0].finish_reason, 'stop');
});

test('Anthropic structured outputs: numeric and length constraints, minItems over 1, open objects, unknown fields and old models are 400s', { skip }, async () => {
  const client = new Anthropic({ baseURL: fake.url, apiKey: 'sk-ant-strict', maxRetries: 0 });
  const ask = (s, extra = {}) => refusal(client.messages.create({
    model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }],
    output_config: { format: { type: 'json_schema', schema: s } }, ...extra,
  }));
  const withPop = (population) => ({ ...anthropicSchema, properties: { ...anthropicSchema.properties, population } });
  assert.equal(await ask(schema), "output_config.format.schema: For 'integer' type, property 'minimum' is not supported");
  assert.equal(await ask(withPop({ type: 'string', maxLength: 3 })), "output_config.format.schema: For 'string' type, property 'maxLength' is not supported");
  assert.equal(await ask(withPop({ type: 'array', items: { type: 'string' }, maxItems: 3 })), "output_config.format.schema: For 'array' type, property 'maxItems' is not supported");
  assert.match(await ask(withPop({ type: 'array', items: { type: 'string' }, minItems: 2 })), /'minItems' values other than 0 or 1 are not supported/);
  assert.match(await ask({ ...anthropicSchema, additionalProperties: undefined }), /'additionalProperties' must be explicitly set to false/);
  assert.match(await ask(withPop({ $ref: '#' })), /Recursive schemas are not supported/);
  assert.equal(await ask(anthropicSchema, { temperature: 0.2 }), 'temperature: Extra inputs are not permitted');
  assert.match(await ask(anthropicSchema, { model: 'claude-sonnet-4-20250514' }), /structured outputs are not supported by the model 'claude-sonnet-4-20250514'/);
  const ok = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }],
    output_config: { format: { type: 'json_schema', schema: withPop({ type: 'array', items: { type: 'string', format: 'uri' }, minItems: 1 }) } } });
  assert.equal(ok.stop_reason, 'end_turn');
});

test('the request fields each endpoint accepts are the ones the official SDKs declare', { skip }, async () => {
  const { OPENAI_FIELDS, ANTHROPIC_FIELDS } = await import('../../fake-provider/strict.mjs');
  const fields = (file, iface) => {
    const text = fs.readFileSync(path.join(root, 'node_modules', file), 'utf8');
    const body = text.slice(text.indexOf(`export interface ${iface} {`));
    return [...body.slice(0, body.indexOf('\n}')).matchAll(/^ {4}([a-z_]+)\??:/gm)].map((m) => m[1]).sort();
  };
  assert.deepEqual([...OPENAI_FIELDS].sort(), fields('openai/resources/chat/completions/completions.d.ts', 'ChatCompletionCreateParamsBase'));
  assert.deepEqual([...ANTHROPIC_FIELDS].sort(), fields('@anthropic-ai/sdk/resources/messages/messages.d.ts', 'MessageCreateParamsBase'));
});

test('both example jobs, sent to either provider, use only what that provider accepts', { skip }, async () => {
  const rb = createRequire(import.meta.url)(path.join(root, 'wasm', 'pkg', 'nodejs', 'rowbatch.js'));
  const providers = [
    { kind: 'openai', model: 'gpt-4o-mini', maxOutputTokens: 900, temperature: 0.2 },
    { kind: 'anthropic', model: 'claude-haiku-4-5', maxOutputTokens: 900, temperature: 0.2 },
    { kind: 'anthropic', model: 'claude-sonnet-4-20250514', maxOutputTokens: 900 },
  ];
  for (const name of ['clinical', 'brands']) {
    for (const p of providers) {
      const s = { ...spec(name), provider: { ...p, baseUrl: `${fake.url}/v1` } };
      delete s.budget; // Sonnet 4 has no price in the table
      const header = Object.keys(s.input.schema.properties);
      const built = rb.buildRequests({ spec: s, header, items: [{ key: 'k', signature: 'sig', row: header.map(() => 'SIM-001') }] });
      const headers = Object.fromEntries(built.endpoint.headers);
      headers[built.endpoint.auth === 'bearer' ? 'authorization' : 'x-api-key'] = built.endpoint.auth === 'bearer' ? 'Bearer sk' : 'sk';
      const res = await fetch(built.endpoint.url, { method: 'POST', headers, body: built.requests[0].body });
      assert.equal(res.status, 200, `${name} → ${p.model}: ${await res.text()}`);
    }
  }
});

test('the fake provider keeps the bill: what it charged per key, from its own usage and the price table, half for batch lines', { skip }, async () => {
  const { createFakeProvider } = await import('../../fake-provider/provider.mjs');
  const p = createFakeProvider({ invalidKeys: [] });
  const body = JSON.stringify({ model: 'gpt-4o-mini', max_completion_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] });
  const r = await p.handle({ method: 'POST', url: 'http://x/v1/chat/completions', headers: { authorization: 'Bearer k1' }, body });
  const u = JSON.parse(r.body).usage;
  const want = (u.prompt_tokens * 0.15 + u.completion_tokens * 0.6) / 1e6;
  assert.ok(Math.abs(p.stats.bill.k1 - want) < 1e-12, `${p.stats.bill.k1} vs ${want}`);
  // A refused request costs nothing; an unknown model has no price.
  await p.handle({ method: 'POST', url: 'http://x/v1/chat/completions', headers: { authorization: 'Bearer k1' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], cache_control: {} }) });
  assert.ok(Math.abs(p.stats.billUsd - want) < 1e-12);
  const inBatch = await p.handle({ method: 'POST', url: 'http://x/v1/chat/completions', headers: { authorization: 'Bearer batch' }, body }, Date.now(), true);
  const b = JSON.parse(inBatch.body).usage;
  assert.ok(Math.abs(p.stats.bill.batch - (b.prompt_tokens * 0.15 + b.completion_tokens * 0.6) / 2e6) < 1e-12);
});

test('the model lookup and the header Anthropic requires: each provider\'s own answers', { skip }, async () => {
  const get = async (p, headers) => {
    const r = await fetch(`${fake.url}${p}`, { headers });
    return { status: r.status, body: await r.json() };
  };
  const openai = await get('/v1/models/gpt-4o-mini-2024-07-18', { authorization: 'Bearer sk-test' });
  assert.deepEqual([openai.status, openai.body.object], [200, 'model']);
  const unknown = await get('/v1/models/gpt-4o-mini-imaginary', { authorization: 'Bearer sk-test' });
  assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'model_not_found']);
  const anthropic = await get('/v1/models/claude-haiku-4-5', { 'x-api-key': 'sk-ant', 'anthropic-version': '2023-06-01' });
  assert.deepEqual([anthropic.status, anthropic.body.type], [200, 'model']);
  const noVersion = await get('/v1/models/claude-haiku-4-5', { 'x-api-key': 'sk-ant' });
  assert.deepEqual([noVersion.status, noVersion.body.error.message], [400, 'anthropic-version: header is required']);
  const post = await fetch(`${fake.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'sk-ant', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }) });
  assert.equal(post.status, 400);
  assert.equal((await post.json()).error.message, 'anthropic-version: header is required');
});

test('the rate limit grants no more when requests arrive out of time order (executions on their own clocks)', { skip }, async () => {
  const { createFakeProvider } = await import('../../fake-provider/provider.mjs');
  // Two requests a minute: the bucket starts full and refills one every 30 s.
  const p = createFakeProvider({ invalidKeys: [], rpm: 2, rate429: 0, rate500: 0 });
  const body = JSON.stringify({ model: 'gpt-4o-mini', max_completion_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] });
  const at = (s) => p.handle({ method: 'POST', url: 'http://x/v1/chat/completions', headers: { authorization: 'Bearer k1' }, body }, 1_800_000_000_000 + s * 1000);
  const statuses = [];
  // In time order but one: a request stamped 10 s arrives after one stamped 30 s. The 20 s
  // between them were refilled once; they must not be refilled again for the request at 40 s.
  for (const s of [0, 0, 30, 10, 40]) statuses.push((await at(s)).status);
  assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
});
