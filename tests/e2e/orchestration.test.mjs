// Orchestration through the official openai client (docs/orchestration.md): every mode answers a
// normal chat completion with the `orchestration` extension; a streamed orchestrated request reads
// as a plain stream (progress rides in an extra field the SDK ignores); degraded and error paths
// with the fault-injection test hook; a memory budget that holds one model at a time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, postJson, assertErrorSchema } from './harness.mjs';

const ask = (extra = {}) => ({
  model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8, temperature: 0, ...extra,
});

let srv;
before(async () => { srv = await startServer({ INFERENCE_ORCHESTRATION_TEST_HOOKS: '1' }); });
after(async () => { const { code } = await srv.stop(); assert.equal(code, 0, srv.logs()); });

function checkUsage(r) {
  const o = r.orchestration;
  const sum = (k) => o.stages.reduce((a, s) => a + s[k], 0);
  assert.equal(r.usage.prompt_tokens, sum('prompt_tokens'));
  assert.equal(r.usage.completion_tokens, sum('completion_tokens'));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
}

test('every mode answers a normal chat completion with the orchestration extension', async () => {
  const expected = {
    critique: ['answer', 'critique_1', 'revise_1'],
    debate: ['debater_1', 'debater_2', 'debater_3', 'judge'],
    ensemble: ['member_1', 'member_2', 'member_3', 'synthesize'],
    pipeline: ['stage_1', 'stage_2', 'stage_3'],
  };
  for (const [mode, stages] of Object.entries(expected)) {
    const r = await srv.client.chat.completions.create(ask({ orchestration_mode: mode, orchestration: { rounds: 1 } }));
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, 'stories260K');
    assert.equal(typeof r.choices[0].message.content, 'string');
    assert.ok(r.choices[0].message.content.length > 0, mode);
    const o = r.orchestration;
    assert.equal(o.mode, mode);
    assert.deepEqual(o.stages.map((s) => s.name), stages, mode);
    for (const s of o.stages) {
      assert.equal(s.status, 'ok', `${mode}/${s.name}: ${s.error}`);
      for (const k of ['model', 'role', 'prompt_tokens', 'completion_tokens', 'time_ms']) assert.ok(k in s, k);
    }
    assert.deepEqual(o.models_used, [...new Set(o.stages.map((s) => s.model))]);
    assert.equal(o.degraded, false);
    assert.ok(Array.isArray(o.handoffs) && o.handoffs.length > 0);
    for (const h of o.handoffs) assert.ok(h.tokens_kept <= h.tokens_in && typeof h.policy === 'string');
    assert.equal(typeof o.total_inference_time_ms, 'number');
    checkUsage(r);
  }
});

test('a streamed orchestrated request reads as a plain stream with the same answer', async () => {
  const body = ask({ orchestration_mode: 'debate' });
  const plain = await srv.client.chat.completions.create(body);
  const stream = await srv.client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish = null;
  let usage = null;
  const progress = [];
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    if (chunk.orchestration?.event) progress.push(chunk.orchestration);
    const c = chunk.choices[0];
    if (!c) continue;
    text += c.delta?.content ?? '';
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.equal(text, plain.choices[0].message.content);
  assert.equal(finish, plain.choices[0].finish_reason);
  assert.deepEqual(usage, plain.usage);
  // The debaters run in parallel, so they may finish in any order; the judge comes after all of them.
  const finished = progress.filter((e) => e.event === 'stage_finished').map((e) => e.stage);
  assert.deepEqual([...finished.slice(0, -1)].sort(), ['debater_1', 'debater_2', 'debater_3']);
  assert.equal(finished.at(-1), 'judge');
  assert.ok(progress.some((e) => e.stage === 'judge' && e.event === 'stage_started'));
  // The SDK's own accumulator sees one ordinary assistant message.
  const runner = srv.client.chat.completions.stream(body);
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.role, 'assistant');
  assert.equal(final.choices[0].message.content, plain.choices[0].message.content);
});

test('a failed stage: degraded answer by default, 502 with on_failure error; bad fields are 400', async () => {
  const d = await postJson(`${srv.url}/v1/chat/completions`, ask({ orchestration_mode: 'pipeline', orchestration: { fail_stage: 3 } }));
  assert.equal(d.status, 200, JSON.stringify(d.body));
  assert.equal(d.body.orchestration.degraded, true);
  assert.equal(d.body.orchestration.failed_stage, 'stage_3');
  assert.deepEqual(d.body.orchestration.compensations, ['stage_2', 'stage_1']);
  assert.ok(d.body.choices[0].message.content.length > 0);

  const e = await postJson(`${srv.url}/v1/chat/completions`, ask({ orchestration_mode: 'pipeline', orchestration: { fail_stage: 2, on_failure: 'error' } }));
  assert.equal(e.status, 502);
  assertErrorSchema(assert, e.body, { code: 'orchestration_stage_failed' });
  assert.match(e.body.error.message, /stage_2/);
  assert.deepEqual(e.body.orchestration.compensations, ['stage_1']);

  const b = await postJson(`${srv.url}/v1/chat/completions`, ask({ orchestration_mode: 'critique', orchestration: { rounds: 0 } }));
  assert.equal(b.status, 400);
  assertErrorSchema(assert, b.body, { param: 'orchestration.rounds' });
  const u = await postJson(`${srv.url}/v1/chat/completions`, ask({ orchestration_mode: 'debate', orchestration: { models: ['nope'] } }));
  assert.equal(u.status, 404);
  const t = await postJson(`${srv.url}/v1/chat/completions`, ask({ orchestration_mode: 'vote' }));
  assert.equal(t.status, 400);
  assertErrorSchema(assert, t.body, { param: 'orchestration_mode' });
});

test('a budget that holds one model at a time runs the stages one after another', async () => {
  // Loaded sizes with one sequence per model: stories260K 18 MB, tiny-phi3 31 MB, tiny-qwen2 34 MB:
  // 35 MB holds any one.
  const small = await startServer({ INFERENCE_MEMORY_LIMIT_GB: '0.035', INFERENCE_PARALLEL: '1' });
  try {
    const r = await postJson(`${small.url}/v1/chat/completions`, ask({ orchestration_mode: 'debate' }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.orchestration.parallel, false);
    assert.deepEqual(r.body.orchestration.models_used, ['stories260K', 'tiny-phi3', 'tiny-qwen2']);
    assert.match(small.logs(), /"event":"model_evicted"/);
    const co = await srv.client.chat.completions.create(ask({ orchestration_mode: 'debate' }));
    assert.equal(co.orchestration.parallel, true);
    assert.equal(r.body.choices[0].message.content, co.choices[0].message.content);
  } finally {
    await small.stop();
  }
});

test('a preset gives the mode and orchestration defaults; the request overrides them', async () => {
  // config/test presets.yaml O1: pipeline, stages thinker -> primary.
  const r = await postJson(`${srv.url}/v1/chat/completions`, { ...ask(), model: 'O1' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.model, 'stories260K');  // the preset's primary
  assert.equal(r.body.orchestration.mode, 'pipeline');
  assert.deepEqual(r.body.orchestration.stages.map((s) => `${s.role}@${s.model}`), ['thinker@tiny-phi3', 'primary@stories260K']);
  const c = await postJson(`${srv.url}/v1/chat/completions`, { ...ask(), model: 'O1', orchestration_mode: 'critique', orchestration: { rounds: 1 } });
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.deepEqual(c.body.orchestration.stages.map((s) => `${s.name}@${s.model}`), ['answer@stories260K', 'critique_1@tiny-phi3', 'revise_1@stories260K']);
});
