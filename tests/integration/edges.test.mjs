// Issue 18: edges a hostile client reaches through the REST API. Addresses
// the mailer can never deliver to are refused at registration (item 9), a
// JSON body with a key twice is refused naming the key (low), and a token
// issued in the future is refused (item 10; the WebSocket side is in
// websocket_session.test.mjs, nginx's own 501 in nginx_errors.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, get, post, psql, assertError } from '../lib/client.mjs';
import { loginAdmin, registerUser, signJwt, uniqueEmail } from '../lib/auth_helpers.mjs';

const rawJson = (method, path, text, token) =>
  request(method, path, { raw: text, headers: { 'Content-Type': 'application/json' }, token });

test('a non-ASCII email is 400 VALIDATION_FAILED naming email at registration; no account, no mail queued', async () => {
  for (const local of ['Ölaf', 'zoë', '用户']) {
    const email = `${local}-${Date.now()}-${process.pid}@example.com`;
    const e = assertError(await post('/api/v1/auth/register', { email, username: 'intl', password: 'long-enough-pw' }),
      400, 'VALIDATION_FAILED');
    assert.equal(e.details.length, 1);
    assert.equal(e.details[0].field, 'email');
    assert.match(e.details[0].reason, /ASCII/);
    assert.equal(psql(`SELECT count(*) FROM users WHERE email = lower('${email}')`), '0');
  }
  // A non-ASCII domain (IDN in Unicode form) is the same.
  const idn = `idn-${Date.now()}@bücher.example`;
  assertError(await post('/api/v1/auth/register', { email: idn, username: 'intl', password: 'long-enough-pw' }), 400, 'VALIDATION_FAILED');
  // The password-reset request keeps its one answer for every address.
  const reset = await post('/api/v1/auth/password-reset/request', { email: `Ölaf-${Date.now()}@example.com` });
  assert.equal(reset.status, 202, reset.text);
});

test('a JSON key twice is 400 VALIDATION_FAILED naming the key, and changes nothing', async () => {
  const email = uniqueEmail('dup');
  const other = uniqueEmail('dup');
  const body = `{"email":"${email}","username":"dup","password":"long-enough-pw","email":"${other}"}`;
  const e = assertError(await rawJson('POST', '/api/v1/auth/register', body), 400, 'VALIDATION_FAILED');
  assert.deepEqual(e.details.map((d) => d.field), ['email']);
  assert.equal(psql(`SELECT count(*) FROM users WHERE email IN ('${email}', '${other}')`), '0');

  // Nested, on an authenticated route: the profile keeps its name.
  const u = await registerUser('dup');
  const e2 = assertError(await rawJson('PATCH', '/api/v1/auth/profile', '{"username":"a","username":"b"}', u.accessToken),
    400, 'VALIDATION_FAILED');
  assert.equal(e2.details[0].field, 'username');
  assert.equal((await get('/api/v1/auth/profile', { token: u.accessToken })).json.data.username, 'dup');

  const admin = await loginAdmin();
  const title = `Dup ${Date.now()}`;
  const e3 = assertError(await rawJson('POST', '/api/v1/books',
    `{"title":"${title}","author":"A","priceCents":100,"priceCents":1,"stock":1}`, admin.accessToken), 400, 'VALIDATION_FAILED');
  assert.equal(e3.details[0].field, 'priceCents');
  assert.equal(psql(`SELECT count(*) FROM books WHERE title = '${title}'`), '0');
  // The same key in two different objects is not a duplicate; malformed JSON stays MALFORMED_JSON.
  assertError(await rawJson('POST', '/api/v1/auth/register', '{"email":'), 400, 'MALFORMED_JSON');
});

test('a token issued in the future (beyond 60 s of clock skew) is 401 on the REST API', async () => {
  const u = await registerUser('iat');
  const now = Math.floor(Date.now() / 1000);
  const future = signJwt({ sub: u.user.id, role: 'user', iat: now + 86400, exp: now + 86400 + 900 });
  assertError(await get('/api/v1/auth/profile', { token: future }), 401, 'UNAUTHENTICATED');
  assertError(await get('/api/v1/cart', { token: future }), 401, 'UNAUTHENTICATED');
  // Such a token would also survive a logout (its iat beats the stamp): refused after one too.
  assertError(await post('/api/v1/auth/logout', undefined, { token: future }), 401, 'UNAUTHENTICATED');
  const noIat = signJwt({ sub: u.user.id, role: 'user', exp: now + 900 });
  assertError(await get('/api/v1/auth/profile', { token: noIat }), 401, 'UNAUTHENTICATED');
  assert.equal((await get('/api/v1/auth/profile', { token: u.accessToken })).status, 200);
});
