// Operations: API key, body size limit, JSON logs, graceful SIGTERM (in-flight requests finish,
// streams past the deadline end with an error event, exit code 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, getJson, postJson, assertErrorSchema, startLongStream } from './harness.mjs';

test('API key: Bearer required on /v1, health and metrics exempt', async () => {
  const srv = await startServer({ INFERENCE_API_KEY: 'sekrit' });
  try {
    assert.equal((await getJson(`${srv.url}/health`)).status, 200);
    assert.equal((await getJson(`${srv.url}/health/ready`)).status, 200);
    assert.equal((await getJson(`${srv.url}/metrics`)).status, 200);
    const none = await getJson(`${srv.url}/v1/models`);
    assert.equal(none.status, 401);
    assertErrorSchema(assert, none.body, { code: 'invalid_api_key', retriable: false });
    const wrong = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    const page = await srv.client.models.list();  // the harness client carries the right key
    assert.ok(page.data.length > 0);
  } finally {
    await srv.stop();
  }
});

test('request body over INFERENCE_MAX_BODY_BYTES is a 413 with the error schema', async () => {
  const srv = await startServer({ INFERENCE_MAX_BODY_BYTES: '1000' });
  try {
    const r = await postJson(`${srv.url}/v1/chat/completions`, { model: 'stories260K', messages: [{ role: 'user', content: 'x'.repeat(2000) }] });
    assert.equal(r.status, 413);
    assertErrorSchema(assert, r.body, { code: 'request_too_large' });
    const ok = await postJson(`${srv.url}/v1/chat/completions`, { model: 'stories260K', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });
    assert.equal(ok.status, 200);
  } finally {
    await srv.stop();
  }
});

test('logs are one JSON object per line with correlation id, model, tokens and timings', async () => {
  const srv = await startServer();
  try {
    await postJson(`${srv.url}/v1/chat/completions`, { model: 'stories260K', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 },
                   { 'X-Request-ID': 'log-test-1' });
  } finally {
    await srv.stop();
  }
  const lines = srv.logs().trim().split('\n');
  for (const l of lines) JSON.parse(l);
  const req = lines.map((l) => JSON.parse(l)).find((o) => o.correlation_id === 'log-test-1');
  assert.ok(req, srv.logs());
  assert.equal(req.event, 'request');
  assert.equal(req.model, 'stories260K');
  assert.equal(req.route, '/v1/chat/completions');
  assert.equal(req.status, 200);
  assert.equal(req.completion_tokens, 3);
  assert.ok(req.prompt_tokens > 0);
  for (const k of ['time', 'level', 'queue_ms', 'inference_ms']) assert.ok(k in req, k);
});

test('SIGTERM: a stream still running at the deadline gets an error event then [DONE]; exit 0', async () => {
  // A short grace period: the stream below (at most 512 tokens of tiny-qwen2, ~0.3 s at 1 thread on
  // the development machine since session 5's faster decode) must still be running when it ends.
  const srv = await startServer({ INFERENCE_SHUTDOWN_TIMEOUT: '0.05' });
  // Warm up (load) first so that both requests below are generating when the signal arrives.
  await postJson(`${srv.url}/v1/completions`, { model: 'tiny-qwen2', prompt: 'a', max_tokens: 1 });
  const res = await fetch(`${srv.url}/v1/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'tiny-qwen2', prompt: 'Once', max_tokens: 100000, stream: true, ignore_eos: true }),
  });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  const first = await reader.read();  // the stream is running
  assert.ok(!first.done);
  srv.proc.kill('SIGTERM');
  let text = new TextDecoder().decode(first.value);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  const events = text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
  assert.equal(events.at(-1), '[DONE]');
  const err = JSON.parse(events.at(-2));
  assertErrorSchema(assert, err, { retriable: true });
  assert.match(err.error.message, /shutting down/);
  const { code } = await srv.exited;
  assert.equal(code, 0);
  await assert.rejects(fetch(`${srv.url}/health`));
});

test('SIGTERM: a request in flight finishes within the grace period; new connections are refused', async () => {
  const srv = await startServer({ INFERENCE_SHUTDOWN_TIMEOUT: '20' });
  await postJson(`${srv.url}/v1/completions`, { model: 'stories260K', prompt: 'a', max_tokens: 1 });
  const pending = postJson(`${srv.url}/v1/completions`, { model: 'stories260K', prompt: 'Once upon a time', max_tokens: 400, ignore_eos: true, temperature: 0 });
  await new Promise((r) => setTimeout(r, 30));
  srv.proc.kill('SIGTERM');
  const r = await pending;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.usage.completion_tokens, 400);
  const { code } = await srv.exited;
  assert.equal(code, 0);
});

test('a client that disconnects mid-stream cancels its generation (the model is free at once)', async () => {
  const srv = await startServer({ INFERENCE_PARALLEL: '1' });
  try {
    const { ctrl } = await startLongStream(srv.url, 'tiny-qwen2', { 'X-Request-ID': 'gone-1' });
    ctrl.abort();
    // ~500 tokens remain for that stream; a cancelled one leaves the model free for this request.
    const t0 = Date.now();
    const next = await postJson(`${srv.url}/v1/completions`, { model: 'tiny-qwen2', prompt: 'b', max_tokens: 2 });
    assert.equal(next.status, 200);
    const waited = Date.now() - t0;
    for (let i = 0; i < 20 && !srv.logs().includes('"finish_reason":"cancelled"'); i++) await new Promise((r) => setTimeout(r, 50));
    const line = srv.logs().split('\n').find((l) => l.includes('"correlation_id":"gone-1"'));
    assert.ok(line, srv.logs());
    const entry = JSON.parse(line);
    assert.equal(entry.finish_reason, 'cancelled');
    assert.ok(entry.completion_tokens < 400, `generated ${entry.completion_tokens} tokens after the client left`);
    assert.ok(waited < 3000, `waited ${waited} ms`);
  } finally {
    await srv.stop();
  }
});

test('a full queue answers 429 queue_full with Retry-After (INFERENCE_MAX_QUEUE=0, one slot)', async () => {
  const srv = await startServer({ INFERENCE_MAX_QUEUE: '0', INFERENCE_PARALLEL: '1' });
  try {
    const { ctrl } = await startLongStream(srv.url);  // generating now, holding the only slot
    const busy = await postJson(`${srv.url}/v1/completions`, { model: 'tiny-qwen2', prompt: 'b', max_tokens: 2 });
    assert.equal(busy.status, 429);
    assertErrorSchema(assert, busy.body, { code: 'queue_full', retriable: true });
    assert.equal(busy.headers.get('retry-after'), '1');
    // Other models have their own queue.
    assert.equal((await postJson(`${srv.url}/v1/completions`, { model: 'stories260K', prompt: 'b', max_tokens: 2 })).status, 200);
    ctrl.abort();
  } finally {
    await srv.stop();
  }
});
