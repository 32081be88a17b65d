// The seed's contract through the official openai client: health, models, chat completions
// (plain and streamed), completions, usage, stop strings, seeds, and every request-error status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, getJson, postJson, assertErrorSchema } from './harness.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { const { code } = await srv.stop(); assert.equal(code, 0, srv.logs()); });

test('GET /health is the seed schema', async () => {
  const r = await getJson(`${srv.url}/health`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ok', service: 'inference-service', version: '0.1.0' });
});

test('GET /health/ready reports ready, loaded models and the CPU-only backend', async () => {
  const r = await getJson(`${srv.url}/health/ready`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'ready');
  assert.ok(Array.isArray(r.body.loaded_models));
  assert.equal(r.body.orchestration_mode, 'single');
  assert.ok('config' in r.body);
  assert.equal(r.body.backend.device, 'cpu');
});

test('models.list returns the configured models in the seed shape', async () => {
  const page = await srv.client.models.list();
  const ids = page.data.map((m) => m.id);
  assert.deepEqual(ids, ['stories260K', 'tiny-llama', 'tiny-qwen2', 'tiny-phi3']);
  for (const m of page.data) {
    assert.ok(['loaded', 'available', 'loading'].includes(m.status));
    assert.equal(typeof m.memory_mb, 'number');
    assert.equal(m.context_length, 512);
    assert.ok(Array.isArray(m.roles));
  }
  const raw = await getJson(`${srv.url}/v1/models`);
  assert.equal(raw.body.orchestration_mode, 'single');
  assert.ok('config' in raw.body);
});

test('chat completion (non-streaming): message, usage, orchestration extension', async () => {
  const r = await srv.client.chat.completions.create({
    model: 'stories260K', messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 8, temperature: 0,
  });
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, 'stories260K');
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 0);
  assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 8);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.equal(r.orchestration.mode, 'single');
  assert.deepEqual(r.orchestration.models_used, ['stories260K']);
  assert.equal(typeof r.orchestration.total_inference_time_ms, 'number');
});

test('chat completion streaming equals the non-streaming text (greedy) and reports usage', async () => {
  const req = { model: 'tiny-qwen2', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 6, temperature: 0 };
  const full = await srv.client.chat.completions.create(req);
  const stream = await srv.client.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let role;
  let finish;
  let usage;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.role) role = c.delta.role;
      if (c.delta.content) text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  assert.ok(chunks >= 3);
  assert.equal(role, 'assistant');
  assert.equal(text, full.choices[0].message.content);
  assert.equal(finish, full.choices[0].finish_reason);
  // The second request reuses the first one's prompt blocks (prefix cache); the counts are equal.
  const counts = ({ prompt_tokens, completion_tokens, total_tokens }) => ({ prompt_tokens, completion_tokens, total_tokens });
  assert.deepEqual(counts(usage), counts(full.usage));
  assert.ok(usage.prompt_tokens_details.cached_tokens >= full.usage.prompt_tokens_details.cached_tokens);
});

test('completions: raw prompt, greedy continuation of stories260K, stop string held back', async () => {
  const r = await srv.client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 10, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  const text = r.choices[0].text;
  assert.ok(text.length > 0);
  assert.equal(r.choices[0].finish_reason, 'length');
  // Cut the same greedy continuation at a word in its middle: the text stops right before it.
  const words = text.trim().split(/\s+/);
  const stopWord = words[Math.floor(words.length / 2)];
  const cut = text.slice(0, text.indexOf(stopWord));
  const s = await srv.client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 10, temperature: 0, stop: [stopWord] });
  assert.equal(s.choices[0].text, cut);
  assert.equal(s.choices[0].finish_reason, 'stop');
  // Streaming with the stop string gives the same text.
  const stream = await srv.client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 10, temperature: 0, stop: stopWord, stream: true });
  let streamed = '';
  for await (const c of stream) streamed += c.choices[0]?.text ?? '';
  assert.equal(streamed, cut);
});

test('seed makes sampling reproducible', async () => {
  const req = { model: 'stories260K', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 12, temperature: 1.0, seed: 1234 };
  const a = await srv.client.chat.completions.create(req);
  const b = await srv.client.chat.completions.create(req);
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
});

