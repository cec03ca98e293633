// Helpers shared by the stack tests: an HTTP client bound to the test stack's
// nginx, and control of its services (stop/start Postgres, Redis...).
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';

export const PORT = process.env.HTTP_PORT || '18080';
export const BASE = `http://127.0.0.1:${PORT}`;
const ROOT = process.env.BAZAAR_ROOT || process.cwd();

// Sends a request; returns {status, headers, text, json}. `body` objects are
// sent as JSON unless `raw` is given.
export async function request(method, path, { body, headers = {}, raw, token, timeoutMs = 10000 } = {}) {
  const h = { ...headers };
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
  }
  if (token) h.Authorization = `Bearer ${token}`;
  const res = await fetch(BASE + path, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, body, opts = {}) => request('POST', path, { ...opts, body });

// Runs `scripts/stack svc <action> <name>` against the test stack.
export function svc(action, name) {
  execFileSync(`${ROOT}/scripts/stack`, ['_test-svc', action, name], { stdio: 'inherit', env: process.env });
}

export function redisCli(...args) {
  return execFileSync('redis-cli', ['-p', process.env.REDIS_PORT || '26379', ...args], { encoding: 'utf8' }).trim();
}

export function psql(sql) {
  return execFileSync('psql', ['-h', '127.0.0.1', '-p', process.env.PG_PORT || '25432', '-U', process.env.PG_USER || 'postgres',
    '-d', process.env.PG_DB || 'bazaar', '-tAc', sql], { encoding: 'utf8' }).trim();
}

export async function waitFor(what, fn, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await fn()) return;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

// Asserts the API.md error shape and returns the error object.
export function assertError(res, status, code) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.equal(res.json?.success, false, res.text);
  assert.equal(res.json.error.code, code, res.text);
  assert.equal(typeof res.json.error.message, 'string');
  assert.ok(Array.isArray(res.json.error.details));
  assert.ok(res.headers.get('x-request-id'), 'X-Request-Id missing');
  return res.json.error;
}
