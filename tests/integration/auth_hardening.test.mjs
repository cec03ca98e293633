// Issue 7 ("Hardening"), auth and input, through nginx against the real
// stack: the published JWT secret, email normalisation and NUL bytes, reset
// tokens, the per-user "not before" stamp, the refresh reuse window, and
// bodies on routes that take none. Each test failed before its fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { request, get, post, assertError, waitFor, redisCli, psql, svc } from '../lib/client.mjs';
import {
  login, loginAdmin, registerUser, uniqueEmail, signJwt, requestFrom, freshLoopback,
} from '../lib/auth_helpers.mjs';
import { mailsTo } from '../lib/mail.mjs';

const ROOT = process.env.BAZAAR_ROOT || process.cwd();
const BUILD = process.env.BUILD_DIR || path.join(ROOT, 'build');
const VAR = process.env.BAZAAR_VAR_DIR || path.join(ROOT, 'var/test');
const nowS = () => Math.floor(Date.now() / 1000);
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

function publishedSecrets() {
  return fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8').split('\n')
    .map((l) => l.match(/^[#\s]*JWT_SECRET=(.*)$/)).filter(Boolean).map((m) => m[1]);
}

/* ---- item 2: the published secret ---- */

test('a process started with the secret documented in .env.example refuses to start, in one line', () => {
  const secrets = publishedSecrets();
  assert.ok(secrets.length >= 1);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'bazaar-secret-'));
  for (const bin of ['fcgi/bazaar-fcgi', 'workers/bazaar-worker', 'ws/bazaar-ws']) {
    for (const secret of [...secrets, 'dev-only-jwt-secret-never-use-in-production-0123456789']) {
      const r = spawnSync(path.join(BUILD, bin), [], {
        cwd, timeout: 15000, encoding: 'utf8',
        env: { ...process.env, JWT_SECRET: secret, APP_ENV: 'development', FCGI_SOCKET: path.join(cwd, 's.sock') },
      });
      assert.notEqual(r.status, 0, `${bin} started with ${secret}: ${r.stderr}`);
      assert.ok(r.status !== null, `${bin} kept running with the published secret`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /JWT_SECRET/);
    }
  }
  fs.rmSync(cwd, { recursive: true, force: true });
});

test('the running stack signs with a generated secret: tokens minted with the documented one are 401', async () => {
  const u = await registerUser('secret');
  for (const secret of [...publishedSecrets(), 'dev-only-jwt-secret-never-use-in-production-0123456789']) {
    const forged = signJwt({ sub: u.user.id, role: 'admin', iat: nowS(), exp: nowS() + 600 }, { secret });
    assertError(await get('/api/v1/auth/profile', { token: forged }), 401, 'UNAUTHENTICATED');
    assertError(await get('/api/v1/admin/queues', { token: forged }), 401, 'UNAUTHENTICATED');
  }
  assert.notEqual(process.env.JWT_SECRET, undefined, 'scripts/stack exports the generated secret');
  assert.ok(!publishedSecrets().includes(process.env.JWT_SECRET));
});

/* ---- item 4: email normalisation, NUL and control characters, no DETAIL in logs ---- */

// Issue 18, item 9 changed this rule: a non-ASCII address registers no more
// (400 naming email: the mailer can never deliver to it). 'İx…' lower-cases
// to ASCII 'ix…' as Postgres does, so it still registers.
test('emails are lower-cased as Postgres does; non-ASCII ones are 400 (undeliverable), ASCII after lower-casing registers', async () => {
  const tag = `${Date.now()}${process.pid}`;
  for (const raw of [`Ölaf${tag}@example.com`, `ΩMEGA${tag}@example.com`]) {
    const e = assertError(await post('/api/v1/auth/register', { email: raw, username: 'intl', password: 'long-enough-pw' }), 400, 'VALIDATION_FAILED');
    assert.equal(e.details[0].field, 'email');
  }
  const res = await post('/api/v1/auth/register', { email: `İx${tag}@example.com`, username: 'intl', password: 'long-enough-pw' });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.json.data.user.email, `ix${tag}@example.com`);
  assert.equal(psql(`SELECT email = lower(email COLLATE "C.utf8") FROM users WHERE id = '${res.json.data.user.id}'`), 't');
  assert.equal((await post('/api/v1/auth/login', { email: `IX${tag}@EXAMPLE.COM`, password: 'long-enough-pw' })).status, 200);
  assertError(await post('/api/v1/auth/register', { email: `ix${tag}@example.com`, username: 'again', password: 'long-enough-pw' }), 409, 'CONFLICT');
});