test('correlation id: X-Request-ID echoed, generated when absent', async () => {
  const r = await getJson(`${srv.url}/health`, { headers: { 'X-Request-ID': 'abc-123' } });
  assert.equal(r.headers.get('x-request-id'), 'abc-123');
  const c = await getJson(`${srv.url}/health`, { headers: { 'X-Correlation-ID': 'corr-9' } });
  assert.equal(c.headers.get('x-correlation-id'), 'corr-9');
  const g = await getJson(`${srv.url}/health`);
  assert.match(g.headers.get('x-request-id'), /^[0-9a-f-]{36}$/);
});

test('400 names the wrong field; the openai client raises BadRequestError', async () => {
  await assert.rejects(
    srv.client.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'x' }], temperature: 'hot' }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'temperature');
  const r = await postJson(`${srv.url}/v1/chat/completions`, { model: 'stories260K', messages: 'nope' });
  assert.equal(r.status, 400);
  assertErrorSchema(assert, r.body, { param: 'messages', retriable: false });
  const bad = await postJson(`${srv.url}/v1/chat/completions`, '{not json');
  assert.equal(bad.status, 400);
  assertErrorSchema(assert, bad.body);
  const mt = await postJson(`${srv.url}/v1/chat/completions`, { model: 'stories260K', messages: [{ role: 'user', content: 'x' }], max_tokens: -1 });
  assert.equal(mt.status, 400);
  assertErrorSchema(assert, mt.body, { param: 'max_tokens' });
  // Unknown OpenAI fields are ignored.
  const ok = await postJson(`${srv.url}/v1/chat/completions`, { model: 'stories260K', messages: [{ role: 'user', content: 'x' }], max_tokens: 1, user: 'u', some_future_field: { a: 1 } });
  assert.equal(ok.status, 200);
});

test('404 for an unknown model (never another model), with the error schema', async () => {
  await assert.rejects(
    srv.client.chat.completions.create({ model: 'phi-4', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
  const r = await postJson(`${srv.url}/v1/models/phi-4/load`, {});
  assert.equal(r.status, 404);
  assertErrorSchema(assert, r.body, { code: 'model_not_found', retriable: false });
  const route = await getJson(`${srv.url}/v1/nothing`);
  assert.equal(route.status, 404);
  assertErrorSchema(assert, route.body);
});

test('prompt longer than the context is a 400 context_length_exceeded', async () => {
  const r = await postJson(`${srv.url}/v1/completions`, { model: 'stories260K', prompt: 'Once upon a time '.repeat(200), max_tokens: 1 });
  assert.equal(r.status, 400);
  assertErrorSchema(assert, r.body, { code: 'context_length_exceeded' });
});

test('orchestration: unknown modes 400; single with a task_type keeps the named model', async () => {
  const u = await postJson(`${srv.url}/v1/chat/completions`, { model: 'stories260K', messages: [{ role: 'user', content: 'x' }], orchestration_mode: 'vote' });
  assert.equal(u.status, 400);
  assertErrorSchema(assert, u.body, { param: 'orchestration_mode' });
  const s = await postJson(`${srv.url}/v1/chat/completions`, { model: 'stories260K', messages: [{ role: 'user', content: 'x' }], orchestration_mode: 'single', task_type: 'code', priority: 2, max_tokens: 2 });
  assert.equal(s.status, 200);
  assert.equal(s.body.model, 'stories260K');
  // A preset id with a task_type routes to the model holding the role (D1: tiny-qwen2 is the coder).
  const p = await postJson(`${srv.url}/v1/chat/completions`, { model: 'D1', messages: [{ role: 'user', content: 'x' }], task_type: 'code', max_tokens: 2 });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  assert.equal(p.body.model, 'tiny-qwen2');
});

test('tools are rendered by the chat template; tool results round-trip as messages', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
  const r = await srv.client.chat.completions.create({
    model: 'tiny-qwen2', max_tokens: 4, tools, tool_choice: 'auto',
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"temp": 21}' },
    ],
  });
  assert.equal(r.choices.length, 1);
  assert.ok(['stop', 'length', 'tool_calls'].includes(r.choices[0].finish_reason));
});

