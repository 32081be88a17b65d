// Images through the official openai client: a synth tiny-llama + matching synth clip-tiny mmproj
// (written into a temp dir with `inference-service synth`), an image_url part as a data: URL, the
// prefix cache across identical requests, a remote URL refused, and the seed's vision classify.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { BIN, MODELS_DIR, startServer, postJson, assertErrorSchema } from './harness.mjs';

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

// A w x h RGB PNG (filter 0 rows, zlib from node) with a seed-dependent pattern.
function png(w, h, seed) {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) raw[y * (w * 3 + 1) + 1 + x * 3 + c] = ((x * 7 + y * 13 + c * 50) * seed) & 255;
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;  // bit depth
  ihdr[9] = 2;  // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
                        chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

let dir;
let srv;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isv-e2e-vision-'));
  execFileSync(BIN, ['synth', 'tiny-llama', path.join(dir, 'lm.gguf'), '--vocab',
                     path.join(MODELS_DIR, 'stories260K.gguf')], { stdio: 'ignore' });
  execFileSync(BIN, ['synth', 'clip-tiny', path.join(dir, 'mmproj.gguf'), '--text-embd', '256'], { stdio: 'ignore' });
  fs.mkdirSync(path.join(dir, 'config'));
  fs.mkdirSync(path.join(dir, 'images'));
  fs.writeFileSync(path.join(dir, 'images', 'a.png'), png(40, 30, 3));
  fs.writeFileSync(path.join(dir, 'config', 'models.yaml'),
                   `models:\n  vlm:\n    file: ${path.join(dir, 'lm.gguf')}\n    mmproj: ${path.join(dir, 'mmproj.gguf')}\n` +
                   '    context_length: 256\n');
  srv = await startServer({ INFERENCE_VISION_MODEL_ID: 'vlm', INFERENCE_VISION_IMAGE_DIR: path.join(dir, 'images') },
                          [], { configDir: path.join(dir, 'config') });
});

after(async () => {
  if (srv) await srv.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const imageMessage = (url) => [{
  role: 'user',
  content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image_url', image_url: { url } }],
}];

test('an image_url part is answered; the same request again hits the prefix cache with the same answer', async () => {
  const url = 'data:image/png;base64,' + png(40, 30, 3).toString('base64');
  const ask = () => srv.client.chat.completions.create({ model: 'vlm', messages: imageMessage(url), temperature: 0,
                                                          max_tokens: 8 });
  const first = await ask();
  const second = await ask();
  assert.ok(first.usage.prompt_tokens > 16, JSON.stringify(first.usage));  // 16 image rows + text
  assert.equal(second.choices[0].message.content, first.choices[0].message.content);
  assert.equal(second.usage.prompt_tokens, first.usage.prompt_tokens);
  assert.ok(second.usage.prompt_tokens_details.cached_tokens >= 16, JSON.stringify(second.usage));
});

test('a remote image URL is a 400 naming the field', async () => {
  await assert.rejects(
    srv.client.chat.completions.create({ model: 'vlm', messages: imageMessage('https://example.com/a.png') }),
    (e) => e.status === 400 && e.param === 'messages[0].content[1].image_url.url');
});

test('the seed\'s /api/v1/vision/classify by path and by base64 agree', async () => {
  const byPath = await postJson(`${srv.url}/api/v1/vision/classify`, { image_path: 'a.png', temperature: 0,
                                                                       max_tokens: 4 });
  assert.equal(byPath.status, 200, JSON.stringify(byPath.body));
  const byData = await postJson(`${srv.url}/api/v1/vision/classify`, {
    image_base64: png(40, 30, 3).toString('base64'), temperature: 0, max_tokens: 4 });
  assert.equal(byData.status, 200);
  assert.deepEqual({ ...byData.body, usage: undefined }, { ...byPath.body, usage: undefined });
  assert.ok(['technical', 'discard'].includes(byPath.body.classification));
  assert.equal(byPath.body.model_id, 'vlm');
  const outside = await postJson(`${srv.url}/api/v1/vision/classify`, { image_path: '../config/models.yaml' });
  assert.equal(outside.status, 403);
  assertErrorSchema(assert, outside.body, { param: 'image_path', code: 'image_path_forbidden' });
});
