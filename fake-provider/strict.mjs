// What the real APIs refuse before they answer: request fields they do not define, and output
// schemas outside each provider's strict structured-output subset, with the provider's own 400
// body. Every rule names its source; where the exact wording is not published, the message
// keeps the provider's documented shape and says so.

/**
 * Chat Completions request fields: `ChatCompletionCreateParamsBase` in the `openai` SDK 7.57
 * (resources/chat/completions/completions.d.ts); tests/js/fake-provider.test.mjs checks this
 * list against the installed SDK. OpenAI answers another field with "Unrecognized request
 * argument supplied: X" (the error the seed notes' `cache_control` got).
 */
export const OPENAI_FIELDS = ['messages', 'model', 'audio', 'frequency_penalty', 'function_call', 'functions',
  'logit_bias', 'logprobs', 'max_completion_tokens', 'max_tokens', 'metadata', 'modalities', 'moderation', 'n',
  'parallel_tool_calls', 'prediction', 'presence_penalty', 'prompt_cache_key', 'prompt_cache_options',
  'prompt_cache_retention', 'reasoning_effort', 'response_format', 'safety_identifier', 'seed', 'service_tier',
  'stop', 'store', 'stream', 'stream_options', 'temperature', 'tool_choice', 'tools', 'top_logprobs', 'top_p',
  'user', 'verbosity', 'web_search_options'];

/**
 * Messages request fields: `MessageCreateParamsBase` in `@anthropic-ai/sdk` 1.12 (resources/
 * messages/messages.d.ts; checked against the installed SDK by the same test). It has no
 * `temperature`, `top_p` or `top_k` any more. Anthropic answers another field with
 * "X: Extra inputs are not permitted" (its pydantic validation).
 */
export const ANTHROPIC_FIELDS = ['max_tokens', 'messages', 'model', 'cache_control', 'container', 'diagnostics',
  'inference_geo', 'metadata', 'output_config', 'service_tier', 'speed', 'stop_sequences', 'stream', 'system',
  'thinking', 'tool_choice', 'tools', 'user_profile_id', 'workspace_id'];

/**
 * OpenAI strict mode (docs, "Structured Outputs → Supported schemas"): these keywords and no
 * others; objects closed and fully required; root an object, not `anyOf`; at most 5,000
 * properties, 10 levels of nesting, 1,000 enum values and 120,000 characters of names, enum and
 * const values. `minLength`/`maxLength`, `default`, `allOf`, `not`, `if`… are "not permitted".
 */
const OPENAI_KEYWORDS = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const',
  'anyOf', '$ref', '$defs', 'definitions', 'description', 'title', 'pattern', 'format', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minItems', 'maxItems']);
const OPENAI_FORMATS = new Set(['date-time', 'time', 'date', 'duration', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid']);
export const OPENAI_LIMITS = { properties: 5000, depth: 10, enumValues: 1000, chars: 120_000 };

/**
 * Anthropic structured outputs (docs, "Structured outputs → JSON Schema limitations"): no
 * numeric constraints, no string lengths, `minItems` 0 or 1 only, no `maxItems`, every object
 * `additionalProperties: false`, enums of primitives, simple regular expressions, no recursion.
 * The message form is a reported 400: "output_format.schema: For 'integer' type, property
 * 'minimum' is not supported" (agentjido/req_llm#302), under today's `output_config.format`.
 */
const ANTHROPIC_KEYWORDS = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const',
  'anyOf', 'allOf', '$ref', '$defs', 'definitions', 'description', 'title', 'pattern', 'format', 'minItems']);
const ANTHROPIC_FORMATS = new Set(['date-time', 'time', 'date', 'duration', 'email', 'hostname', 'uri', 'ipv4', 'ipv6', 'uuid']);
/** Models with structured outputs (the same page); others refuse `output_config.format`. */
const ANTHROPIC_STRUCTURED = [/^claude-opus-4-[5-9]/, /^claude-sonnet-4-[5-9]/, /^claude-haiku-4-[5-9]/, /^claude-(opus|sonnet|haiku)-[5-9]/];