test('GET /metrics exposes Prometheus text with request and token metrics', async () => {
  const r = await fetch(`${srv.url}/metrics`);
  assert.equal(r.status, 200);
  const text = await r.text();
  assert.match(text, /inference_requests_total\{.*route="\/v1\/chat\/completions".*\} \d+/);
  assert.match(text, /inference_completion_tokens_total\{model="stories260K"\} \d+/);
  assert.match(text, /inference_time_to_first_token_seconds_bucket/);
  assert.match(text, /inference_model_loaded\{model="stories260K"\} 1/);
});

test('generation ends with finish_reason length when the context is full', async () => {
  const r = await srv.client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 100000, ignore_eos: true });
  assert.equal(r.choices[0].finish_reason, 'length');
  // 512 cells: the prompt's, one per fed-back token, and the last sampled token needs none.
  assert.equal(r.usage.completion_tokens, 512 - r.usage.prompt_tokens + 1);
});

test('response_format json_object: the output is a JSON object (or its prefix when cut by max_tokens)', async () => {
  let completed = 0;
  for (const model of ['tiny-llama', 'stories260K', 'tiny-qwen2', 'tiny-phi3']) {
    const r = await srv.client.chat.completions.create({
      model, messages: [{ role: 'user', content: 'Reply in JSON' }], max_tokens: 60, temperature: 0,
      response_format: { type: 'json_object' },
    });
    const text = r.choices[0].message.content;
    assert.ok(text.startsWith('{'), `${model}: ${JSON.stringify(text)}`);
    if (r.choices[0].finish_reason === 'stop') {
      const obj = JSON.parse(text);
      assert.equal(typeof obj, 'object');
      assert.ok(!Array.isArray(obj));
      completed++;
    } else {
      assert.equal(r.choices[0].finish_reason, 'length');
    }
  }
  assert.ok(completed >= 1, 'at least one greedy run closes its object');
});

test('structured outputs: response_format json_schema and a forced named tool call (tiny-qwen2, hermes)', async () => {
  const schema = {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1, maxLength: 8 }, age: { type: 'integer' }, color: { enum: ['red', 'green', 'blue'] } },
    required: ['name', 'age', 'color'], additionalProperties: false,
  };
  for (const sampling of [{ temperature: 0 }, { temperature: 1, seed: 11 }]) {
    const r = await srv.client.chat.completions.create({
      model: 'tiny-qwen2', messages: [{ role: 'user', content: 'Describe a person as JSON' }], max_tokens: 300, ...sampling,
      response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
    });
    assert.equal(r.choices[0].finish_reason, 'stop', JSON.stringify(r));
    const obj = JSON.parse(r.choices[0].message.content);
    assert.deepEqual(Object.keys(obj), ['name', 'age', 'color']);
    assert.equal(typeof obj.name, 'string');
    assert.ok([...obj.name].length >= 1 && [...obj.name].length <= 8, obj.name);
    assert.ok(Number.isInteger(obj.age));
    assert.ok(['red', 'green', 'blue'].includes(obj.color));
  }
  const tools = [
    { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, unit: { enum: ['celsius', 'fahrenheit'] } }, required: ['city', 'unit'] } } },
    { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] } } },
  ];
  const t = await srv.client.chat.completions.create({
    model: 'tiny-qwen2', messages: [{ role: 'user', content: 'Weather in Paris?' }], max_tokens: 150, temperature: 0,
    tools, tool_choice: { type: 'function', function: { name: 'get_weather' } },
  });
  assert.equal(t.choices[0].finish_reason, 'tool_calls', JSON.stringify(t));
  const calls = t.choices[0].message.tool_calls;
  assert.equal(calls.length, 1);
  assert.equal(calls[0].function.name, 'get_weather');
  const args = JSON.parse(calls[0].function.arguments);
  assert.deepEqual(Object.keys(args), ['city', 'unit']);
  assert.ok(typeof args.city === 'string' && [...args.city].length <= 12);
  assert.ok(['celsius', 'fahrenheit'].includes(args.unit));
  // Unsupported schema keywords are a 400 naming the field, through the client's error type.
  await assert.rejects(
    srv.client.chat.completions.create({
      model: 'tiny-qwen2', messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'p', schema: { type: 'integer', multipleOf: 3 } } },
    }),
    (e) => e.status === 400 && e.param === 'response_format.json_schema.schema' && /'multipleOf'/.test(e.message),
  );
});

