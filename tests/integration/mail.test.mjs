// Issue 9 (email over SMTP), through the real stack: the API enqueues, the
// worker renders and sends with libcurl to the test stack's SMTP sink
// (scripts/smtp-sink on TEST_SMTP_PORT), which stores each message under
// $BAZAAR_VAR_DIR/mail/; tests/lib/mail.mjs parses what it stored.
// Order emails are tested from C++ (tests/backend/order_mail_test.cpp), where
// the producer function the order flow calls is at hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get, post, waitFor, svc } from '../lib/client.mjs';
import { loginAdmin, uniqueEmail } from '../lib/auth_helpers.mjs';
import { mailsTo, addressOf } from '../lib/mail.mjs';

const VAR = process.env.BAZAAR_VAR_DIR;

async function register(username) {
  const email = uniqueEmail('mail');
  const res = await post('/api/v1/auth/register', { email, username, password: 'secret-password-1' });
  assert.equal(res.status, 201, res.text);
  return { email, id: res.json.data.user.id };
}

async function job(admin, id) {
  const res = await get(`/api/v1/admin/queues/email/jobs/${encodeURIComponent(id)}`, { token: admin.accessToken });
  return res.status === 200 ? res.json.data : null;
}

test('welcome: a multipart email reaches the SMTP sink, UTF-8 name intact, HTML escaped', async () => {
  const name = 'Zoë Ñandú <b>&amp;';
  const u = await register(name);
  let mail;
  await waitFor('welcome email in the sink', () => (mail = mailsTo(u.email, 'welcome')[0]), 20000);
  // Headers: the ones every client needs, non-ASCII only as encoded-words.
  assert.match(mail.header('date'), /^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000$/);
  assert.match(mail.header('message-id'), /^<welcome\.[^<>\s]+@bookbazar\.local>$/);
  assert.equal(mail.header('mime-version'), '1.0');
  assert.match(mail.header('content-type'), /^multipart\/alternative; boundary="[^"]+"$/);
  assert.equal(mail.header('x-bazaar-job'), `welcome:${u.id}`);
  assert.equal(mail.header('subject'), `Welcome to Book Bazar, ${name}`);
  assert.match(mail.raw, /\r\nSubject: =\?UTF-8\?B\?/);
  assert.equal(addressOf(mail.header('to')), u.email);
  assert.equal(mail.header('to').replace(/\s*<[^>]+>$/, ''), name);
  for (const line of mail.raw.split('\r\n')) {
    assert.ok(line.length <= 998, 'RFC 5322 line limit');
    assert.ok(!line.includes('\n'), 'bare LF');
  }
  assert.ok(/^[\x00-\x7f]*$/.test(mail.raw), '7-bit on the wire');
  // Both parts, decoded.
  assert.equal(mail.parts.length, 2);
  assert.ok(mail.text.startsWith(`Hello ${name},\r\n`), mail.text);
  assert.ok(mail.html.includes('Hello Zoë Ñandú &lt;b&gt;&amp;amp;,'), mail.html);
  assert.ok(!mail.html.includes('<b>&amp;'), 'user text is escaped in HTML');
});

test('password reset: the emailed token (text and HTML part alike) resets the password', async () => {
  const u = await register('Résumé');
  assert.equal((await post('/api/v1/auth/password-reset/request', { email: u.email })).status, 202);
  let mail;
  await waitFor('reset email', () => (mail = mailsTo(u.email, 'password_reset')[0]), 20000);
  const token = mail.text.match(/\n {4}(\S+)\r\n/)[1];
  assert.ok(mail.html.includes(`reset-password?token=${token}"`), 'same token in the HTML link');
  const res = await post('/api/v1/auth/password-reset/confirm', { token, newPassword: 'a-new-password-9' });
  assert.equal(res.status, 204, res.text);
  assert.equal((await post('/api/v1/auth/login', { email: u.email, password: 'a-new-password-9' })).status, 200);
});

test('SMTP sink down: the job fails its attempt, is retried, and the mail arrives once the sink is back', async () => {
  const admin = await loginAdmin();
  svc('stop', 'smtp');
  let u;
  try {
    u = await register('Retry');
    await waitFor('a failed attempt', async () => {
      const j = await job(admin, `welcome:${u.id}`);
      return j && j.attemptsMade >= 1 && j.lastError && /SMTP/.test(j.lastError) && j.state !== 'completed';
    }, 20000);
    assert.equal(mailsTo(u.email, 'welcome').length, 0);
  } finally {
    svc('start', 'smtp');
  }
  await waitFor('the retried welcome email', () => mailsTo(u.email, 'welcome').length === 1, 30000);
  const j = await job(admin, `welcome:${u.id}`);
  assert.equal(j.state, 'completed');
  assert.ok(j.attemptsMade >= 2, `attempts ${j.attemptsMade}`);
});

test('SMTP sink frozen (SIGSTOP): the session times out, the worker stays free, the mail arrives after SIGCONT', async () => {
  const admin = await loginAdmin();
  const pid = Number(readFileSync(`${VAR}/run/smtp-sink.pid`, 'utf8').trim());
  process.kill(pid, 'SIGSTOP');
  let u;
  try {
    u = await register('Frozen');
    await waitFor('a timed-out attempt', async () => {
      const j = await job(admin, `welcome:${u.id}`);
      return j && j.lastError && /time/i.test(j.lastError);
    }, 30000);
    // The attempt ended (SMTP_TIMEOUT_MS): the job waits for its retry.
    const j = await job(admin, `welcome:${u.id}`);
    assert.notEqual(j.state, 'completed');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  await waitFor('the welcome email after SIGCONT', () => mailsTo(u.email, 'welcome').length >= 1, 40000);
  assert.equal(mailsTo(u.email, 'welcome').length, 1, 'sent once');
});