/**
 * The shortest prefix each provider caches (OpenAI: 1,024 tokens for every model; Anthropic's
 * prompt-caching page per model, with Sonnet 4.6 at the 2,048 it caches from in practice,
 * anthropic-sdk-python#1194). A model not listed gets the largest minimum.
 */
export function cacheMinTokens(model, anthropic) {
  if (!anthropic) return 1024;
  const table = [[/^claude-(opus-4-[56]|haiku-4-5)/, 4096], [/^claude-sonnet-4-6/, 2048], [/^claude-haiku-3/, 2048],
    [/^claude-(sonnet-4|opus-4|sonnet-3-7)/, 1024]];
  return table.find(([re]) => re.test(model))?.[1] ?? 4096;
}

function openaiError(message, param = null) {
  return { error: { message, type: 'invalid_request_error', param, code: null } };
}

function anthropicError(message) {
  return { type: 'error', error: { type: 'invalid_request_error', message } };
}

/** A Python tuple, as OpenAI's schema errors print the context. */
function context(path) {
  if (path.length === 0) return '()';
  return `(${path.map((p) => `'${p}'`).join(', ')}${path.length === 1 ? ',' : ''})`;
}

/** The 400 body OpenAI gives this Chat Completions request, or null. */
export function refuseOpenAi(body) {
  const unknown = Object.keys(body).find((k) => !OPENAI_FIELDS.includes(k));
  if (unknown) return openaiError(`Unrecognized request argument supplied: ${unknown}`);
  const rf = body.response_format;
  if (rf === undefined || rf.type !== 'json_schema') return null;
  const js = rf.json_schema ?? {};
  if (typeof js.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(js.name)) {
    return openaiError("Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.", 'response_format.json_schema.name');
  }
  if (js.strict !== true) return null;
  const problem = openaiSchemaProblem(js.schema);
  return problem ? openaiError(`Invalid schema for response_format '${js.name}': ${problem}`, 'response_format') : null;
}

function openaiSchemaProblem(root) {
  if (!root || typeof root !== 'object' || root.type !== 'object' || root.anyOf) {
    return `schema must be a JSON Schema of 'type: "object"', got 'type: "${root?.type ?? (root?.anyOf ? 'anyOf' : 'None')}"'.`;
  }
  const totals = { properties: 0, enumValues: 0, chars: 0 };
  const walk = (s, path, depth) => {
    if (typeof s !== 'object' || s === null) return null;
    for (const k of Object.keys(s)) {
      if (!OPENAI_KEYWORDS.has(k)) return `In context=${context(path)}, '${k}' is not permitted.`;
    }
    if (s.format !== undefined && !OPENAI_FORMATS.has(s.format)) {
      return `In context=${context(path)}, '${s.format}' is not a valid format.`; // wording unconfirmed
    }
    const isObject = s.type === 'object' || (Array.isArray(s.type) && s.type.includes('object')) || s.properties;
    if (isObject) {
      if (depth > OPENAI_LIMITS.depth) return `In context=${context(path)}, the schema exceeds the maximum nesting depth of ${OPENAI_LIMITS.depth} levels.`; // wording unconfirmed
      if (s.additionalProperties !== false) return `In context=${context(path)}, 'additionalProperties' is required to be supplied and to be false.`;
      const names = Object.keys(s.properties ?? {});
      const missing = names.filter((n) => !(s.required ?? []).includes(n));
      if (missing.length) return `In context=${context(path)}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`;
      totals.properties += names.length;
      totals.chars += names.join('').length;
    }
    if (Array.isArray(s.enum)) {
      totals.enumValues += s.enum.length;
      totals.chars += s.enum.filter((v) => typeof v === 'string').join('').length;
    }
    if (typeof s.const === 'string') totals.chars += s.const.length;
    const children = [
      ...Object.entries(s.properties ?? {}).map(([n, c]) => [c, [...path, 'properties', n], depth + 1]),
      ...Object.entries(s.$defs ?? {}).map(([n, c]) => [c, [...path, '$defs', n], depth]),
      ...Object.entries(s.definitions ?? {}).map(([n, c]) => [c, [...path, 'definitions', n], depth]),
      ...(s.items ? [[s.items, [...path, 'items'], depth]] : []),
      ...(s.anyOf ?? []).map((c, i) => [c, [...path, 'anyOf', String(i)], depth]),
    ];
    for (const [c, p, d] of children) {
      const problem = walk(c, p, d);
      if (problem) return problem;
    }
    return null;
  };
  const problem = walk(root, [], 1);
  if (problem) return problem;
  if (totals.properties > OPENAI_LIMITS.properties) return `Expected at most ${OPENAI_LIMITS.properties} properties in total within a single schema when using structured outputs, but received ${totals.properties}.`;
  if (totals.enumValues > OPENAI_LIMITS.enumValues) return `Expected at most ${OPENAI_LIMITS.enumValues} enum values in total within a single schema when using structured outputs, but received ${totals.enumValues}. Consider reducing the number of enums, or use 'strict: false' to opt out of structured outputs.`;
  if (totals.chars > OPENAI_LIMITS.chars) return `Expected the total string length of property names, definition names, enum values and const values to be at most ${OPENAI_LIMITS.chars}, but received ${totals.chars}.`;
  return null;
}

