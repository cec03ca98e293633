// The operators' page /admin/ (issue 11) in a real browser: Debian's
// chromium driven by playwright-core against the test stack. An admin signs
// in on the page, sees the queues, a real job fails (the worker's welcome
// email while the SMTP sink is stopped, attempts: 1, enqueued through the
// outbox like the app does), shows up under failed jobs with its SMTP error,
// is retried from the page once the sink is back, and completes in the live
// event stream; the mail reaches the sink. Also pause/resume from the page,
// 25-job pages of failures, escaping of hostile job names and errors, the
// 401 → refresh → login path, and the pipelines panel (every branch, and
// Run branch from the page).
// Screenshots: $BUILD_DIR/test-artifacts/admin-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { BASE, get, psql, redisCli, svc, waitFor } from '../lib/client.mjs';
import { loginAdmin, uniqueEmail } from '../lib/auth_helpers.mjs';
import { mailsTo } from '../lib/mail.mjs';
import { runLua } from '../lib/lua.mjs';

const ARTIFACTS = path.join(process.env.BUILD_DIR || 'build', 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ADMIN = { email: 'admin@example.com', password: process.env.SEED_ADMIN_PASSWORD || 'admin-password-1' };
const LONG = { timeout: 30000 };

let browser;
let admin;
const pageErrors = [];

before(async () => {
  admin = await loginAdmin();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
});
after(async () => { await browser?.close(); });

async function newPage(viewport = { width: 1400, height: 1000 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) pageErrors.push(m.text()); });
  return { context, page };
}

async function signIn(page, who = ADMIN) {
  await page.goto(`${BASE}/admin/`);
  await page.waitForSelector('#login-form', { state: 'visible', ...LONG });
  await page.fill('#login-email', who.email);
  await page.fill('#login-password', who.password);
  await page.click('#login-submit');
}

async function shot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0)); // the sticky header stays on top
  await page.screenshot({ path: path.join(ARTIFACTS, `admin-${name}.png`), fullPage: true });
}

// Failed jobs with hostile names and errors, made without a worker.
function queueWithFailures(Q, n, nameOf, errorOf) {
  const K = (k) => `{q:${Q}}:${k}`;
  redisCli('SADD', 'bazaar:queues', Q);
  const ids = [];
  for (let i = 0; i < n; i++) {
    runLua('queue_add', [K('seq'), K('wait'), K('delayed'), K('marker'), K('waitdeps'), K('failed'), K('dlq'), K('repeat')],
      [`{q:${Q}}:`, '', 0, 1, '', nameOf(i), '{"n":1}', 0, 0, 1, 'fixed', 0, '-1,-1', '-1,-1', 0, '']);
    const [id, token] = runLua('queue_take', [K('wait'), K('active'), K('delayed'), K('marker'), K('meta'), K('limiter')], [`{q:${Q}}:`, 1, 30000, 'e2e', 0, 0]);
    runLua('queue_finish', [K('active'), K('wait'), K('delayed'), K('completed'), K('failed'), K('dlq'), K('marker'), K('waitdeps'), K('rate')],
      [`{q:${Q}}:`, 1, id, token, 'u', errorOf(i)]);
    ids.push(id);
  }
  return ids;
}