test('NUL and control characters are 400 in every string field of every body, and nothing is stored', async () => {
  const u = await registerUser('nul');
  const admin = await loginAdmin();
  let e = assertError(await post('/api/v1/auth/login', { email: `${u.email}\u0000junk`, password: u.password }), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'email');
  const email = uniqueEmail('nulreg');
  e = assertError(await post('/api/v1/auth/register', { email: `${email}\u0000x`, username: 'n', password: 'long-enough-pw' }), 400, 'VALIDATION_FAILED');
  assert.equal(psql(`SELECT count(*) FROM users WHERE email LIKE '${email.split('@')[0]}%'`), '0', 'no truncated address stored');
  assertError(await post('/api/v1/auth/register', { email: uniqueEmail(), username: 'a\u0007b', password: 'long-enough-pw' }), 400, 'VALIDATION_FAILED');
  assertError(await post('/api/v1/auth/register', { email: uniqueEmail(), username: 'ab', password: 'long-enough\u0000pw' }), 400, 'VALIDATION_FAILED');
  assertError(await post('/api/v1/auth/refresh', { refreshToken: `${u.refreshToken}\u0000` }), 400, 'VALIDATION_FAILED');
  assertError(await request('PATCH', '/api/v1/auth/profile', { token: u.accessToken, body: { username: 'x\u0000y' } }), 400, 'VALIDATION_FAILED');
  assertError(await post('/api/v1/auth/password-reset/confirm', { token: 'x\u0000', newPassword: 'long-enough-pw' }), 400, 'VALIDATION_FAILED');
  assertError(await post('/api/v1/auth/password-reset/request', { email: `${u.email}\u0000` }), 400, 'VALIDATION_FAILED');
  const book = { title: 'T\u0000', author: 'A', priceCents: 1, stock: 1, tags: ['ok', 'b\u0000d'] };
  e = assertError(await post('/api/v1/books', book, { token: admin.accessToken }), 400, 'VALIDATION_FAILED');
  assert.deepEqual(e.details.map((d) => d.field).sort(), ['tags[1]', 'title']);
  // URLs too: an escaped NUL in a query is 400, never cut short (in a path
  // nginx refuses it before us).
  assertError(await get('/api/v1/books?q=abc%00def'), 400, 'VALIDATION_FAILED');
  assertError(await get('/api/v1/books?tag=a%00b'), 400, 'VALIDATION_FAILED');
  // The account is untouched.
  assert.equal((await login(u.email, u.password)).user.id, u.user.id);
});

test('no log line carries SQL DETAIL (row contents) or a password hash', async () => {
  // What used to reach the logs: a 500 with "Failing row contains (..., $argon2id$...)".
  await post('/api/v1/auth/register', { email: `Ölaf-log-${Date.now()}@example.com`, username: 'l', password: 'long-enough-pw' });
  const logs = fs.readdirSync(path.join(VAR, 'log')).filter((f) => /^(fcgi|worker)-\d+\.log$/.test(f));
  assert.ok(logs.length > 0);
  for (const f of logs) {
    const text = fs.readFileSync(path.join(VAR, 'log', f), 'utf8');
    assert.ok(!text.includes('Failing row contains'), `${f} has a DETAIL line`);
    assert.ok(!text.includes('DETAIL:'), `${f} has a DETAIL line`);
    assert.ok(!text.includes('$argon2id$'), `${f} has a password hash`);
  }
});

/* ---- item 5: password reset ---- */

// Reset emails the SMTP sink received for `to` (tests/lib/mail.mjs decodes them).
const resetMails = (to) => mailsTo(to, 'password_reset');
const tokenOf = (mail) => mail.text.match(/\n {4}([0-9a-f-]{36}\.[0-9a-f]{64})\r\n/)[1];