/** The 400 body Anthropic gives this Messages request, or null. */
export function refuseAnthropic(body) {
  const unknown = Object.keys(body).find((k) => !ANTHROPIC_FIELDS.includes(k));
  if (unknown) return anthropicError(`${unknown}: Extra inputs are not permitted`);
  const format = body.output_config?.format;
  if (!format) return null;
  if (!ANTHROPIC_STRUCTURED.some((re) => re.test(body.model))) {
    // Wording unconfirmed: the docs list the models; the refusal's text is not published.
    return anthropicError(`output_config.format: structured outputs are not supported by the model '${body.model}'.`);
  }
  if (format.type !== 'json_schema') return anthropicError("output_config.format.type: Input should be 'json_schema'");
  const problem = anthropicSchemaProblem(format.schema);
  return problem ? anthropicError(`output_config.format.schema: ${problem}`) : null;
}

function anthropicSchemaProblem(root) {
  const refs = new Set();
  const walk = (s, pointer) => {
    if (typeof s !== 'object' || s === null) return null;
    const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
    for (const k of Object.keys(s)) {
      if (!ANTHROPIC_KEYWORDS.has(k)) return `For '${type ?? 'any'}' type, property '${k}' is not supported`;
    }
    if (s.minItems !== undefined && s.minItems !== 0 && s.minItems !== 1) return "For 'array' type, 'minItems' values other than 0 or 1 are not supported";
    if (s.format !== undefined && !ANTHROPIC_FORMATS.has(s.format)) return `For 'string' type, format '${s.format}' is not supported`;
    if (typeof s.pattern === 'string' && /\(\?[=!<]|\\[bB1-9]/.test(s.pattern)) return `For 'string' type, the pattern '${s.pattern}' uses unsupported regular expression features`;
    if (Array.isArray(s.enum) && s.enum.some((v) => v !== null && typeof v === 'object')) return 'Enum values must be strings, numbers, booleans or null';
    if (type === 'object' || s.properties) {
      if (s.additionalProperties !== false) return "For 'object' type, 'additionalProperties' must be explicitly set to false";
    }
    if (typeof s.$ref === 'string') {
      if (!s.$ref.startsWith('#')) return 'External $ref is not supported';
      if (s.$ref === '#' || pointer.startsWith(s.$ref + '/') || refs.has(`${pointer}->${s.$ref}`)) return 'Recursive schemas are not supported';
      refs.add(`${pointer}->${s.$ref}`);
    }
    const kids = [
      ...Object.entries(s.properties ?? {}).map(([n, c]) => [c, `${pointer}/properties/${n}`]),
      ...Object.entries(s.$defs ?? {}).map(([n, c]) => [c, `${pointer}/$defs/${n}`]),
      ...(s.items ? [[s.items, `${pointer}/items`]] : []),
      ...[...(s.anyOf ?? []), ...(s.allOf ?? [])].map((c, i) => [c, `${pointer}/anyOf/${i}`]),
    ];
    for (const [c, p] of kids) {
      const problem = walk(c, p);
      if (problem) return problem;
    }
    return null;
  };
  return walk(root, '#');
}