// A job for the worker, enqueued the way the app does it: an outbox row the
// relay moves into the queue.
function enqueueThroughOutbox(queue, job) {
  const json = JSON.stringify(job).replace(/'/g, "''");
  psql(`INSERT INTO outbox (topic, payload) VALUES ('job:${queue}', '${json}'::jsonb)`);
}

async function apiJob(queue, id) {
  const res = await get(`/api/v1/admin/queues/${queue}/jobs/${encodeURIComponent(id)}`, { token: admin.accessToken });
  return res.status === 200 ? res.json.data : null;
}

test('sign in, a job fails, retry it from the page, it completes in the live stream', async () => {
  const { context, page } = await newPage();
  try {
    await signIn(page);
    await page.waitForSelector('#queues tbody tr[data-queue]', LONG);
    await page.waitForFunction(() => document.documentElement.dataset.ready === '1', null, LONG);
    // The queues shown are the API's queues.
    const apiQueues = (await get('/api/v1/admin/queues', { token: admin.accessToken })).json.data.map((q) => q.name).sort();
    await page.waitForFunction((n) => document.querySelectorAll('#queues tbody tr[data-queue]').length >= n, apiQueues.length, LONG);
    const shown = await page.$$eval('#queues tbody tr[data-queue]', (rows) => rows.map((r) => r.dataset.queue));
    for (const q of apiQueues) assert.ok(shown.includes(q), `queue ${q} not shown (${shown})`);
    assert.equal(await page.textContent('#who-email'), ADMIN.email);
    await shot(page, 'dashboard');

    const jobId = `e2e-admin-${process.pid}-${Date.now()}`;
    const to = uniqueEmail('admin-e2e');
    svc('stop', 'smtp');
    try {
      enqueueThroughOutbox('email', { name: 'welcome', data: { to, username: 'Operator test', userId: jobId },
        options: { jobId, attempts: 1 } });
      await waitFor('the welcome job to fail', async () => (await apiJob('email', jobId))?.state === 'failed', 30000);
      await page.selectOption('#failed-queue', 'email');
      const item = `#failed-list li[data-job-id="${jobId}"]`;
      await page.waitForSelector(item, LONG);
      const error = await page.textContent(`${item} .job-error`);
      assert.equal(error, (await apiJob('email', jobId)).lastError);
      assert.match(error, /SMTP|connect/i);
      // The failure is in the live stream too, with its error.
      await page.waitForSelector(`#events-list li[data-job-id="${jobId}"][data-state="failed"]`, LONG);
      await shot(page, 'failed-job');
    } finally {
      svc('start', 'smtp');
    }
    await page.click(`#failed-list li[data-job-id="${jobId}"] button[data-action="retry"]`);
    await page.waitForSelector(`#events-list li[data-job-id="${jobId}"][data-state="completed"]`, LONG);
    assert.equal((await apiJob('email', jobId)).state, 'completed');
    await waitFor('the retried welcome mail', () => mailsTo(to, 'welcome').length === 1, 30000);
    // Once the count moves, the failed list reloads without the job.
    await page.waitForSelector(`#failed-list li[data-job-id="${jobId}"]`, { state: 'detached', ...LONG });
    await shot(page, 'retried');
  } finally {
    await context.close();
  }
});

test('pause and resume a queue from the page', async () => {
  const Q = `e2e-pause-${process.pid}`;
  enqueueThroughOutbox(Q, { name: 'noop', data: {} }); // no worker serves it: it waits
  await waitFor('the queue to exist', async () => (await get('/api/v1/admin/queues', { token: admin.accessToken })).json.data.some((q) => q.name === Q));
  const paused = async () => (await get('/api/v1/admin/queues', { token: admin.accessToken })).json.data.find((q) => q.name === Q).paused;
  const { context, page } = await newPage();
  try {
    await signIn(page);
    const row = `#queues tbody tr[data-queue="${Q}"]`;
    await page.waitForSelector(`${row} button[data-action="pause"]`, LONG);
    await page.click(`${row} button[data-action="pause"]`);
    await page.waitForSelector(`${row}.paused button[data-action="resume"]`, LONG);
    assert.equal(await paused(), true);
    await page.waitForSelector(`#events-list li[data-queue="${Q}"][data-state="paused"]`, LONG);
    await shot(page, 'paused');
    await page.click(`${row} button[data-action="resume"]`);
    await page.waitForSelector(`${row}:not(.paused) button[data-action="pause"]`, LONG);
    assert.equal(await paused(), false);
  } finally {
    await context.close();
  }
});

test('hostile job names and errors are shown as text; failures come 25 to a page', async () => {
  const Q = `e2e-xss-${process.pid}`;
  const evil = '<img src=x onerror="window.__pwned=1">';
  const ids = queueWithFailures(Q, 30, (i) => `${evil}#${i}`, (i) => `boom ${i} <script>window.__pwned=2</script> ünïcødé`);
  const { context, page } = await newPage();
  try {
    await signIn(page);
    await page.waitForSelector(`#failed-queue option[value="${Q}"]`, { state: 'attached', ...LONG });
    await page.selectOption('#failed-queue', Q);
    await page.waitForFunction((n) => document.querySelectorAll('#failed-list > li').length === n, 25, LONG);
    await page.click('#failed-more');
    await page.waitForFunction((n) => document.querySelectorAll('#failed-list > li').length === n, 30, LONG);
    assert.equal(await page.isVisible('#failed-more'), false);
    const listed = await page.$$eval('#failed-list > li', (li) => li.map((l) => l.dataset.jobId));
    assert.deepEqual([...listed].sort(), [...ids].sort());
    assert.equal(await page.$$eval('#failed-list img, #failed-list script', (n) => n.length), 0);
    const newest = ids[ids.length - 1];
    assert.equal(await page.textContent(`#failed-list li[data-job-id="${newest}"] .job-title > span`), `${evil}#29`);
    assert.equal(await page.textContent(`#failed-list li[data-job-id="${newest}"] .job-error`),
      'boom 29 <script>window.__pwned=2</script> ünïcødé');
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
  } finally {
    await context.close();
  }
});

test('401: an expired access token is refreshed; a dead refresh token goes back to the login form', async () => {
  const { context, page } = await newPage();
  try {
    await signIn(page);
    await page.waitForSelector('#queues tbody tr[data-queue]', LONG);
    await page.evaluate(() => {
      const s = JSON.parse(sessionStorage.getItem('bazaar.admin.session'));
      s.accessToken = 'not-a-jwt';
      sessionStorage.setItem('bazaar.admin.session', JSON.stringify(s));
    });
    await page.reload();
    await page.waitForSelector('#queues tbody tr[data-queue]', LONG);
    assert.notEqual(await page.evaluate(() => JSON.parse(sessionStorage.getItem('bazaar.admin.session')).accessToken), 'not-a-jwt');
    assert.equal(await page.isVisible('#login-view'), false);

    await page.evaluate(() => sessionStorage.setItem('bazaar.admin.session',
      JSON.stringify({ accessToken: 'not-a-jwt', refreshToken: 'not-a-refresh-token', user: { email: 'x' } })));
    await page.reload();
    await page.waitForSelector('#login-view', { state: 'visible', ...LONG });
    assert.match(await page.textContent('#login-error'), /sign in again/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('bazaar.admin.session')), null);
  } finally {
    await context.close();
  }
});