test('password reset: confirming one token invalidates every outstanding one', async () => {
  const u = await registerUser('tworeset');
  assert.equal((await post('/api/v1/auth/password-reset/request', { email: u.email })).status, 202);
  assert.equal((await post('/api/v1/auth/password-reset/request', { email: u.email })).status, 202);
  let mails;
  await waitFor('two reset emails', () => (mails = resetMails(u.email)).length === 2);
  const [t1, t2] = mails.map(tokenOf);
  assert.notEqual(t1, t2);
  assert.equal((await post('/api/v1/auth/password-reset/confirm', { token: t1, newPassword: 'first-new-password' })).status, 204);
  const e = assertError(await post('/api/v1/auth/password-reset/confirm', { token: t2, newPassword: 'second-new-password' }), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'token');
  assert.equal((await post('/api/v1/auth/login', { email: u.email, password: 'first-new-password' })).status, 200);
  assertError(await post('/api/v1/auth/login', { email: u.email, password: 'second-new-password' }), 401, 'UNAUTHENTICATED');
});

test('password reset: the token is in the email only, not in the job admins can read nor in the AOF', async () => {
  const u = await registerUser('resetjob');
  const admin = await loginAdmin();
  await post('/api/v1/auth/password-reset/request', { email: u.email });
  let mails;
  await waitFor('reset email', () => (mails = resetMails(u.email)).length === 1);
  const token = tokenOf(mails[0]);
  const secretPart = token.split('.')[1];
  const jobId = mails[0].header('x-bazaar-job');
  const job = await get(`/api/v1/admin/queues/email/jobs/${encodeURIComponent(jobId)}`, { token: admin.accessToken });
  assert.equal(job.status, 200, job.text);
  assert.ok(job.json.data, 'the job is listed');
  assert.deepEqual(job.json.data.data, { email: u.email });
  assert.ok(!job.text.includes(secretPart), 'the token is not in the job');
  redisCli('BGREWRITEAOF');
  const files = [];
  const walk = (d) => { for (const f of fs.readdirSync(d)) { const p = path.join(d, f); if (fs.statSync(p).isDirectory()) walk(p); else files.push(p); } };
  // One Redis keeps its files in var/redis, a cluster's nodes theirs in var/redis-cluster/<port>.
  for (const d of ['redis', 'redis-cluster']) if (fs.existsSync(path.join(VAR, d))) walk(path.join(VAR, d));
  assert.ok(files.some((f) => f.includes('appendonly')), 'no AOF found to check');
  for (const f of files) assert.ok(!fs.readFileSync(f).includes(secretPart), `${f} holds the raw token`);
  // Stored as its SHA-256 only, in the user's hash, for one hour.
  const key = `{u:${u.user.id}}:pwreset`;
  assert.ok(Number(redisCli('HEXISTS', key, sha256(token))) === 1);
  const ttl = Number(redisCli('TTL', key));
  assert.ok(ttl > 3500 && ttl <= 3600, `ttl ${ttl}`);
});

test('password reset request: a known and an unknown address take the same path (one job each)', async () => {
  const admin = await loginAdmin();
  const ghost = uniqueEmail('ghost');
  assert.equal((await post('/api/v1/auth/password-reset/request', { email: ghost })).status, 202);
  // The unknown address is looked up by the job, which completes without mail.
  let found;
  await waitFor('the ghost job', async () => {
    const res = await get('/api/v1/admin/queues/email/jobs?state=completed&limit=100', { token: admin.accessToken });
    found = res.json?.data?.find((j) => j.data?.email === ghost);
    return found;
  });
  assert.equal(found.name, 'password_reset');
  assert.equal(resetMails(ghost).length, 0);
});

/* ---- item 6: access tokens end with their session ---- */

