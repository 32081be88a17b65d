// Model lifecycle: load/unload endpoints, 409 when auto-load is off, load on demand, presets,
// LRU eviction under a small memory budget, the budget error, keep-alive idle unload, default preset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, getJson, postJson, assertErrorSchema } from './harness.mjs';

const chat = (model) => ({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 });
async function statuses(url) {
  const r = await getJson(`${url}/v1/models`);
  return Object.fromEntries(r.body.data.map((m) => [m.id, m.status]));
}

test('auto-load off: 409 until loaded; load/unload endpoints with the seed schema', async () => {
  const srv = await startServer({ INFERENCE_AUTO_LOAD: 'false' });
  try {
    const ready = await getJson(`${srv.url}/health/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body.loaded_models, []);
    assert.equal(ready.body.reason, 'No models loaded');
    const r = await postJson(`${srv.url}/v1/chat/completions`, chat('tiny-llama'));
    assert.equal(r.status, 409);
    assertErrorSchema(assert, r.body, { code: 'model_not_loaded' });
    const load = await postJson(`${srv.url}/v1/models/tiny-llama/load`, {});
    assert.equal(load.status, 200);
    assert.deepEqual(load.body, { id: 'tiny-llama', status: 'loaded', message: "Model 'tiny-llama' loaded successfully" });
    assert.equal((await statuses(srv.url))['tiny-llama'], 'loaded');
    assert.equal((await getJson(`${srv.url}/health/ready`)).status, 200);
    const ok = await postJson(`${srv.url}/v1/chat/completions`, chat('tiny-llama'));
    assert.equal(ok.status, 200);
    assert.equal(ok.body.model, 'tiny-llama');
    const un = await postJson(`${srv.url}/v1/models/tiny-llama/unload`, {});
    assert.equal(un.status, 200);
    assert.equal(un.body.status, 'unloaded');
    assert.equal((await statuses(srv.url))['tiny-llama'], 'available');
    assert.equal((await postJson(`${srv.url}/v1/chat/completions`, chat('tiny-llama'))).status, 409);
  } finally {
    await srv.stop();
  }
});

test('load on demand; concurrent requests for a loading model share one load', async () => {
  const srv = await startServer();
  try {
    const results = await Promise.all([1, 2, 3].map(() => postJson(`${srv.url}/v1/chat/completions`, chat('tiny-qwen2'))));
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await statuses(srv.url))['tiny-qwen2'], 'loaded');
    const loads = srv.logs().split('\n').filter((l) => l.includes('"event":"model_loading"') && l.includes('tiny-qwen2'));
    assert.equal(loads.length, 1);
  } finally {
    await srv.stop();
  }
});

test('presets: list and load', async () => {
  const srv = await startServer();
  try {
    const list = await getJson(`${srv.url}/v1/presets`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.data.map((p) => p.id), ['S1', 'D1', 'O1']);
    assert.deepEqual(list.body.data[1].models, ['tiny-llama', 'tiny-qwen2']);
    assert.equal(list.body.data[1].orchestration_mode, 'single');
    const load = await postJson(`${srv.url}/v1/presets/D1/load`, {});
    assert.equal(load.status, 200);
    const st = await statuses(srv.url);
    assert.equal(st['tiny-llama'], 'loaded');
    assert.equal(st['tiny-qwen2'], 'loaded');
    const ready = await getJson(`${srv.url}/health/ready`);
    assert.equal(ready.body.config, 'D1');
    const missing = await postJson(`${srv.url}/v1/presets/Z9/load`, {});
    assert.equal(missing.status, 404);
    assertErrorSchema(assert, missing.body, { code: 'preset_not_found' });
  } finally {
    await srv.stop();
  }
});

test('memory budget: least-recently-used idle model is evicted; too-large model is a 503 naming the budget', async () => {
  // Estimates with one sequence per model (file + KV pool of one context + 16.8 MB overhead):
  // stories260K 18.3 MB, tiny-llama 18.9 MB, tiny-phi3 30.7 MB.
  const srv = await startServer({ INFERENCE_MEMORY_LIMIT_GB: '0.055', INFERENCE_PARALLEL: '1' });
  try {
    assert.equal((await postJson(`${srv.url}/v1/chat/completions`, chat('stories260K'))).status, 200);
    assert.equal((await postJson(`${srv.url}/v1/chat/completions`, chat('tiny-llama'))).status, 200);
    assert.equal((await postJson(`${srv.url}/v1/chat/completions`, chat('stories260K'))).status, 200);  // tiny-llama is now LRU
    assert.equal((await postJson(`${srv.url}/v1/chat/completions`, chat('tiny-phi3'))).status, 200);
    const st = await statuses(srv.url);
    assert.equal(st['tiny-llama'], 'available');
    assert.equal(st.stories260K, 'loaded');
    assert.equal(st['tiny-phi3'], 'loaded');
    assert.match(srv.logs(), /"event":"model_evicted".*"model":"tiny-llama"/);
  } finally {
    await srv.stop();
  }
  const small = await startServer({ INFERENCE_MEMORY_LIMIT_GB: '0.03', INFERENCE_PARALLEL: '1' });
  try {
    const r = await postJson(`${small.url}/v1/chat/completions`, chat('tiny-qwen2'));
    assert.equal(r.status, 503);
    assertErrorSchema(assert, r.body, { code: 'insufficient_memory' });
    assert.match(r.body.error.message, /memory budget is 30\.0 MB/);
    assert.match(r.body.error.message, /needs 34\.\d MB/);
    assert.ok(r.headers.get('retry-after'));
  } finally {
    await small.stop();
  }
});

test('keep-alive: an idle model is unloaded after its keep_alive (tiny-phi3: 1s), others stay', async () => {
  const srv = await startServer();
  try {
    assert.equal((await postJson(`${srv.url}/v1/chat/completions`, chat('tiny-phi3'))).status, 200);
    assert.equal((await postJson(`${srv.url}/v1/chat/completions`, chat('stories260K'))).status, 200);
    let st;
    for (let i = 0; i < 40; i++) {
      st = await statuses(srv.url);
      if (st['tiny-phi3'] === 'available') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(st['tiny-phi3'], 'available');
    assert.equal(st.stories260K, 'loaded');
    assert.match(srv.logs(), /"event":"model_unloaded".*"reason":"keep_alive"/);
  } finally {
    await srv.stop();
  }
});

test('INFERENCE_DEFAULT_PRESET loads at startup; readiness follows it', async () => {
  const srv = await startServer({ INFERENCE_DEFAULT_PRESET: 'S1', INFERENCE_AUTO_LOAD: 'false' });
  try {
    let r;
    for (let i = 0; i < 50; i++) {
      r = await getJson(`${srv.url}/health/ready`);
      if (r.status === 200) break;
      assert.equal(r.status, 503);
      assert.equal(r.body.status, 'not_ready');
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.loaded_models, ['stories260K']);
    assert.equal(r.body.config, 'S1');
  } finally {
    await srv.stop();
  }
});

test("the seed's Quick Reference: bodyless POST .../load as curl -X POST sends it", async () => {
  const net = await import('node:net');
  const srv = await startServer({ INFERENCE_AUTO_LOAD: 'false' });
  try {
    const port = new URL(srv.url).port;
    const raw = await new Promise((resolve, reject) => {
      const sock = net.connect(Number(port), '127.0.0.1', () => {
        sock.write('POST /v1/models/stories260K/load HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\nConnection: close\r\n\r\n');
      });
      let data = '';
      sock.on('data', (d) => { data += d; });
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 200/);
    assert.deepEqual(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)),
                     { id: 'stories260K', status: 'loaded', message: "Model 'stories260K' loaded successfully" });
    const chat = await postJson(`${srv.url}/v1/chat/completions`, { model: 'stories260K', messages: [{ role: 'user', content: 'Hello!' }] });
    assert.equal(chat.status, 200);
    assert.equal(chat.body.object, 'chat.completion');
  } finally {
    await srv.stop();
  }
});

test('config validation: broken entries are disabled with reasons, a bad model file is a 503 model_load_failed', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isv-e2e-config-'));
  fs.writeFileSync(path.join(dir, 'not-a-model.gguf'), 'this is not a GGUF file');
  fs.writeFileSync(path.join(dir, 'models.yaml'), `models:
  good: {file: stories260K.gguf, context_length: 256}
  missing: {file: nowhere.gguf}
  badtype: {file: stories260K.gguf, size_gb: large}
  garbage: {file: ${path.join(dir, 'not-a-model.gguf')}}
`);
  fs.writeFileSync(path.join(dir, 'presets.yaml'), `presets:
  ok: {models: [good]}
  dangling: {models: [good, phi-4]}
`);
  const srv = await startServer({}, [], { configDir: dir });
  try {
    const models = await getJson(`${srv.url}/v1/models`);
    assert.deepEqual(models.body.data.map((m) => m.id), ['good', 'garbage']);
    assert.equal(models.body.data[0].context_length, 256);
    const presets = await getJson(`${srv.url}/v1/presets`);
    assert.deepEqual(presets.body.data.map((p) => p.id), ['ok']);
    const logs = srv.logs();
    assert.match(logs, /"event":"config_problem".*model 'missing' disabled: file .*nowhere\.gguf not found/);
    assert.match(logs, /"event":"config_problem".*model 'badtype' disabled: size_gb: expected a number/);
    assert.match(logs, /"event":"config_problem".*preset 'dangling' disabled: model 'phi-4' is not in models\.yaml/);
    const missing = await postJson(`${srv.url}/v1/chat/completions`, { model: 'missing', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /disabled: file .*not found/);
    const garbage = await postJson(`${srv.url}/v1/models/garbage/load`, {});
    assert.equal(garbage.status, 503);
    assertErrorSchema(assert, garbage.body, { code: 'model_load_failed', retriable: false });
    assert.equal((await postJson(`${srv.url}/v1/chat/completions`, { model: 'good', messages: [{ role: 'user', content: 'x' }], max_tokens: 2 })).status, 200);
  } finally {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
