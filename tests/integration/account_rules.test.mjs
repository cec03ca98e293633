// The account length rules live once in C++ (kEmailRule, kUsernameRule,
// kPasswordRule in shared/include/bazaar/users/user_service.hpp) and again as
// the database's CHECK constraints (migrations 0001, 0003), the second line
// of defence. This suite reads the C++ constants from the header and shows
// both lines agree at every boundary: through the API (the handler and the
// service) and straight against Postgres (the CHECKs), in code points, with
// multi-byte characters so a byte count would disagree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { post, psql, assertError } from '../lib/client.mjs';

const ROOT = process.env.BAZAAR_ROOT || process.cwd();
const header = fs.readFileSync(path.join(ROOT, 'shared/include/bazaar/users/user_service.hpp'), 'utf8');

function rule(name) {
  const m = header.match(new RegExp(`${name}\\{\\.min = (\\d+), \\.max = (\\d+)\\}`));
  assert.ok(m, `${name} not found in user_service.hpp`);
  return { min: Number(m[1]), max: Number(m[2]) };
}
const EMAIL = rule('kEmailRule');
const USERNAME = rule('kUsernameRule');
const PASSWORD = rule('kPasswordRule');

const HASH = '$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const sqlText = (s) => `'${s.replaceAll("'", "''")}'`;

// One INSERT, rolled back: 'accepted' or 'refused' (a CHECK violation; any
// other error fails the test).
function dbVerdict(email, username) {
  try {
    psql(`BEGIN; INSERT INTO users (email, username, password_hash) VALUES (${sqlText(email)}, ${sqlText(username)}, ${sqlText(HASH)}); ROLLBACK`);
    return 'accepted';
  } catch (e) {
    assert.match(String(e.stderr), /violates check constraint "users_(email|username)_check"/);
    return 'refused';
  }
}

// An address of exactly n code points (é is two bytes, one code point).
function emailOf(n) {
  const domain = `@${crypto.randomBytes(3).toString('hex')}.example`;
  const local = 'é'.repeat(Math.max(1, n - domain.length));
  const e = local + domain;
  assert.equal([...e].length, n);
  return e;
}
// The API takes ASCII addresses only since issue 18 (the mailer cannot
// deliver to others: 400), so through the API the email boundary is in
// ASCII, where code points and bytes are the same count.
function asciiEmailOf(n) {
  const domain = `@${crypto.randomBytes(3).toString('hex')}.example`;
  return 'e'.repeat(Math.max(1, n - domain.length)) + domain;
}
const okEmail = () => emailOf(30);
const okApiEmail = () => asciiEmailOf(30);
const okUsername = 'rules';

test('the constants are the ones the header declares (sanity of the parser)', () => {
  assert.ok(EMAIL.min >= 3 && EMAIL.max > EMAIL.min);
  assert.ok(USERNAME.min >= 1 && USERNAME.max > USERNAME.min);
  assert.ok(PASSWORD.min >= 8 && PASSWORD.max > PASSWORD.min);
});

test('username: the CHECK and the API agree at both boundaries, in code points', async () => {
  for (const [len, ok] of [[USERNAME.max, true], [USERNAME.max + 1, false], [USERNAME.min, true]]) {
    const name = 'ü'.repeat(len);
    assert.equal(dbVerdict(okEmail(), name), ok ? 'accepted' : 'refused', `db, username of ${len}`);
    const res = await post('/api/v1/auth/register', { email: okApiEmail(), username: name, password: 'rules-password-1' });
    if (ok) assert.equal(res.status, 201, `api, username of ${len}: ${res.text}`);
    else assert.equal(assertError(res, 400, 'VALIDATION_FAILED').details[0].field, 'username');
  }
  if (USERNAME.min > 0) {
    assert.equal(dbVerdict(okEmail(), ''), 'refused');
    assertError(await post('/api/v1/auth/register', { email: okApiEmail(), username: '', password: 'rules-password-1' }), 400, 'VALIDATION_FAILED');
  }
});

test('email: the CHECK and the API agree at the upper boundary, in code points', async () => {
  assert.equal(dbVerdict(emailOf(EMAIL.max), okUsername), 'accepted');
  assert.equal(dbVerdict(emailOf(EMAIL.max + 1), okUsername), 'refused');
  const at = await post('/api/v1/auth/register', { email: asciiEmailOf(EMAIL.max), username: okUsername, password: 'rules-password-1' });
  assert.equal(at.status, 201, at.text);
  const over = await post('/api/v1/auth/register', { email: asciiEmailOf(EMAIL.max + 1), username: okUsername, password: 'rules-password-1' });
  assert.equal(assertError(over, 400, 'VALIDATION_FAILED').details[0].field, 'email');
  // A multi-byte address within the length is refused for what it is (not deliverable), not for its length.
  const intl = assertError(await post('/api/v1/auth/register', { email: emailOf(EMAIL.max), username: okUsername, password: 'rules-password-1' }), 400, 'VALIDATION_FAILED');
  assert.match(intl.details[0].reason, /ASCII/);
  // Below the minimum: the database refuses what the API never sends.
  assert.equal(dbVerdict('a'.repeat(EMAIL.min - 1), okUsername), 'refused');
});

test('password: the API enforces both boundaries in code points (the database stores only the hash)', async () => {
  for (const [len, ok] of [[PASSWORD.min - 1, false], [PASSWORD.min, true], [PASSWORD.max, true], [PASSWORD.max + 1, false]]) {
    const res = await post('/api/v1/auth/register', { email: okApiEmail(), username: okUsername, password: 'ß'.repeat(len) });
    if (ok) assert.equal(res.status, 201, `password of ${len}: ${res.text}`);
    else assert.equal(assertError(res, 400, 'VALIDATION_FAILED').details[0].field, 'password');
  }
  assert.equal(dbVerdict(okEmail(), okUsername), 'accepted');
});
