// Rate limits (API.md §2) through nginx against the real stack. Budgets are
// per client IP (per user when authenticated) and the test stack exempts
// only 127.0.0.1, so each test speaks from its own loopback address
// (127.x.y.z) and gets the production limits: 10/min on credential routes,
// 600/min elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { assertError, redisCli } from '../lib/client.mjs';
import { requestFrom, freshLoopback, loginUser } from '../lib/auth_helpers.mjs';

const RUN = path.join(process.env.BAZAAR_VAR_DIR || 'var/test', 'run');

function assertRateHeaders(res, limit) {
  assert.equal(res.headers.get('ratelimit-limit'), String(limit), res.text);
  const remaining = Number(res.headers.get('ratelimit-remaining'));
  const reset = Number(res.headers.get('ratelimit-reset'));
  assert.ok(Number.isInteger(remaining) && remaining >= 0 && remaining < limit, `remaining ${remaining}`);
  assert.ok(Number.isInteger(reset) && reset >= 0 && reset <= 60, `reset ${reset}`);
  return remaining;
}

test('credential routes: 10 per minute per IP, shared by every fcgi process, then 429 with Retry-After', async () => {
  const sockets = fs.readdirSync(RUN).filter((f) => /^fcgi-\d+\.sock$/.test(f));
  assert.ok(sockets.length >= 2, 'the stack runs several fcgi processes');
  const ip = freshLoopback();
  const statuses = [];
  let last;
  // nginx spreads these over the processes round-robin: a per-process
  // budget would let 10 x processes through.
  // A malformed refresh token is refused without Postgres or hashing: the
  // statuses below depend on the limiter alone.
  for (let i = 0; i < 14; i++) {
    last = await requestFrom(ip, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: 'not-a-token' } });
    statuses.push(last.status);
    if (last.status !== 429) {
      const remaining = assertRateHeaders(last, 10);
      assert.equal(remaining, 9 - i, 'remaining counts down across processes');
    }
  }
  assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
  assert.deepEqual(statuses.slice(10), Array(4).fill(429));
  const e = assertError(last, 429, 'RATE_LIMITED');
  assert.ok(e.message.length > 0);
  const retry = Number(last.headers.get('retry-after'));
  assert.ok(retry >= 1 && retry <= 6, `Retry-After ${retry}: one request is back every 6 s`);
  assert.equal(last.headers.get('ratelimit-remaining'), '0');
  // The budget is per IP: another address is untouched.
  const other = await requestFrom(freshLoopback(), 'POST', '/api/v1/auth/password-reset/request', { body: { email: 'a@example.com' } });
  assert.equal(other.status, 202);
  assert.equal(other.headers.get('ratelimit-remaining'), '9');
  // One key in Redis per client, expiring by itself.
  const ttl = Number(redisCli('PTTL', `rl:{auth:ip:${ip}}`));
  assert.ok(ttl > 0 && ttl <= 60000, `pttl ${ttl}`);
});

test('every limited route sends RateLimit headers, on success and on errors', async () => {
  const ip = freshLoopback();
  for (const [method, p, status] of [
    ['GET', '/api/v1/books?limit=1', 200], ['GET', '/api/v1/books/999999999', 404], ['GET', '/api/v1/tags', 200],
    ['GET', '/api/v1/auth/profile', 401], ['GET', '/api/v1/books?limit=0', 400], ['POST', '/api/v1/books', 401],
  ]) {
    const res = await requestFrom(ip, method, p, method === 'POST' ? { body: {} } : {});
    assert.equal(res.status, status, `${method} ${p}: ${res.text}`);
    assertRateHeaders(res, 600);
  }
  const ping = await requestFrom(ip, 'GET', '/api/v1/ping');
  assert.equal(ping.headers.get('ratelimit-limit'), null, 'operations routes are not limited');
});

// Spends `ip`'s budget until the first 429; returns how many were allowed
// and the time it took. GCRA gives one request back every window/limit
// (100 ms at 600/min), so a budget spent over `ms` allows 600 plus at most
// ms / 100 + 1 requests: the bound below follows from the algorithm, it is
// not a speed expectation.
async function spendUntilRefused(ip, headers = {}) {
  const started = Date.now();
  let allowed = 0;
  let refused;
  while (!refused && allowed < 2000) {
    const batch = await Promise.all(Array.from({ length: 25 }, () => requestFrom(ip, 'GET', '/api/v1/tags', { headers })));
    for (const r of batch) {
      if (r.status === 200) allowed++;
      else if (r.status === 429) refused = refused || r;
      else assert.fail(`unexpected ${r.status}: ${r.text}`);
    }
  }
  return { allowed, refused, ms: Date.now() - started };
}

function assertSpent({ allowed, refused, ms }) {
  assert.ok(refused, 'never refused');
  assert.ok(allowed >= 600, `only ${allowed} allowed`);
  assert.ok(allowed <= 600 + Math.ceil(ms / 100) + 1, `${allowed} allowed in ${ms} ms`);
  assertError(refused, 429, 'RATE_LIMITED');
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
  assert.equal(refused.headers.get('ratelimit-limit'), '600');
  assert.equal(refused.headers.get('ratelimit-remaining'), '0');
}

test('other routes: 600 per minute per anonymous IP, then 429', async () => {
  assertSpent(await spendUntilRefused(freshLoopback()));
});

test('authenticated requests are limited per user, not per IP', async () => {
  const ip = freshLoopback();
  const alice = await loginUser(4);
  const bob = await loginUser(5);
  const auth = (s) => ({ Authorization: `Bearer ${s.accessToken}` });
  assertSpent(await spendUntilRefused(ip, auth(alice)));
  // Bob, from the same address, has his own budget; so does the anonymous IP.
  const b = await requestFrom(ip, 'GET', '/api/v1/tags', { headers: auth(bob) });
  assert.equal(b.status, 200);
  assert.equal(b.headers.get('ratelimit-remaining'), '599');
  const anon = await requestFrom(ip, 'GET', '/api/v1/tags');
  assert.equal(anon.status, 200);
});