test('logout ends the access token at once (writes, cached reads); a new login works right away', async () => {
  const u = await registerUser('nbf');
  assert.equal((await get('/api/v1/auth/profile', { token: u.accessToken })).status, 200);  // warm the cache
  assert.equal((await post('/api/v1/auth/logout', undefined, { token: u.accessToken })).status, 204);
  assertError(await get('/api/v1/auth/profile', { token: u.accessToken }), 401, 'UNAUTHENTICATED');
  assertError(await request('PATCH', '/api/v1/auth/profile', { token: u.accessToken, body: { username: 'z' } }), 401, 'UNAUTHENTICATED');
  assertError(await post('/api/v1/books/1/favorite', undefined, { token: u.accessToken }), 401, 'UNAUTHENTICATED');
  // Also from a rate-limited (non-exempt) address: the stamp rides in the limiter's round trip.
  const r = await requestFrom(freshLoopback(), 'GET', '/api/v1/auth/profile', { headers: { Authorization: `Bearer ${u.accessToken}` } });
  assert.equal(r.status, 401, r.text);
  const again = await login(u.email, u.password);
  assert.equal((await get('/api/v1/auth/profile', { token: again.accessToken })).status, 200);
  const r2 = await requestFrom(freshLoopback(), 'GET', '/api/v1/auth/profile', { headers: { Authorization: `Bearer ${again.accessToken}` } });
  assert.equal(r2.status, 200, r2.text);
});

test('password reset ends every access token of the user', async () => {
  const u = await registerUser('nbfreset');
  const other = await login(u.email, u.password);
  await post('/api/v1/auth/password-reset/request', { email: u.email });
  let mails;
  await waitFor('reset email', () => (mails = resetMails(u.email)).length === 1);
  assert.equal((await post('/api/v1/auth/password-reset/confirm', { token: tokenOf(mails[0]), newPassword: 'after-reset-pw' })).status, 204);
  for (const t of [u.accessToken, other.accessToken]) assertError(await get('/api/v1/auth/profile', { token: t }), 401, 'UNAUTHENTICATED');
  assert.equal((await get('/api/v1/auth/profile', { token: (await login(u.email, 'after-reset-pw')).accessToken })).status, 200);
});

test('a validly signed token whose sub is not a user, or not a canonical UUID, is 401, not 500', async () => {
  const secret = process.env.JWT_SECRET;
  const claims = (sub) => ({ sub, role: 'user', iat: nowS(), exp: nowS() + 600 });
  const u = await registerUser('sub');
  for (const sub of ['not-a-uuid', '42', crypto.randomUUID(), u.user.id.toUpperCase()]) {
    const t = signJwt(claims(sub), { secret });
    assertError(await post('/api/v1/books/1/favorite', undefined, { token: t }), 401, 'UNAUTHENTICATED');
    assertError(await get('/api/v1/auth/profile', { token: t }), 401, 'UNAUTHENTICATED');
  }
});

/* ---- item 7: refresh reuse window ---- */

test('refresh retried with the same token (lost response) gets the same new pair; the session survives', async () => {
  const u = await registerUser('retry');
  const a = await post('/api/v1/auth/refresh', { refreshToken: u.refreshToken });
  const b = await post('/api/v1/auth/refresh', { refreshToken: u.refreshToken });
  assert.equal(a.status, 200, a.text);
  assert.equal(b.status, 200, b.text);
  assert.equal(b.json.data.refreshToken, a.json.data.refreshToken, 'same new refresh token');
  assert.equal((await get('/api/v1/auth/profile', { token: b.json.data.accessToken })).status, 200);
  const c = await post('/api/v1/auth/refresh', { refreshToken: a.json.data.refreshToken });
  assert.equal(c.status, 200, 'the family was not revoked');
});

test('refresh theft still revokes: the spent token again after its successor was used', async () => {
  const u = await registerUser('theft');
  const a = await post('/api/v1/auth/refresh', { refreshToken: u.refreshToken });
  const b = await post('/api/v1/auth/refresh', { refreshToken: a.json.data.refreshToken });
  assert.equal(b.status, 200);
  assertError(await post('/api/v1/auth/refresh', { refreshToken: u.refreshToken }), 401, 'UNAUTHENTICATED');
  assertError(await post('/api/v1/auth/refresh', { refreshToken: b.json.data.refreshToken }), 401, 'UNAUTHENTICATED');
  // ...and the access tokens of the family end too.
  assertError(await get('/api/v1/auth/profile', { token: b.json.data.accessToken }), 401, 'UNAUTHENTICATED');
});

