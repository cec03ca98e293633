// Issue 7 (hardening), item 8: the errors nginx produces itself speak the
// API's JSON error shape (bad request line, 403, 413, 414, upstream down or
// slow → 503 UNAVAILABLE), HEAD is answered wherever GET is, and /metrics and
// /nginx-ping refuse clients outside 127.0.0.1 (tested from 127.0.0.2, a real
// second address, not by reading the configuration).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { PORT, get, request, waitFor, assertError } from '../lib/client.mjs';
import { requestFrom } from '../lib/auth_helpers.mjs';

const VAR = process.env.BAZAAR_VAR_DIR;

// Sends `head` as the raw request (for request lines fetch refuses to send)
// and parses the answer.
function rawRequest(head) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port: Number(PORT) });
    let data = '';
    sock.setEncoding('latin1');
    sock.on('data', (c) => { data += c; });
    sock.on('end', () => {
      const [top, ...rest] = data.split('\r\n\r\n');
      const lines = top.split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const headers = new Headers();
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
      }
      const text = rest.join('\r\n\r\n');
      let json;
      try { json = JSON.parse(text); } catch { json = undefined; }
      resolve({ status, headers, text, json });
    });
    sock.on('error', reject);
    sock.setTimeout(10000, () => sock.destroy(new Error('timeout')));
    sock.write(head);
  });
}

test('a NUL byte in the path is a JSON 400', async () => {
  const res = await rawRequest('GET /api/v1/books/%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assertError(res, 400, 'BAD_REQUEST');
  assert.match(res.headers.get('content-type'), /^application\/json/);
});

test('a garbage request line is a JSON 400', async () => {
  const res = await rawRequest('GET /api/v1/ping HTTP/1.1 trailing\r\nHost: x\r\nConnection: close\r\n\r\n');
  assertError(res, 400, 'BAD_REQUEST');
});

// Issue 18 (low): nginx's own 501 (a Transfer-Encoding it does not
// implement) and 505 were its HTML pages.
test('an unsupported Transfer-Encoding is a JSON 501, an unsupported HTTP version a JSON 505', async () => {
  let res = await rawRequest('POST /api/v1/ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n');
  assertError(res, 501, 'NOT_IMPLEMENTED');
  assert.match(res.headers.get('content-type'), /^application\/json/);
  res = await rawRequest('GET /api/v1/ping HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n');
  assertError(res, 505, 'BAD_REQUEST');
  assert.match(res.headers.get('content-type'), /^application\/json/);
});

test('a 100 KB URL is a JSON 414', async () => {
  const res = await rawRequest(`GET /api/v1/books?q=${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assertError(res, 414, 'URI_TOO_LONG');
});

test('a body over nginx\'s limit is a JSON 413', async () => {
  const res = await request('POST', '/api/v1/books/1/images', {
    raw: Buffer.alloc(12 * 1024 * 1024, 1), headers: { 'Content-Type': 'image/png' },
  });
  assertError(res, 413, 'PAYLOAD_TOO_LARGE');
});

test('/metrics and /nginx-ping from 127.0.0.2 are a JSON 403; from 127.0.0.1 they answer', async () => {
  for (const path of ['/metrics', '/nginx-ping']) {
    const res = await requestFrom('127.0.0.2', 'GET', path);
    assertError(res, 403, 'FORBIDDEN');
    assert.equal((await get(path)).status, 200);
  }
});

test('HEAD is answered wherever GET is, with GET\'s status and no body', async () => {
  for (const path of ['/api/v1/ping', '/api/v1/health', '/api/v1/books', '/api/v1/books/1', '/api/v1/tags',
    '/api/v1/books/1/recommendations', '/nginx-ping', '/metrics']) {
    const g = await get(path);
    const h = await request('HEAD', path);
    assert.equal(h.status, g.status, `HEAD ${path}: ${h.status} vs GET ${g.status}`);
    assert.equal(h.text, '', `HEAD ${path} sent a body`);
    assert.ok(h.headers.get('x-request-id'), `HEAD ${path}: no X-Request-Id`);
  }
  const missing = await request('HEAD', '/api/v1/books/999999999');
  assert.equal(missing.status, 404);
  // The Allow header of a 405 names HEAD next to GET.
  const res = await request('PUT', '/api/v1/ping');
  assertError(res, 405, 'METHOD_NOT_ALLOWED');
  assert.match(res.headers.get('allow'), /\bHEAD\b/);
});

function fcgiPids() {
  return [0, 1].map((i) => Number(readFileSync(`${VAR}/run/fcgi-${i}.pid`, 'utf8')));
}

test('an upstream that is too slow is a JSON 503 UNAVAILABLE', async () => {
  const pids = fcgiPids();
  for (const p of pids) process.kill(p, 'SIGSTOP');
  try {
    // NGINX_UPSTREAM_TIMEOUT_S is 4 on the test stack.
    const res = await get('/api/v1/ping', { timeoutMs: 20000 });
    assertError(res, 503, 'UNAVAILABLE');
    assert.match(res.headers.get('content-type'), /^application\/json/);
  } finally {
    for (const p of pids) process.kill(p, 'SIGCONT');
  }
  await waitFor('api back', async () => (await get('/api/v1/ping')).status === 200);
});

test('an upstream that is down is a JSON 503 UNAVAILABLE, for POST and HEAD too', async () => {
  const { execFileSync } = await import('node:child_process');
  const stack = `${process.env.BAZAAR_ROOT || process.cwd()}/scripts/stack`;
  execFileSync(stack, ['_test-svc', 'stop', 'fcgi'], { stdio: 'inherit', env: process.env });
  try {
    assertError(await get('/api/v1/books'), 503, 'UNAVAILABLE');
    assertError(await request('POST', '/api/v1/auth/login', { body: { email: 'a@b.c', password: 'x' } }), 503, 'UNAVAILABLE');
    const h = await request('HEAD', '/api/v1/books');
    assert.equal(h.status, 503);
  } finally {
    execFileSync(stack, ['_test-svc', 'start', 'fcgi'], { stdio: 'inherit', env: process.env });
  }
  await waitFor('api back', async () => (await get('/api/v1/ping')).status === 200);
});
