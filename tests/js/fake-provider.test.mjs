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

test('the anthropic client: a structured answer; the cache is written, then read', { skip }, async () => {
  const client = new Anthropic({ baseURL: fake.url, apiKey: 'sk-ant-test', maxRetries: 0 });
  const ask = () => client.messages.create({
    model: 'claude-haiku-4-5', max_tokens: 100,
    system: [{ type: 'text', text: 'You answer with facts. '.repeat(300), cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: 'Paris?' }],
    output_config: { format: { type: 'json_schema', schema } },
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
