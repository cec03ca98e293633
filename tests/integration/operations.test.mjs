// Issue 2: the request path through nginx → bazaar-fcgi, its error shapes,
// request ids, metrics, and health while Postgres or Redis is down or hung.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get, request, post, svc, waitFor, assertError } from '../lib/client.mjs';
import { requestFrom } from '../lib/auth_helpers.mjs';

const VAR = process.env.BAZAAR_VAR_DIR;

test('ping answers the contract body without touching dependencies', async () => {
  const res = await get('/api/v1/ping');
  assert.equal(res.status, 200);
  assert.deepEqual(res.json, { success: true, data: { pong: true } });
  assert.match(res.headers.get('content-type'), /^application\/json/);
});

test('nginx-ping answers the same body from nginx itself', async () => {
  // Proof that nginx answers: it does so while every fcgi process is frozen.
  const pids = [0, 1].map((i) => pidOf(`${VAR}/run/fcgi-${i}.pid`));
  for (const p of pids) process.kill(p, 'SIGSTOP');
  try {
    const res = await get('/nginx-ping', { timeoutMs: 3000 });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { success: true, data: { pong: true } });
    assert.ok(res.headers.get('x-request-id'), 'every response carries X-Request-Id (API.md)');
  } finally {
    for (const p of pids) process.kill(p, 'SIGCONT');
  }
});

test('health reports both dependencies up', async () => {
  const res = await get('/api/v1/health');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.success, true);
  const d = res.json.data;
  assert.equal(d.status, 'ok');
  assert.equal(d.postgres, 'up');
  assert.equal(d.redis, 'up');
  assert.match(d.version, /^\d+\.\d+\.\d+$/);
  assert.equal(typeof d.uptimeS, 'number');
});

test('request id is echoed when given and generated otherwise', async () => {
  const mine = await get('/api/v1/ping', { headers: { 'X-Request-Id': 'test-req-42' } });
  assert.equal(mine.headers.get('x-request-id'), 'test-req-42');
  const a = await get('/api/v1/ping');
  const b = await get('/api/v1/ping');
  assert.match(a.headers.get('x-request-id'), /^[0-9a-f]{32}$/);
  assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
  // An id with characters that could forge log lines is replaced.
  const bad = await get('/api/v1/ping', { headers: { 'X-Request-Id': 'a"b{c' } });
  assert.notEqual(bad.headers.get('x-request-id'), 'a"b{c');
  // The same id is in the structured (JSON) access log line of the request.
  await waitFor('access log line with the request id', () => {
    const lines = readFileSync(`${VAR}/log/nginx-access.log`, 'utf8').split('\n').filter(Boolean);
    return lines.some((l) => {
      const j = JSON.parse(l);
      return j.requestId === 'test-req-42' && j.uri === '/api/v1/ping' && j.status === 200;
    });
  });
});

test('unknown route is a JSON 404', async () => {
  const res = await get('/api/v1/does-not-exist');
  assertError(res, 404, 'NOT_FOUND');
});

test('wrong method is a JSON 405 with Allow', async () => {
  const res = await request('DELETE', '/api/v1/health');
  assertError(res, 405, 'METHOD_NOT_ALLOWED');
  assert.equal(res.headers.get('allow'), 'GET, HEAD');
});

test('invalid UTF-8 in the path or a query value is a clean JSON error, and the server lives on', async () => {
  const res = await get('/api/v1/%ff%fe');
  assertError(res, 404, 'NOT_FOUND');
  JSON.parse(res.text);
  // Each is a 400 naming the parameter (an unknown field or relation, a tag
  // or search text that is not clean UTF-8), never a 200 or a 500.
  for (const q of ['fields=%ff', 'include=%ff', 'tag=%ff%fe', 'q=%ff%ff%ff']) {
    const r = await get(`/api/v1/books?${q}`);
    const err = assertError(r, 400, 'VALIDATION_FAILED');
    assert.equal(err.details[0]?.field, q.split('=')[0], `${q}: ${r.text}`);
  }
  // Every fcgi process still answers.
  const pings = await Promise.all(Array.from({ length: 20 }, () => get('/api/v1/ping')));
  assert.ok(pings.every((p) => p.status === 200));
});

test('malformed percent-escape in the URL is a 400', async () => {
  const res = await get('/api/v1/ping?q=%zz');
  assertError(res, 400, 'VALIDATION_FAILED');
});

test('a JSON body over the limit is a 413 from the app', async () => {
  const big = JSON.stringify({ email: 'x'.repeat(1100 * 1024), password: 'p' });
  const res = await request('POST', '/api/v1/auth/login', { raw: big, headers: { 'Content-Type': 'application/json' } });
  assertError(res, 413, 'PAYLOAD_TOO_LARGE');
});

