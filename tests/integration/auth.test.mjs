// Auth (API.md §2) through nginx against the real stack: register, login,
// refresh rotation and theft detection, logout, profile, password reset via
// the email queue, token security and roles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { request, get, post, assertError, waitFor, redisCli, psql } from '../lib/client.mjs';
import {
  login, loginAdmin, loginUser, registerUser, uniqueEmail, signJwt, decodeJwt, DEV_JWT_SECRET,
} from '../lib/auth_helpers.mjs';
import { mailsTo } from '../lib/mail.mjs';

const nowS = () => Math.floor(Date.now() / 1000);

function assertUserShape(u) {
  assert.deepEqual(Object.keys(u).sort(), ['createdAt', 'email', 'id', 'role', 'username']);
  assert.match(u.id, /^[0-9a-f-]{36}$/);
  assert.match(u.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
}

test('register returns 201 with user and tokens, sets an HttpOnly cookie, and the cookie authenticates', async () => {
  const email = uniqueEmail('reg');
  const res = await post('/api/v1/auth/register', { email: email.toUpperCase(), username: 'Reader', password: 'long-enough-pw' });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.json.success, true);
  const { user, accessToken, refreshToken } = res.json.data;
  assertUserShape(user);
  assert.equal(user.email, email, 'email is normalised to lower case');
  assert.equal(user.role, 'user');
  assert.ok(!res.text.includes('argon2'), 'no password hash in the response');
  const claims = decodeJwt(accessToken);
  assert.equal(claims.sub, user.id);
  assert.equal(claims.role, 'user');
  assert.equal(claims.exp - claims.iat, 900);
  assert.match(refreshToken, /^[0-9a-f-]{36}\.[0-9a-f]{64}$/);
  const cookie = res.headers.get('set-cookie');
  assert.match(cookie, /accessToken=[^;]+/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  const viaCookie = await get('/api/v1/auth/profile', { headers: { Cookie: cookie.split(';')[0] } });
  assert.equal(viaCookie.status, 200, viaCookie.text);
  assert.equal(viaCookie.json.data.id, user.id);
  const viaBearer = await get('/api/v1/auth/profile', { token: accessToken });
  assert.equal(viaBearer.json.data.email, email);
});

test('register validation: duplicate email 409, bad fields 400 naming each field, unknown fields rejected', async () => {
  const u = await registerUser('dup');
  assertError(await post('/api/v1/auth/register', { email: u.email, username: 'x', password: 'another-pw-1' }), 409, 'CONFLICT');
  let e = assertError(await post('/api/v1/auth/register', { email: 'not-an-email', username: 'x', password: 'long-enough-pw' }), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'email');
  e = assertError(await post('/api/v1/auth/register', { email: uniqueEmail(), username: 'x', password: 'short' }), 400, 'VALIDATION_FAILED');
  assert.deepEqual(e.details.map((d) => d.field), ['password']);
  e = assertError(await post('/api/v1/auth/register', { email: uniqueEmail(), username: 'x', password: 'p'.repeat(129) }), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'password');
  e = assertError(await post('/api/v1/auth/register', { email: uniqueEmail(), username: 'x', password: 'long-enough-pw', role: 'admin' }), 400, 'VALIDATION_FAILED');
  assert.deepEqual(e.details, [{ field: 'role', reason: 'is not a known field' }]);
  e = assertError(await post('/api/v1/auth/register', { email: 42, password: ['x'] }), 400, 'VALIDATION_FAILED');
  assert.deepEqual(e.details.map((d) => d.field).sort(), ['email', 'password', 'username']);
  assertError(await request('POST', '/api/v1/auth/register', { raw: '{"email":', headers: { 'Content-Type': 'application/json' } }), 400, 'MALFORMED_JSON');
  assertError(await request('POST', '/api/v1/auth/register', { raw: 'email=a', headers: { 'Content-Type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
});

test('login: right password 200, wrong password and unknown email give the same 401', async () => {
  const u = await registerUser('login');
  const ok = await post('/api/v1/auth/login', { email: u.email, password: u.password });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.data.user.id, u.user.id);
  const wrong = assertError(await post('/api/v1/auth/login', { email: u.email, password: 'wrong-password' }), 401, 'UNAUTHENTICATED');
  const unknown = assertError(await post('/api/v1/auth/login', { email: uniqueEmail('nobody'), password: 'wrong-password' }), 401, 'UNAUTHENTICATED');
  assert.equal(wrong.message, unknown.message, 'no user enumeration');
  assertError(await post('/api/v1/auth/login', { email: u.email }), 400, 'VALIDATION_FAILED');
});

test('refresh rotates: the new pair works, the old refresh token is spent, reuse revokes the family', async () => {
  const u = await registerUser('rot');
  const first = await post('/api/v1/auth/refresh', { refreshToken: u.refreshToken });
  assert.equal(first.status, 200, first.text);
  const r1 = first.json.data.refreshToken;
  assert.notEqual(r1, u.refreshToken);
  assert.equal(decodeJwt(first.json.data.accessToken).sub, u.user.id);
  const second = await post('/api/v1/auth/refresh', { refreshToken: r1 });
  assert.equal(second.status, 200, second.text);
  const r2 = second.json.data.refreshToken;

  // The original token was spent: presenting it again is theft detection.
  assertError(await post('/api/v1/auth/refresh', { refreshToken: u.refreshToken }), 401, 'UNAUTHENTICATED');
  // ...which revoked every token of the user, including the newest one.
  assertError(await post('/api/v1/auth/refresh', { refreshToken: r2 }), 401, 'UNAUTHENTICATED');
  // A fresh login starts a new, working family.
  const again = await login(u.email, u.password);
  assert.equal((await post('/api/v1/auth/refresh', { refreshToken: again.refreshToken })).status, 200);
});

test('refresh tokens are stored hashed with a 7-day TTL; garbage tokens are 401', async () => {
  const u = await registerUser('ttl');
  const keys = redisCli('--scan', '--pattern', `{u:${u.user.id}}:rt:t:*`).split('\n').filter(Boolean);
  assert.equal(keys.length, 1);
  assert.ok(!keys[0].includes(u.refreshToken.split('.')[1]), 'the raw token is not the key');
  assert.equal(keys[0], `{u:${u.user.id}}:rt:t:${crypto.createHash('sha256').update(u.refreshToken).digest('hex')}`);
  const ttl = Number(redisCli('TTL', keys[0]));
  assert.ok(ttl > 6 * 86400 && ttl <= 7 * 86400, `ttl ${ttl}`);
  for (const bad of ['x', `${u.user.id}.${'0'.repeat(64)}`, `00000000-0000-0000-0000-000000000000.${'a'.repeat(64)}`]) {
    assertError(await post('/api/v1/auth/refresh', { refreshToken: bad }), 401, 'UNAUTHENTICATED');
  }
  assertError(await post('/api/v1/auth/refresh', {}), 400, 'VALIDATION_FAILED');
});

test('logout answers 204, clears the cookie and revokes every refresh token of the user', async () => {
  const u = await registerUser('out');
  const other = await login(u.email, u.password);
  const res = await post('/api/v1/auth/logout', undefined, { token: u.accessToken });
  assert.equal(res.status, 204, res.text);
  assert.match(res.headers.get('set-cookie'), /accessToken=;.*Max-Age=0/);
  assertError(await post('/api/v1/auth/refresh', { refreshToken: u.refreshToken }), 401, 'UNAUTHENTICATED');
  assertError(await post('/api/v1/auth/refresh', { refreshToken: other.refreshToken }), 401, 'UNAUTHENTICATED');
  assertError(await post('/api/v1/auth/logout'), 401, 'UNAUTHENTICATED');
});

test('profile: GET needs a token, PATCH changes the username and the next GET shows it at once', async () => {
  const u = await registerUser('prof');
  assertError(await get('/api/v1/auth/profile'), 401, 'UNAUTHENTICATED');
  const a = await get('/api/v1/auth/profile', { token: u.accessToken });
  assert.equal(a.status, 200);
  assertUserShape(a.json.data);
  const b = await get('/api/v1/auth/profile', { token: u.accessToken });
  assert.equal(b.headers.get('x-cache'), 'HIT');
  for (let i = 0; i < 20; i++) {
    const name = `name-${i}`;
    const p = await request('PATCH', '/api/v1/auth/profile', { token: u.accessToken, body: { username: name } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.data.username, name);
    const g = await get('/api/v1/auth/profile', { token: u.accessToken });
    assert.equal(g.json.data.username, name, `read ${i} after write`);
  }
  let e = assertError(await request('PATCH', '/api/v1/auth/profile', { token: u.accessToken, body: { username: '' } }), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'username');
  e = assertError(await request('PATCH', '/api/v1/auth/profile', { token: u.accessToken, body: { email: 'x@y.z' } }), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'email');
});

test('another user never sees my profile: each token reads its own user, also from the cache', async () => {
  const a = await registerUser('alice');
  const b = await registerUser('bob');
  for (let i = 0; i < 3; i++) {
    assert.equal((await get('/api/v1/auth/profile', { token: a.accessToken })).json.data.id, a.user.id);
    assert.equal((await get('/api/v1/auth/profile', { token: b.accessToken })).json.data.id, b.user.id);
  }
});

test('tokens: alg none, tampered, expired, wrong secret, malformed and missing-claims are all 401', async () => {
  const u = await registerUser('sec');
  const claims = decodeJwt(u.accessToken);
  const cases = {
    algNone: signJwt({ ...claims, role: 'admin' }, { alg: 'none' }),
    tampered: (() => {
      const [h, , s] = u.accessToken.split('.');
      return `${h}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')}.${s}`;
    })(),
    expired: signJwt({ ...claims, iat: nowS() - 3600, exp: nowS() - 60 }),
    wrongSecret: signJwt(claims, { secret: 'another-secret-that-is-long-enough-000000' }),
    hs512: signJwt(claims, { alg: 'HS512' }),
    noExp: signJwt({ sub: claims.sub, role: claims.role, iat: nowS() }),
    badRole: signJwt({ ...claims, role: 'root' }),
    garbage: 'not.a.jwt',
  };
  for (const [name, token] of Object.entries(cases)) {
    const res = await get('/api/v1/auth/profile', { token });
    assertError(res, 401, 'UNAUTHENTICATED');
    const viaCookie = await get('/api/v1/auth/profile', { headers: { Cookie: `accessToken=${token}` } });
    assert.equal(viaCookie.status, 401, `${name} via cookie`);
  }
  assertError(await get('/api/v1/auth/profile', { headers: { Authorization: 'Basic abc' } }), 401, 'UNAUTHENTICATED');
  // The same claims signed with the right secret do work: the cases above fail for their defect.
  assert.equal((await get('/api/v1/auth/profile', { token: signJwt({ ...claims, exp: nowS() + 60 }, { secret: DEV_JWT_SECRET }) })).status, 200);
});

test('roles: catalog writes are 403 for users and 401 anonymously; admin succeeds', async () => {
  const user = await loginUser(2);
  const admin = await loginAdmin();
  const body = { title: 'Role test', author: 'A', priceCents: 100, stock: 1 };
  assertError(await post('/api/v1/books', body), 401, 'UNAUTHENTICATED');
  assertError(await post('/api/v1/books', body, { token: user.accessToken }), 403, 'FORBIDDEN');
  assertError(await request('PATCH', '/api/v1/books/1', { token: user.accessToken, body: { stock: 1 } }), 403, 'FORBIDDEN');
  assertError(await request('DELETE', '/api/v1/books/1', { token: user.accessToken }), 403, 'FORBIDDEN');
  const created = await post('/api/v1/books', body, { token: admin.accessToken });
  assert.equal(created.status, 201, created.text);
  // A token forged to claim admin is refused before any role check.
  const forged = signJwt({ ...decodeJwt(user.accessToken), role: 'admin' }, { secret: 'x'.repeat(40) });
  assertError(await post('/api/v1/books', body, { token: forged }), 401, 'UNAUTHENTICATED');
});

// The decoded text part of the first email `template` sent to `to` (the
// worker sends it over SMTP to the test stack's sink, which stores it).
const findMail = (to, template) => mailsTo(to, template)[0]?.text;

test('register enqueues a welcome email that the worker sends to the SMTP sink', async () => {
  const u = await registerUser('welcome');
  let mail;
  await waitFor('welcome email', () => (mail = mailsTo(u.email, 'welcome')[0]));
  assert.match(mail.header('from'), /<no-reply@/);
  assert.match(mail.header('subject'), /^Welcome to Book Bazar/);
  assert.match(mail.raw, /Content-Type: text\/plain; charset=utf-8/);
  assert.match(mail.text, /your Book Bazar account is ready/);
});

test('password reset: 202 for any email, one-time token by email, new password works, old sessions revoked', async () => {
  const u = await registerUser('reset');
  const unknown = await post('/api/v1/auth/password-reset/request', { email: uniqueEmail('ghost') });
  assert.equal(unknown.status, 202, unknown.text);
  const res = await post('/api/v1/auth/password-reset/request', { email: u.email });
  assert.equal(res.status, 202);
  assert.deepEqual(Object.keys(res.json.data), Object.keys(unknown.json.data), 'same answer either way');
  let mail;
  await waitFor('reset email', () => (mail = findMail(u.email, 'password_reset')));
  const token = mail.match(/\n {4}([0-9a-f-]{36}\.[0-9a-f]{64})\r\n/)[1];

  // A bad new password is refused without spending the token.
  let e = assertError(await post('/api/v1/auth/password-reset/confirm', { token, newPassword: 'short' }), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'newPassword');
  const confirm = await post('/api/v1/auth/password-reset/confirm', { token, newPassword: 'brand-new-password' });
  assert.equal(confirm.status, 204, confirm.text);
  e = assertError(await post('/api/v1/auth/password-reset/confirm', { token, newPassword: 'brand-new-password-2' }), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'token', 'one-time token');
  assertError(await post('/api/v1/auth/login', { email: u.email, password: u.password }), 401, 'UNAUTHENTICATED');
  assert.equal((await post('/api/v1/auth/login', { email: u.email, password: 'brand-new-password' })).status, 200);
  assertError(await post('/api/v1/auth/refresh', { refreshToken: u.refreshToken }), 401, 'UNAUTHENTICATED');
  // "202 always": even a string that is no address answers like any other.
  assert.equal((await post('/api/v1/auth/password-reset/request', { email: 'nope' })).status, 202);
});

test('password reset tokens live one hour and are stored hashed', async () => {
  const u = await registerUser('resetttl');
  await post('/api/v1/auth/password-reset/request', { email: u.email });
  let mail;
  await waitFor('reset email', () => (mail = findMail(u.email, 'password_reset')));
  const token = mail.match(/\n {4}([0-9a-f-]{36}\.[0-9a-f]{64})\r\n/)[1];
  const key = `{u:${u.user.id}}:pwreset`;
  // The hash holds the token's SHA-256 only, never the token.
  assert.deepEqual(redisCli('HKEYS', key).split('\n'), [crypto.createHash('sha256').update(token).digest('hex')]);
  const ttl = Number(redisCli('TTL', key));
  assert.ok(ttl > 3500 && ttl <= 3600, `ttl ${ttl}`);
});

test('passwords are stored as argon2id hashes that verify, never as the password', async () => {
  const u = await registerUser('stored');
  const hash = psql(`SELECT password_hash FROM users WHERE id = '${u.user.id}'`);
  assert.match(hash, /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  assert.ok(!hash.includes(u.password), 'the password is not in the row');
  // The stored string really is a hash of that password: moved to another
  // account, it lets the password in there; the other account's old one no longer works.
  const other = await registerUser('stored2');
  psql(`UPDATE users SET password_hash = '${hash}' WHERE id = '${other.user.id}'`);
  assert.equal((await post('/api/v1/auth/login', { email: other.email, password: u.password })).status, 200);
  assertError(await post('/api/v1/auth/login', { email: other.email, password: 'not-the-password' }), 401, 'UNAUTHENTICATED');
});
