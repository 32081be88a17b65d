// Starts `inference-service serve` on a free port with the test config and returns a handle:
// { url, client (openai), logs(), stop(signal) }. Every test file uses it.
import { spawn } from 'node:child_process';
import OpenAI from 'openai';

export const BIN = process.env.ISV_BINARY;
export const MODELS_DIR = process.env.ISV_MODELS_DIR;
export const CONFIG_DIR = process.env.ISV_CONFIG_DIR;

export async function startServer(env = {}, args = [], { configDir = CONFIG_DIR } = {}) {
  const proc = spawn(BIN, ['serve', '--port', '0', '--host', '127.0.0.1', '--models-dir', MODELS_DIR,
                           '--config-dir', configDir, ...args], {
    env: { ...process.env, INFERENCE_THREADS: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start:\n' + stderr)), 10000);
    proc.stderr.on('data', (d) => {
      stderr += d.toString();
      const m = stderr.match(/"event":"server_started".*?"port":(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    exited.then(({ code }) => reject(new Error(`server exited with ${code}:\n${stderr}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: env.INFERENCE_API_KEY ?? 'unused', maxRetries: 0 });
  return {
    url,
    client,
    proc,
    exited,
    logs: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export async function getJson(url, init = {}) {
  const res = await fetch(url, init);
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

export async function postJson(url, payload, headers = {}) {
  return getJson(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers },
                        body: typeof payload === 'string' ? payload : JSON.stringify(payload) });
}

// The seed's error schema: {"error": {message, type, code, param, retriable}}.
export function assertErrorSchema(assert, body, { code, param, retriable } = {}) {
  assert.equal(typeof body.error, 'object', JSON.stringify(body));
  for (const k of ['message', 'type', 'code', 'param', 'retriable']) assert.ok(k in body.error, `missing error.${k}`);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  if (code !== undefined) assert.equal(body.error.code, code);
  if (param !== undefined) assert.equal(body.error.param, param);
  if (retriable !== undefined) assert.equal(body.error.retriable, retriable);
}

// Loads `model` (a one-token request), then starts a stream that would run until the context is
// full and waits for its first chunk: the model is generating. Returns { ctrl, reader, res };
// ctrl.abort() hangs up.
export async function startLongStream(url, model = 'tiny-qwen2', headers = {}) {
  await postJson(`${url}/v1/completions`, { model, prompt: 'a', max_tokens: 1 });
  const ctrl = new AbortController();
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, signal: ctrl.signal,
    body: JSON.stringify({ model, prompt: 'Once', max_tokens: 100000, ignore_eos: true, stream: true }),
  });
  const reader = res.body.getReader();
  await reader.read();
  return { ctrl, reader, res };
}