test('logprobs: chat (logprobs/top_logprobs) and completions (logprobs: k), plain and streamed', async () => {
  const req = { model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], temperature: 0,
                max_tokens: 8, ignore_eos: true, logprobs: true, top_logprobs: 3 };
  const r = await srv.client.chat.completions.create(req);
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens);
  assert.equal(content.map((e) => Buffer.from(e.bytes).toString('utf8')).join(''), r.choices[0].message.content);
  for (const e of content) {
    assert.ok(e.logprob <= 0);
    assert.equal(e.top_logprobs.length, 3);
    assert.equal(e.top_logprobs[0].token, e.token);  // greedy: the chosen token is the most likely
    assert.ok(e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob);
  }
  // Streamed: the chunks' logprobs concatenate to the same entries.
  const stream = await srv.client.chat.completions.create({ ...req, stream: true });
  const streamed = [];
  for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
  assert.deepEqual(streamed.map((e) => [e.token, e.logprob]), content.map((e) => [e.token, e.logprob]));
  // Without logprobs the field is null.
  assert.equal((await srv.client.chat.completions.create({ ...req, logprobs: false, top_logprobs: undefined })).choices[0].logprobs, null);

  const c = await srv.client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 6,
                                                   temperature: 0, ignore_eos: true, logprobs: 2 });
  const lp = c.choices[0].logprobs;
  assert.equal(lp.tokens.length, 6);
  assert.equal(lp.tokens.join(''), c.choices[0].text);
  assert.deepEqual(lp.text_offset, lp.tokens.map((_, i) => lp.tokens.slice(0, i).join('').length));
  for (let i = 0; i < 6; i++) {
    assert.equal(Object.keys(lp.top_logprobs[i]).length <= 2, true);
    assert.equal(Math.max(...Object.values(lp.top_logprobs[i])), lp.token_logprobs[i]);
  }
});

test('n choices: choice i is what one request with seed + i gives; streamed choices interleave by index', async () => {
  const base = { model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 12,
                 temperature: 1.0, ignore_eos: true };
  const singles = [];
  for (let i = 0; i < 3; i++) singles.push(await srv.client.chat.completions.create({ ...base, seed: 40 + i }));
  assert.ok(new Set(singles.map((s) => s.choices[0].message.content)).size > 1, 'seeds 40..42 should not all agree');

  const r = await srv.client.chat.completions.create({ ...base, seed: 40, n: 3 });
  assert.equal(r.choices.length, 3);
  r.choices.forEach((c, i) => {
    assert.equal(c.index, i);
    assert.equal(c.message.content, singles[i].choices[0].message.content, `choice ${i}`);
    assert.equal(c.finish_reason, 'length');
  });
  // The prompt counts once, the completions add up.
  assert.equal(r.usage.prompt_tokens, singles[0].usage.prompt_tokens);
  assert.equal(r.usage.completion_tokens, 3 * 12);

  const stream = await srv.client.chat.completions.create({ ...base, seed: 40, n: 3, stream: true, stream_options: { include_usage: true } });
  const text = ['', '', ''];
  const finish = [null, null, null];
  let usage = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text[c.index] += c.delta?.content ?? '';
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
  }
  assert.deepEqual(text, r.choices.map((c) => c.message.content));
  assert.deepEqual(finish, ['length', 'length', 'length']);
  assert.deepEqual(usage, r.usage);

  // Raw completions too; greedy choices are all the same text.
  const g = await srv.client.completions.create({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 6, temperature: 0, n: 2 });
  assert.equal(g.choices.length, 2);
  assert.equal(g.choices[0].text, g.choices[1].text);

  const big = await postJson(`${srv.url}/v1/chat/completions`, { ...base, n: 17 });
  assert.equal(big.status, 400);
  assertErrorSchema(assert, big.body, { param: 'n' });
  const orch = await postJson(`${srv.url}/v1/chat/completions`, { ...base, n: 2, orchestration_mode: 'debate' });
  assert.equal(orch.status, 400);
  assertErrorSchema(assert, orch.body, { param: 'n' });
});