/* ---- item 10: usernames, currency, bodies on routes without one, limiter without Redis ---- */

test('usernames blank after trimming or with bidi/format controls are 400', async () => {
  for (const username of ['   ', '\u3000', '\u00a0 ', 'admin\u202e', 'ad\u200bmin', '\ufeffadmin', 'x\u2066y']) {
    const e = assertError(await post('/api/v1/auth/register', { email: uniqueEmail('un'), username, password: 'long-enough-pw' }), 400, 'VALIDATION_FAILED');
    assert.equal(e.details[0].field, 'username', JSON.stringify(username));
  }
  const u = await registerUser('unpatch');
  assertError(await request('PATCH', '/api/v1/auth/profile', { token: u.accessToken, body: { username: 'admin\u202e' } }), 400, 'VALIDATION_FAILED');
});

test('currency must be an ISO 4217 code from the list', async () => {
  const admin = await loginAdmin();
  const base = { title: 'Currency book', author: 'A', priceCents: 100, stock: 1 };
  for (const currency of ['ABC', 'XXX', 'usd']) {
    const e = assertError(await post('/api/v1/books', { ...base, currency }, { token: admin.accessToken }), 400, 'VALIDATION_FAILED');
    assert.equal(e.details[0].field, 'currency');
  }
  const ok = await post('/api/v1/books', { ...base, currency: 'EUR' }, { token: admin.accessToken });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.data.currency, 'EUR');
});

test('a body sent to logout or favorite is validated like any other', async () => {
  const u = await registerUser('body');
  const json = { 'Content-Type': 'application/json' };
  assertError(await post('/api/v1/auth/logout', { everything: true }, { token: u.accessToken }), 400, 'VALIDATION_FAILED');
  assertError(await request('POST', '/api/v1/auth/logout', { token: u.accessToken, raw: '{"a":', headers: json }), 400, 'MALFORMED_JSON');
  assertError(await request('POST', '/api/v1/auth/logout', { token: u.accessToken, raw: 'x', headers: { 'Content-Type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  // ...and changed nothing: the session still works.
  assert.equal((await get('/api/v1/auth/profile', { token: u.accessToken })).status, 200);
  const book = (await get('/api/v1/books?limit=1')).json.data[0];
  const before = (await get(`/api/v1/books/${book.id}`)).json.data.favoriteCount;
  assertError(await post(`/api/v1/books/${book.id}/favorite`, { bookId: 'other' }, { token: u.accessToken }), 400, 'VALIDATION_FAILED');
  assertError(await request('DELETE', `/api/v1/books/${book.id}/favorite`, { token: u.accessToken, raw: '[1]', headers: json }), 400, 'MALFORMED_JSON');
  assert.equal((await get(`/api/v1/books/${book.id}`)).json.data.favoriteCount, before);
  assert.equal((await post(`/api/v1/books/${book.id}/favorite`, {}, { token: u.accessToken })).status, 204);
  assert.equal((await post('/api/v1/auth/logout', {}, { token: u.accessToken })).status, 204);
});

test('with Redis down the credential routes fall back to a per-process limit instead of none', async () => {
  const ip = freshLoopback();
  svc('stop', 'redis');
  try {
    const statuses = [];
    for (let i = 0; i < 45; i++) {
      const r = await requestFrom(ip, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: 'not-a-token' } });
      statuses.push(r.status);
    }
    const limited = statuses.filter((s) => s === 429).length;
    // A burst of 10 (+1 per 6 s) per process, FCGI_PROCESSES of them: the rest are refused.
    const procs = Number(process.env.FCGI_PROCESSES || 2);
    assert.ok(limited >= 45 - procs * 12, `statuses ${statuses.join(',')}`);
    assert.ok(statuses.every((s) => s === 429 || s === 401), `statuses ${statuses.join(',')}`);
  } finally {
    svc('start', 'redis');
  }
  await waitFor('redis back', async () => (await get('/api/v1/health')).status === 200);
});
