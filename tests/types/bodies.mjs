#!/usr/bin/env node
// Request bodies against the providers' published API types: every golden body in
// tests/vectors/provider.json is written into a TypeScript file as an object literal typed with
// the official SDK's request type (`openai`, `@anthropic-ai/sdk`), and tsc checks it. Object
// literals get excess-property checks, so a field the API does not define fails the build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const vectors = JSON.parse(fs.readFileSync(path.join(root, 'tests', 'vectors', 'provider.json'), 'utf8'));
const types = {
  'bearer': 'ChatCompletionCreateParamsNonStreaming',
  'x-api-key': 'MessageCreateParamsNonStreaming',
};
const lines = [
  "import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';",
  "import type { MessageCreateParamsNonStreaming } from '@anthropic-ai/sdk/resources/messages';",
  '',
  '// The check has teeth: the seed notes sent cache_control to OpenAI.',
  '// @ts-expect-error OpenAI messages have no cache_control',
  "export const seedMistake: ChatCompletionCreateParamsNonStreaming = { model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'x', cache_control: { type: 'ephemeral' } }] };",
];
let n = 0;
for (const c of vectors.cases.filter((c) => c.fn === 'buildRequests' && c.output)) {
  const type = types[c.output.endpoint.auth];
  for (const r of c.output.requests) {
    lines.push(`// ${c.name}: ${r.key}`, `export const body${n} = ${r.body} satisfies ${type};`);
    n += 1;
  }
}
if (n < 3) throw new Error(`only ${n} request bodies in the vectors`);
const dir = path.join(root, 'out', 'types');
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'bodies.ts'), lines.join('\n') + '\n');
fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
  compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: true },
  files: ['bodies.ts'],
}, null, 2));
const tsc = spawnSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(dir, 'tsconfig.json')], { stdio: 'inherit' });
console.log(`${n} request bodies checked against the OpenAI and Anthropic SDK types`);
process.exit(tsc.status ?? 1);