test('a wrong password and a non-admin account stay on the login form', async () => {
  const { context, page } = await newPage();
  try {
    await signIn(page, { email: ADMIN.email, password: 'wrong-password-1' });
    await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0, null, LONG);
    assert.equal(await page.isVisible('#dashboard'), false);
    await signIn(page, { email: 'user1@example.com', password: process.env.SEED_USER_PASSWORD || 'user-password-1' });
    await page.waitForFunction(() => /not an operator/.test(document.getElementById('login-error').textContent), null, LONG);
    assert.equal(await page.isVisible('#dashboard'), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('bazaar.admin.session')), null);
  } finally {
    await context.close();
  }
});

test('pipelines: every branch with its jobs; Run branch from the page runs it through the queue', async () => {
  const res = await get('/api/v1/admin/pipelines', { token: admin.accessToken });
  assert.equal(res.status, 200, res.text);
  const branches = res.json.data.map((b) => b.branch);
  for (const b of ['data', 'cache', 'image', 'ai', 'cleanup']) assert.ok(branches.includes(b), b);
  const cleanupJobs = res.json.data.find((b) => b.branch === 'cleanup').jobs.map((j) => j.id);
  const { context, page } = await newPage({ width: 390, height: 844 }); // a phone
  try {
    await signIn(page);
    for (const b of branches) await page.waitForSelector(`.branch[data-branch="${b}"]`, LONG);
    assert.equal(await page.isVisible('#pipelines-unavailable'), false);
    await page.waitForSelector('#queues tbody tr[data-queue]', LONG);
    // Nothing overflows the phone's width.
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
    await shot(page, 'phone');

    const before = Date.now();
    await page.click('.branch[data-branch="cleanup"] button[data-action="run-branch"]');
    // Every cleanup job has run since the click (the page's button, the
    // public API, the queue and the worker, end to end).
    await waitFor('the cleanup branch ran', async () => {
      await new Promise((r) => setTimeout(r, 500)); // admin routes are rate limited per user
      const now = await get('/api/v1/admin/pipelines', { token: admin.accessToken });
      const jobs = now.json?.data?.find((b) => b.branch === 'cleanup')?.jobs ?? [];
      return cleanupJobs.every((id) => {
        const run = jobs.find((j) => j.id === id)?.lastRun;
        return run && run.status === 'completed' && Date.parse(run.startedAt) >= before - 1000;
      });
    }, 60000);
  } finally {
    await context.close();
  }
});

test('the page ran without script errors or CSP violations', async () => {
  assert.deepEqual(pageErrors, []);
  const res = await fetch(`${BASE}/admin/`);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
});
