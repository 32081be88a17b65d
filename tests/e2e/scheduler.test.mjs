// The continuous-batching scheduler seen from clients: concurrent streams with batch-invariant
// outputs, a non-streaming client hanging up, the queue-wait deadline, prefix-cache reuse, /v1/slots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, getJson, postJson, assertErrorSchema, startLongStream } from './harness.mjs';

const PROMPTS = [
  'Once upon a time, there was a little girl named Lily.',
  'The dog ran to the park',
  'Tom and Sue wanted to play with the big red ball, but',
  'One day',
  'The sun was shining and the birds were singing. A little boy named Tim went outside to',
  'She saw a cat',
  'There was a big tree in the garden. Every day',
  'Mom said',
];

async function streamText(client, prompt) {
  const stream = await client.chat.completions.create({
    model: 'stories260K', messages: [{ role: 'user', content: prompt }], temperature: 0, max_tokens: 32,
    ignore_eos: true, stream: true,
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  return text;
}

test('8 concurrent streaming clients on one model get exactly their solo outputs', async () => {
  const srv = await startServer({ INFERENCE_PARALLEL: '8', INFERENCE_STEP_TOKENS: '32' });
  try {
    const solo = [];
    for (const p of PROMPTS) solo.push(await streamText(srv.client, p));  // one at a time
    const together = await Promise.all(PROMPTS.map((p) => streamText(srv.client, p)));
    assert.deepEqual(together, solo);
    // The steps really were batched: some step ran more than one sequence.
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    const bucket = (le) => Number(metrics.match(new RegExp(
      `inference_batch_sequences_bucket\\{model="stories260K",le="${le}"\\} (\\d+)`))[1]);
    const total = Number(metrics.match(/inference_batch_sequences_count\{model="stories260K"\} (\d+)/)[1]);
    assert.ok(bucket('1') < total, `every step had one sequence:\n${metrics}`);
  } finally {
    await srv.stop();
  }
});

test('a non-streaming client that hangs up frees its slot; the next request starts at once', async () => {
  const srv = await startServer({ INFERENCE_PARALLEL: '1' });
  try {
    await postJson(`${srv.url}/v1/completions`, { model: 'tiny-qwen2', prompt: 'a', max_tokens: 1 });
    const { port } = new URL(srv.url);
    const body = JSON.stringify({ model: 'tiny-qwen2', prompt: 'Once', max_tokens: 100000, ignore_eos: true });
    const sock = net.connect(Number(port), '127.0.0.1');
    await new Promise((r) => sock.on('connect', r));
    sock.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
               `X-Request-ID: hangup-1\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    // Wait until it is generating, then close the socket.
    for (let i = 0; i < 100; i++) {
      const slots = await getJson(`${srv.url}/v1/slots`);
      if (slots.body.data.find((m) => m.model === 'tiny-qwen2')?.running === 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    sock.destroy();
    const t0 = Date.now();
    const next = await postJson(`${srv.url}/v1/completions`, { model: 'tiny-qwen2', prompt: 'b', max_tokens: 2 });
    assert.equal(next.status, 200);
    assert.ok(Date.now() - t0 < 3000, `waited ${Date.now() - t0} ms`);
    const slots = await getJson(`${srv.url}/v1/slots`);
    const m = slots.body.data.find((d) => d.model === 'tiny-qwen2');
    assert.equal(m.running, 0);
    assert.equal(m.kv_cache.blocks_used, m.kv_cache.blocks_cached, JSON.stringify(m));  // only cached blocks remain
    await new Promise((r) => setTimeout(r, 100));
    const line = srv.logs().split('\n').find((l) => l.includes('"correlation_id":"hangup-1"'));
    assert.ok(line, srv.logs());
    assert.equal(JSON.parse(line).finish_reason, 'cancelled');
  } finally {
    await srv.stop();
  }
});

test('a request still queued at its deadline gets 503 with Retry-After (queue_timeout_s)', async () => {
  const srv = await startServer({ INFERENCE_PARALLEL: '1' });
  try {
    // Generating now, holding the only slot: at most 512 tokens, ~0.3 s at 1 thread on the development
    // machine, so the deadline below is short enough to pass while the slot is still held.
    const { ctrl } = await startLongStream(srv.url);
    const t0 = Date.now();
    const late = await postJson(`${srv.url}/v1/chat/completions`, {
      model: 'tiny-qwen2', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, queue_timeout_s: 0.1, stream: true,
    });
    const waited = Date.now() - t0;
    assert.equal(late.status, 503, JSON.stringify(late.body));
    assertErrorSchema(assert, late.body, { code: 'overloaded', retriable: true });
    assert.match(late.body.error.message, /queue/);
    assert.equal(late.headers.get('retry-after'), '1');
    assert.ok(waited >= 80 && waited < 2500, `waited ${waited} ms`);
    ctrl.abort();
  } finally {
    await srv.stop();
  }
});

test('a repeated system prompt is served from the prefix cache (cached_tokens) with the same answer', async () => {
  const srv = await startServer({ INFERENCE_PARALLEL: '1' });
  try {
    const system = 'You are a storyteller. Lily and Tom were best friends. They liked to play in the park near their house.';
    const ask = (q) => srv.client.chat.completions.create({
      model: 'stories260K', temperature: 0, max_tokens: 16,
      messages: [{ role: 'system', content: system }, { role: 'user', content: q }],
    });
    const first = await ask('Tell me about the ball.');
    assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
    const second = await ask('Tell me about the dog.');
    assert.ok(second.usage.prompt_tokens_details.cached_tokens >= 16, JSON.stringify(second.usage));
    const again = await ask('Tell me about the dog.');
    assert.equal(again.choices[0].message.content, second.choices[0].message.content);
    assert.ok(again.usage.prompt_tokens_details.cached_tokens > second.usage.prompt_tokens_details.cached_tokens);
    const slots = await getJson(`${srv.url}/v1/slots`);
    const m = slots.body.data.find((d) => d.model === 'stories260K');
    assert.ok(m.prefix_cache.hit_ratio > 0, JSON.stringify(m));
    assert.deepEqual(Object.keys(m).slice(0, 4), ['model', 'active_requests', 'parallel', 'running']);
  } finally {
    await srv.stop();
  }
});