test('a body over nginx client_max_body_size is a JSON 413 from nginx', async () => {
  const res = await request('POST', '/api/v1/auth/login', { raw: 'x'.repeat(12 * 1024 * 1024), headers: { 'Content-Type': 'application/json' } });
  assert.equal(res.status, 413);
  assert.equal(res.json.error.code, 'PAYLOAD_TOO_LARGE');
});

test('a body that is not JSON is a 415', async () => {
  const res = await request('POST', '/api/v1/auth/login', { raw: 'email=a', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assertError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
});

test('malformed JSON is a 400 MALFORMED_JSON', async () => {
  for (const raw of ['{"email":', 'null', '[1,2]', '']) {
    const res = await request('POST', '/api/v1/auth/login', { raw, headers: { 'Content-Type': 'application/json' } });
    assertError(res, 400, 'MALFORMED_JSON');
  }
});

function scrape(text, route, status) {
  const re = new RegExp(`^bazaar_http_requests_total\\{route="${route.replace(/[/]/g, '\\/')}",status="${status}"\\} (\\d+)$`, 'm');
  const m = text.match(re);
  return m ? Number(m[1]) : 0;
}

test('metrics count the requests served, across fcgi processes', async () => {
  const before = await get('/metrics');
  assert.equal(before.status, 200);
  assert.match(before.headers.get('content-type'), /^text\/plain/);
  const n0 = scrape(before.text, 'GET /api/v1/ping', 200);
  const m0 = scrape(before.text, 'unmatched', 404);
  const N = 50;
  await Promise.all(Array.from({ length: N }, () => get('/api/v1/ping')));
  await get('/api/v1/nope-1');
  const after = await get('/metrics');
  assert.equal(scrape(after.text, 'GET /api/v1/ping', 200), n0 + N);
  assert.equal(scrape(after.text, 'unmatched', 404), m0 + 1);
  assert.match(after.text, /bazaar_http_request_duration_seconds_bucket\{route="GET \/api\/v1\/ping",le="\+Inf"\} \d+/);
});

async function timedHealth() {
  // The contract: never longer than 2 s. The client gives up at 2.5 s.
  return get('/api/v1/health', { timeoutMs: 2500 });
}

test('health is 503 while Postgres is stopped, and ok again after it restarts', async () => {
  svc('stop', 'postgres');
  try {
    const res = await timedHealth();
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.success, false);
    assert.equal(res.json.data.status, 'degraded');
    assert.equal(res.json.data.postgres, 'down');
    assert.equal(res.json.data.redis, 'up');
  } finally {
    svc('start', 'postgres');
  }
  await waitFor('health ok after postgres restart', async () => (await timedHealth()).status === 200);
  // A route that runs SQL on the thread's own connection recovers too (no restart of bazaar-fcgi).
  await waitFor('login works again', async () => {
    const r = await post('/api/v1/auth/login', { email: 'user1@example.com', password: 'user-password-1' });
    return r.status === 200;
  });
});

test('health is 503 while Redis is stopped, and ok again after it restarts', async () => {
  svc('stop', 'redis');
  try {
    const res = await timedHealth();
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.data.redis, 'down');
    assert.equal(res.json.data.postgres, 'up');
  } finally {
    svc('start', 'redis');
  }
  await waitFor('health ok after redis restart', async () => (await timedHealth()).status === 200);
});

function pidOf(file) {
  return Number(readFileSync(file, 'utf8').split('\n')[0]);
}

test('health answers within 2 s when Postgres hangs (SIGSTOP)', async () => {
  const pid = pidOf(`${VAR}/postgres/postmaster.pid`);
  process.kill(pid, 'SIGSTOP');
  try {
    const res = await timedHealth();
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.data.postgres, 'down');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await waitFor('health ok after postgres resumes', async () => (await timedHealth()).status === 200);
});

test('health answers within 2 s when Redis hangs (SIGSTOP)', async () => {
  const pid = pidOf(`${VAR}/run/redis.pid`);
  process.kill(pid, 'SIGSTOP');
  try {
    const res = await timedHealth();
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.data.redis, 'down');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await waitFor('health ok after redis resumes', async () => (await timedHealth()).status === 200);
});

test('metrics endpoint and nginx-ping are loopback only: 127.0.0.2 gets a JSON 403', async () => {
  for (const path of ['/metrics', '/nginx-ping']) {
    assertError(await requestFrom('127.0.0.2', 'GET', path), 403, 'FORBIDDEN');
    assert.equal((await get(path)).status, 200);
  }
});
